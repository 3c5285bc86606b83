package functions

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodedeploy"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/settings"
)

// Deployments are the CodeDeploy application and one deployment group per
// function alias: a deploy publishes a new version of each changed function,
// and CodeDeploy shifts its alias from the old version to the new one
// (canary on protected stages), rolling back by itself when the function's
// errors alarm or the API's 5xx alarm goes off during the shift.
type Deployments struct {
	constructs.Construct
	Application awscodedeploy.LambdaApplication
	Groups      map[string]awscodedeploy.LambdaDeploymentGroup
	Role        awsiam.Role
}

// RollbackAlarms are the alarms a deployment rolls back on: the API's 5xx
// alarm, and each function's errors alarm by function name.
type RollbackAlarms struct {
	Api5xx         awscloudwatch.Alarm
	FunctionErrors map[string]awscloudwatch.Alarm
}

// NewDeployments builds the deployment groups of every aliased function.
func NewDeployments(scope constructs.Construct, id string, s settings.Settings, fns *Functions, mon RollbackAlarms) *Deployments {
	c := constructs.NewConstruct(scope, jsii.String(id))
	d := &Deployments{Construct: c, Groups: map[string]awscodedeploy.LambdaDeploymentGroup{}}
	d.Application = awscodedeploy.NewLambdaApplication(c, jsii.String("Application"), &awscodedeploy.LambdaApplicationProps{
		ApplicationName: jsii.String(s.Name()),
	})
	// One role for every group (CodeDeploy's managed policy for Lambda:
	// invoke hooks, update aliases, read the alarms).
	d.Role = awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("codedeploy.amazonaws.com"), nil),
		Description: jsii.String("CodeDeploy shifts the Wallets " + s.Stage + " function aliases"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSCodeDeployRoleForLambdaLimited")),
		},
	})
	config := settings.DeploymentConfigs[s.DeploymentConfig]()
	for _, f := range fns.All() {
		if f.Alias == nil {
			continue
		}
		alarms := []interfacesawscloudwatch.IAlarmRef{mon.Api5xx}
		if a, ok := mon.FunctionErrors[f.Name]; ok {
			alarms = append(alarms, a)
		}
		d.Groups[f.Name] = awscodedeploy.NewLambdaDeploymentGroup(c, jsii.String(ConstructID(f.Name)), &awscodedeploy.LambdaDeploymentGroupProps{
			Application:      d.Application,
			Alias:            f.Alias,
			DeploymentConfig: config,
			Alarms:           &alarms,
			Role:             d.Role,
			AutoRollback: &awscodedeploy.AutoRollbackConfig{
				FailedDeployment:  jsii.Bool(true),
				StoppedDeployment: jsii.Bool(true),
				DeploymentInAlarm: jsii.Bool(true),
			},
		})
	}
	return d
}
