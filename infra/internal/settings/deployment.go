package settings

import "github.com/aws/aws-cdk-go/awscdk/v2/awscodedeploy"

// DeploymentConfigs are the traffic shifts a stage may choose
// ("deploymentConfig").
var DeploymentConfigs = map[string]func() awscodedeploy.ILambdaDeploymentConfig{
	"AllAtOnce":                   awscodedeploy.LambdaDeploymentConfig_ALL_AT_ONCE,
	"Canary10Percent5Minutes":     awscodedeploy.LambdaDeploymentConfig_CANARY_10PERCENT_5MINUTES,
	"Canary10Percent10Minutes":    awscodedeploy.LambdaDeploymentConfig_CANARY_10PERCENT_10MINUTES,
	"Canary10Percent15Minutes":    awscodedeploy.LambdaDeploymentConfig_CANARY_10PERCENT_15MINUTES,
	"Linear10PercentEvery1Minute": awscodedeploy.LambdaDeploymentConfig_LINEAR_10PERCENT_EVERY_1MINUTE,
}
