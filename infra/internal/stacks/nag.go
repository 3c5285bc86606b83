package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The cdk-nag AWS Solutions findings this deployment accepts, each with its
// reason. Everything else fails the synth.
const (
	policyLambdaBasic      = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	policyLambdaVPC        = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
	policyCodeDeployLambda = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited"
	policyApiGwLogs        = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"

	reasonLambdaManaged = "AWS managed Lambda execution policies: CloudWatch Logs writes, and the ENI actions a function in a VPC needs " +
		"(ec2:CreateNetworkInterface and friends support no resource-level scoping). They grant nothing else; the function's own " +
		"permissions (the database user it may connect as, the secrets it holds) are inline and scoped."
	reasonXRay          = "X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions; the grant exists only when tracing is on."
	reasonApiGwLogsRole = "The account-level role API Gateway writes access and execution logs with; AmazonAPIGatewayPushToCloudWatchLogs is the policy " +
		"AWS documents for it."
	reasonCognito = "Authentication is the API contract's JWT (Authorization header or jwt cookie), verified by the Lambda REQUEST authorizer, which " +
		"also checks the per-user token version that logout and password changes bump; there is no Cognito user pool to authorize against."
	reasonPublicRoute = "Public by the API contract (sign-up, login, health, the OpenAPI document): callers have no token yet, or the route must " +
		"answer without one."
	reasonMethodNotAllowed = "MOCK integration that only answers 405 Method Not Allowed for a method the path does not serve; it reaches no " +
		"backend and returns no data."
	reasonValidation = "Every route is a Lambda proxy integration whose handler validates the body and parameters and answers in the contract's " +
		"400 shape; a gateway validator would answer in API Gateway's shape and duplicate the route table's rules."
	reasonCodeDeployRole = "The role CodeDeploy shifts the function aliases with; AWSCodeDeployRoleForLambdaLimited is the policy AWS documents " +
		"for Lambda deployments (update aliases, read the deployment's alarms, invoke hooks named CodeDeployHook_*)."
	reasonCanaryRole = "The role CDK generates for the Synthetics canary: CloudWatch PutMetricData (namespace-conditioned) and the log " +
		"actions support no resource narrower than *, and the canary writes its artifacts under its bucket's prefix."
	reasonCanaryBucketLogs = "Holds only the canary's screenshots and run reports (no customer data), expiring after at most 30 days; server " +
		"access logs of it would need a second bucket to log the same synthetic traffic."
	reasonRotateKeyRandom = "secretsmanager:GetRandomPassword, which the keys' rotation function generates a new key with, supports no " +
		"resource-level permissions; its other rotation actions are scoped to the two key secrets."
	reasonSentryRotation   = "Holds a DSN issued by Sentry, not a credential Secrets Manager can regenerate; it is rotated in Sentry and put here."
	reasonDataAPISingleton = "The provider function of the AwsCustomResource that creates the IAM database user through the RDS Data API: " +
		"AWSLambdaBasicExecutionRole only lets it write its logs; its Data API and secret permissions are inline and scoped to the cluster " +
		"and its master secret."
	reasonUnprotectedStage = "A disposable stage (protect=false, the default for dev only): cdk destroy must be able to remove the cluster. " +
		"Every other stage gets deletion protection and a snapshot on delete."
	// awsCustomResourceID is the fixed id of AwsCustomResource's singleton
	// provider function.
	awsCustomResourceID = "AWS679f53fac002430cb0da5b7982bd2287"
)

func suppression(id, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		a := make([]any, len(appliesTo))
		for i, v := range appliesTo {
			a[i] = v
		}
		s.AppliesTo = &a
	}
	return s
}

func suppress(construct any, applyToChildren bool, s ...*cdknag.NagPackSuppression) {
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &s, jsii.Bool(applyToChildren))
}

// applyNag runs cdk-nag's AWS Solutions rules over both stacks and records
// the accepted findings.
func applyNag(w *Wallets) {
	// Data stack.
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(w.Data.Stack,
		jsii.String("/"+*w.Data.Stack.StackName()+"/"+awsCustomResourceID+"/ServiceRole/Resource"),
		&[]*cdknag.NagPackSuppression{suppression("AwsSolutions-IAM4", reasonDataAPISingleton, policyLambdaBasic)}, nil)
	suppress(w.Data.Secrets.RotateKey.Role(), true,
		suppression("AwsSolutions-IAM4", reasonLambdaManaged, policyLambdaBasic),
		suppression("AwsSolutions-IAM5", reasonRotateKeyRandom, "Resource::*"))
	if !w.Settings.Protect {
		suppress(w.Data.Database.Cluster, false, suppression("AwsSolutions-RDS10", reasonUnprotectedStage))
	}
	if !w.Data.Secrets.SentryImported {
		suppress(w.Data.Secrets.SentryDSN, false, suppression("AwsSolutions-SMG4", reasonSentryRotation))
	}

	// Api stack: functions.
	for _, f := range w.Api.Functions.All() {
		s := []*cdknag.NagPackSuppression{suppression("AwsSolutions-IAM4", reasonLambdaManaged, policyLambdaBasic, policyLambdaVPC)}
		if w.Settings.Tracing {
			s = append(s, suppression("AwsSolutions-IAM5", reasonXRay, "Resource::*"))
		}
		suppress(f.Fn.Role(), true, s...)
	}
	// Api stack: the REST API.
	api := w.Api.Api
	suppress(api.RestApi, true,
		suppression("AwsSolutions-COG4", reasonCognito),
		suppression("AwsSolutions-APIG2", reasonValidation))
	suppress(w.Api.Deploys.Role, true, suppression("AwsSolutions-IAM4", reasonCodeDeployRole, policyCodeDeployLambda))
	suppress(w.Api.Canary, true,
		suppression("AwsSolutions-IAM5", reasonCanaryRole))
	suppress(w.Api.Canary.ArtifactsBucket(), true, suppression("AwsSolutions-S1", reasonCanaryBucketLogs))
	if role := api.RestApi.Node().TryFindChild(jsii.String("CloudWatchRole")); role != nil {
		suppress(role, true, suppression("AwsSolutions-IAM4", reasonApiGwLogsRole, policyApiGwLogs))
	}
	for _, m := range api.PublicMethods {
		suppress(m, false, suppression("AwsSolutions-APIG4", reasonPublicRoute))
	}
	for _, m := range api.NotAllowedMethods {
		suppress(m, false, suppression("AwsSolutions-APIG4", reasonMethodNotAllowed))
	}

	stacks := []awscdk.Stack{w.Data.Stack, w.Monitoring.Stack, w.Api.Stack}
	if w.Deploy != nil {
		stacks = append(stacks, w.Deploy.Stack)
	}
	for _, st := range stacks {
		awscdk.Aspects_Of(st).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
}
