// Package stacks assembles the deployment of one stage: the Data,
// Monitoring and Api stacks (and the Deploy stack with githubRepo), their
// dependencies and outputs, and cdk-nag's checks over them.
package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssynthetics"
	"github.com/aws/aws-cdk-go/awscdk/v2/triggers"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/api"
	"wallets/infra/internal/cfn"
	"wallets/infra/internal/data"
	"wallets/infra/internal/functions"
	"wallets/infra/internal/monitoring"
	"wallets/infra/internal/network"
	"wallets/infra/internal/pipeline"
	"wallets/infra/internal/settings"
)

// DataStack holds the state: the network, the database behind its proxy,
// the application's secrets, and the event bus and the webhook delivery
// queues. It changes rarely; the ApiStack deploys
// after it.
type DataStack struct {
	awscdk.Stack
	Network  *network.Network
	Database *data.Database
	Secrets  *data.Secrets
	Events   *data.Events
}

// ApiStack holds what serves requests: the functions (the events relay and
// the webhook delivery worker too, with their schedule and queue mapping),
// the migrations trigger, the REST API and the monitoring.
type ApiStack struct {
	awscdk.Stack
	Functions  *functions.Functions
	Migrations triggers.Trigger
	Api        *api.Api
	Monitoring *monitoring.Monitoring
	WebACL     *api.WebACL
	Canary     awssynthetics.Canary
	Deploys    *functions.Deployments
}

// MonitoringStack holds the alarm topic, every alarm and the dashboard.
type MonitoringStack struct {
	awscdk.Stack
	Monitoring *monitoring.Monitoring
}

// Wallets is the whole deployment of one stage.
type Wallets struct {
	Settings   settings.Settings
	Data       *DataStack
	Monitoring *MonitoringStack
	Api        *ApiStack
	Deploy     *pipeline.DeployStack // nil without githubRepo
}

// NewWallets builds the stacks of the stage in s: Data, Monitoring, Api
// (and Deploy with githubRepo). Stacks are
// environment-agnostic: the account and region come from the credentials at
// deploy time, so synth needs neither credentials nor network.
func NewWallets(scope constructs.Construct, s settings.Settings) (*Wallets, error) {
	awscdk.Tags_Of(scope).Add(jsii.String("project"), jsii.String("wallets"), nil)
	awscdk.Tags_Of(scope).Add(jsii.String("stage"), jsii.String(s.Stage), nil)
	dataStack, err := newDataStack(scope, s)
	if err != nil {
		return nil, err
	}
	apiStack, err := newApiStack(scope, s, dataStack)
	if err != nil {
		return nil, err
	}
	monStack := newMonitoringStack(scope, s, dataStack, apiStack.Functions)
	apiStack.Monitoring = monStack.Monitoring
	apiStack.AddStackDependency(monStack.Stack, jsii.String("deployments roll back on the alarms"))
	apiStack.Deploys = functions.NewDeployments(apiStack.Stack, "Deployments", s, apiStack.Functions, apiStack.Monitoring.RollbackAlarms())
	retainInternalFunctionLogs(apiStack.Stack, s)
	outputs(apiStack, monStack)

	w := &Wallets{Settings: s, Data: dataStack, Monitoring: monStack, Api: apiStack}
	if s.GithubRepo != "" {
		w.Deploy = pipeline.NewDeployStack(scope, s)
	}
	applyNag(w)
	return w, nil
}

// newStack is the stack Wallets-<stage>-<name> with the stage's
// synthesizer and termination protection.
func newStack(scope constructs.Construct, s settings.Settings, name, description string) awscdk.Stack {
	return awscdk.NewStack(scope, jsii.String("Wallets-"+s.Stage+"-"+name), &awscdk.StackProps{
		Description:           jsii.String("Wallets " + s.Stage + ": " + description),
		TerminationProtection: jsii.Bool(s.Protect),
		Synthesizer:           s.Synthesizer(),
	})
}

// newDataStack builds the network, the database and the secrets.
func newDataStack(scope constructs.Construct, s settings.Settings) (*DataStack, error) {
	d := &DataStack{Stack: newStack(scope, s, "Data", "network, Aurora PostgreSQL behind RDS Proxy, secrets, the event bus and the webhook delivery queues")}
	d.Network = network.New(d.Stack, "Network", s)
	d.Database = data.NewDatabase(d.Stack, "Database", s, d.Network)
	secrets, err := data.NewSecrets(d.Stack, "Secrets", s)
	if err != nil {
		return nil, err
	}
	d.Secrets = secrets
	d.Events = data.NewEvents(d.Stack, "Events", s)
	retainInternalFunctionLogs(d.Stack, s)
	return d, nil
}

