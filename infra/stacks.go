package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssynthetics"
	"github.com/aws/aws-cdk-go/awscdk/v2/triggers"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/aws/jsii-runtime-go/runtime"
)

// DataStack holds the state: the network, the database behind its proxy,
// and the application's secrets. It changes rarely; the ApiStack deploys
// after it.
type DataStack struct {
	awscdk.Stack
	Network  *Network
	Database *Database
	Secrets  *Secrets
}

// ApiStack holds what serves requests: the functions, the migrations
// trigger, the REST API and the monitoring.
type ApiStack struct {
	awscdk.Stack
	Functions  *Functions
	Migrations triggers.Trigger
	Api        *Api
	Monitoring *Monitoring
	WebACL     *WebACL
	Canary     awssynthetics.Canary
	Deploys    *Deployments
}

// MonitoringStack holds the alarm topic, every alarm and the dashboard.
type MonitoringStack struct {
	awscdk.Stack
	Monitoring *Monitoring
}

// Wallets is the whole deployment of one stage.
type Wallets struct {
	Settings   Settings
	Data       *DataStack
	Monitoring *MonitoringStack
	Api        *ApiStack
	Deploy     *DeployStack // nil without githubRepo
}

// NewWallets builds the stacks of the stage in s: Data, Monitoring, Api
// (and Deploy with githubRepo). Stacks are
// environment-agnostic: the account and region come from the credentials at
// deploy time, so synth needs neither credentials nor network.
func NewWallets(scope constructs.Construct, s Settings) (*Wallets, error) {
	awscdk.Tags_Of(scope).Add(jsii.String("project"), jsii.String("wallets"), nil)
	awscdk.Tags_Of(scope).Add(jsii.String("stage"), jsii.String(s.Stage), nil)

	data := &DataStack{Stack: awscdk.NewStack(scope, jsii.String("Wallets-"+s.Stage+"-Data"), &awscdk.StackProps{
		Description:           jsii.String("Wallets " + s.Stage + ": network, Aurora PostgreSQL behind RDS Proxy, secrets"),
		TerminationProtection: jsii.Bool(s.Protect),
		Synthesizer:           s.synthesizer(),
	})}
	data.Network = NewNetwork(data.Stack, "Network", s)
	data.Database = NewDatabase(data.Stack, "Database", s, data.Network)
	secrets, err := NewSecrets(data.Stack, "Secrets", s)
	if err != nil {
		return nil, err
	}
	data.Secrets = secrets
	retainInternalFunctionLogs(data.Stack, s)

	apiStack := &ApiStack{Stack: awscdk.NewStack(scope, jsii.String("Wallets-"+s.Stage+"-Api"), &awscdk.StackProps{
		Description:           jsii.String("Wallets " + s.Stage + ": Lambda functions and their deployments, REST API, WAF, canary, migrations on deploy"),
		TerminationProtection: jsii.Bool(s.Protect),
		Synthesizer:           s.synthesizer(),
	})}
	apiStack.AddStackDependency(data.Stack, jsii.String("functions connect to the database and read the secrets"))
	fns, err := NewFunctions(apiStack.Stack, "Functions", s, FunctionDeps{Network: data.Network, Database: data.Database, Secrets: data.Secrets})
	if err != nil {
		return nil, err
	}
	if err := CapacityRule(s, fns); err != nil {
		return nil, err
	}
	apiStack.Functions = fns
	apiStack.Migrations = newMigrations(apiStack, fns)
	apiStack.Api = NewApi(apiStack.Stack, "Api", s, fns)
	// The new API takes traffic only after the migrations: the stage (and
	// with it every method) waits for the trigger, as do the functions.
	apiStack.Api.RestApi.DeploymentStage().Node().AddDependency(apiStack.Migrations)
	apiStack.WebACL = NewWebACL(apiStack.Stack, "Waf", s, apiStack.Api.RestApi)
	apiStack.Canary = NewCanary(apiStack.Stack, "Synthetics", s, apiStack.Api.RestApi)

	// The alarms, the topic and the dashboard: a stack of their own (the Api
	// stack keeps CloudFormation's 500 resources for routes). It names what
	// it watches literally and deploys before the Api stack, whose
	// deployment groups roll back on its alarms.
	monStack := &MonitoringStack{Stack: awscdk.NewStack(scope, jsii.String("Wallets-"+s.Stage+"-Monitoring"), &awscdk.StackProps{
		Description:           jsii.String("Wallets " + s.Stage + ": alarms, the alarm topic, the dashboard"),
		TerminationProtection: jsii.Bool(s.Protect),
		Synthesizer:           s.synthesizer(),
	})}
	monStack.AddStackDependency(data.Stack, jsii.String("watches the database"))
	monStack.Monitoring = NewMonitoring(monStack.Stack, "Monitoring", s, MonitoringDeps{Functions: fns, Database: data.Database})
	apiStack.Monitoring = monStack.Monitoring
	apiStack.AddStackDependency(monStack.Stack, jsii.String("deployments roll back on the alarms"))
	apiStack.Deploys = NewDeployments(apiStack.Stack, "Deployments", s, fns, apiStack.Monitoring)
	retainInternalFunctionLogs(apiStack.Stack, s)

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

	w := &Wallets{Settings: s, Data: data, Monitoring: monStack, Api: apiStack}
	if s.GithubRepo != "" {
		w.Deploy = NewDeployStack(scope, s)
	}
	applyNag(w)
	return w, nil
}

// newMigrations runs the migrate function on deploy: after the database and
// its user exist (the Data stack), before the functions and the API stage
// change. The trigger is bound to the function's current version, whose
// hash includes the bootstrap asset's: every build with a change (new
// migrations, a new release) runs it again, and a failed migration fails the
// deploy and rolls it back.
func newMigrations(stack *ApiStack, fns *Functions) triggers.Trigger {
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

// The jsii proxy of a construct created on the JavaScript side (a
// FindAll result, a DefaultChild) may be a bare IConstruct that a Go type
// assertion cannot turn into a CfnResource; these call its CfnResource
// members through the jsii runtime instead.

func cfnType(c constructs.IConstruct) string {
	var typ *string
	runtime.Get(c, "cfnResourceType", &typ)
	if typ == nil {
		return ""
	}
	return *typ
}

func cfnOverride(c constructs.IConstruct, path string, value any) {
	runtime.InvokeVoid(c, "addPropertyOverride", []any{jsii.String(path), value})
}

func cfnDeleteProperty(c constructs.IConstruct, path string) {
	runtime.InvokeVoid(c, "addPropertyDeletionOverride", []any{jsii.String(path)})
}

// retainInternalFunctionLogs gives the functions that CDK creates for its
// own custom resources (raw AWS::Lambda::Function resources that take no
// log group option) a log group with the stage's retention, so that no log
// group of the deployment keeps logs forever.
func retainInternalFunctionLogs(stack awscdk.Stack, s Settings) {
	for _, c := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if !*awscdk.CfnResource_IsCfnResource(c) || cfnType(c) != "AWS::Lambda::Function" {
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
		cfnOverride(c, "LoggingConfig", map[string]any{"LogGroup": logs.LogGroupName()})
		c.Node().AddDependency(logs)
	}
}