// newApiStack builds the functions (checked against the capacity rule),
// the migrations trigger, the REST API with its WAF and the canary; the
// monitoring and the deployments come after the Monitoring stack.
func newApiStack(scope constructs.Construct, s settings.Settings, d *DataStack) (*ApiStack, error) {
	a := &ApiStack{Stack: newStack(scope, s, "Api", "Lambda functions and their deployments, REST API, WAF, canary, migrations on deploy")}
	a.AddStackDependency(d.Stack, jsii.String("functions connect to the database and read the secrets"))
	fns, err := functions.New(a.Stack, "Functions", s, functions.Deps{Network: d.Network, Database: d.Database, Secrets: d.Secrets, Events: d.Events})
	if err != nil {
		return nil, err
	}
	if err := functions.CapacityRule(s, fns); err != nil {
		return nil, err
	}
	a.Functions = fns
	a.Migrations = newMigrations(a, fns)
	a.Api = api.New(a.Stack, "Api", s, fns)
	// The new API takes traffic only after the migrations: the stage (and
	// with it every method) waits for the trigger, as do the functions.
	a.Api.RestApi.DeploymentStage().Node().AddDependency(a.Migrations)
	a.WebACL = api.NewWebACL(a.Stack, "Waf", s, a.Api.RestApi)
	a.Canary = api.NewCanary(a.Stack, "Synthetics", s, a.Api.RestApi)
	return a, nil
}

// newMonitoringStack builds the alarms, the topic and the dashboard: a
// stack of their own (the Api stack keeps CloudFormation's 500 resources
// for routes). It names what it watches literally and deploys before the
// Api stack, whose deployment groups roll back on its alarms.
func newMonitoringStack(scope constructs.Construct, s settings.Settings, d *DataStack, fns *functions.Functions) *MonitoringStack {
	m := &MonitoringStack{Stack: newStack(scope, s, "Monitoring", "alarms, the alarm topic, the dashboard")}
	m.AddStackDependency(d.Stack, jsii.String("watches the database"))
	m.Monitoring = monitoring.New(m.Stack, "Monitoring", s, monitoring.Deps{Functions: fns, Database: d.Database})
	return m
}

// outputs are the API's URL, the alarm topic and the dashboard's name.
func outputs(apiStack *ApiStack, monStack *MonitoringStack) {
	awscdk.NewCfnOutput(apiStack.Stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Base URL of the API; routes live under /api/v1"),
		Value:       apiStack.Api.RestApi.Url(),
	})
	awscdk.NewCfnOutput(monStack.Stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("SNS topic every alarm notifies; subscribe on-call here"),
		Value:       monStack.Monitoring.Topic.TopicArn(),
	})
	awscdk.NewCfnOutput(monStack.Stack, jsii.String("DashboardName"), &awscdk.CfnOutputProps{
		Value: monStack.Monitoring.Dashboard.DashboardName(),
	})
}

// newMigrations runs the migrate function on deploy: after the database and
// its user exist (the Data stack), before the functions and the API stage
// change. The trigger is bound to the function's current version, whose
// hash includes the bootstrap asset's: every build with a change (new
// migrations, a new release) runs it again, and a failed migration fails the
// deploy and rolls it back.
func newMigrations(stack *ApiStack, fns *functions.Functions) triggers.Trigger {
	t := triggers.NewTrigger(stack.Stack, jsii.String("Migrations"), &triggers.TriggerProps{
		Handler:                fns.Migrate.Fn,
		ExecuteOnHandlerChange: jsii.Bool(true),
		InvocationType:         triggers.InvocationType_REQUEST_RESPONSE,
		Timeout:                awscdk.Duration_Seconds(jsii.Number(float64(fns.Migrate.Timeout + 60))),
	})
	for _, f := range fns.All() {
		if f != fns.Migrate {
			f.Fn.Node().AddDependency(t)
		}
	}
	return t
}

// retainInternalFunctionLogs gives the functions that CDK creates for its
// own custom resources (raw AWS::Lambda::Function resources that take no
// log group option) a log group with the stage's retention, so that no log
// group of the deployment keeps logs forever.
func retainInternalFunctionLogs(stack awscdk.Stack, s settings.Settings) {
	for _, c := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if !*awscdk.CfnResource_IsCfnResource(c) || cfn.Type(c) != "AWS::Lambda::Function" {
			continue
		}
		// Only a CustomResourceProvider's handler: a raw CfnResource with
		// the id "Handler" under "<uniqueid>CustomResourceProvider". The
		// L2 functions (ours, AwsCustomResource's) take a log group.
		parent := c.Node().Scope()
		if *c.Node().Id() != "Handler" || parent == nil || !strings.HasSuffix(*parent.Node().Id(), "CustomResourceProvider") {
			continue
		}
		logs := awslogs.NewLogGroup(stack, jsii.String("Logs"+*awscdk.Names_UniqueId(c)), &awslogs.LogGroupProps{
			Retention:     s.Retention(),
			RemovalPolicy: s.LogRemoval(),
		})
		cfn.Override(c, "LoggingConfig", map[string]any{"LogGroup": logs.LogGroupName()})
		c.Node().AddDependency(logs)
	}
}
