package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// githubOIDCHost is GitHub Actions' OpenID Connect issuer.
const githubOIDCHost = "token.actions.githubusercontent.com"

// cdkBootstrapRoles are the roles `cdk bootstrap` creates that a deploy
// uses: the deploy role (CloudFormation through its execution role), the
// asset publishing roles and the lookup role (cdk diff).
var cdkBootstrapRoles = []string{"deploy-role", "file-publishing-role", "image-publishing-role", "lookup-role"}

// DeployStack holds the role the GitHub Actions workflow deploys the stage
// with: short-lived credentials from GitHub's OIDC provider, for workflow
// runs of the repository in the stage's GitHub environment (and, for dev,
// pull requests, which run cdk diff), allowed nothing but to assume the CDK
// bootstrap roles of this account and region.
type DeployStack struct {
	awscdk.Stack
	Role awsiam.Role
}

// NewDeployStack builds the stage's deploy role (and GitHub's OIDC provider
// unless the account has it already: githubOidcProviderExists).
func NewDeployStack(scope constructs.Construct, s Settings) *DeployStack {
	st := awscdk.NewStack(scope, jsii.String("Wallets-"+s.Stage+"-Deploy"), &awscdk.StackProps{
		Description:           jsii.String("Wallets " + s.Stage + ": the role GitHub Actions deploys with (OIDC, assumes the CDK bootstrap roles only)"),
		TerminationProtection: jsii.Bool(s.Protect),
	})
	providerArn := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/"+githubOIDCHost), nil)
	if !s.GithubOIDCProviderExists {
		p := awsiam.NewCfnOIDCProvider(st, jsii.String("GithubOidc"), &awsiam.CfnOIDCProviderProps{
			Url:          jsii.String("https://" + githubOIDCHost),
			ClientIdList: jsii.Strings("sts.amazonaws.com"),
		})
		providerArn = p.AttrArn()
	}
	subjects := []string{fmt.Sprintf("repo:%s:environment:%s", s.GithubRepo, s.Stage)}
	if s.Stage == "dev" {
		subjects = append(subjects, fmt.Sprintf("repo:%s:pull_request", s.GithubRepo))
	}
	role := awsiam.NewRole(st, jsii.String("Role"), &awsiam.RoleProps{
		RoleName:    jsii.String(s.name("github-deploy")),
		Description: jsii.String("GitHub Actions (" + s.GithubRepo + ") deploys Wallets " + s.Stage + " through the CDK bootstrap roles"),
		AssumedBy: awsiam.NewFederatedPrincipal(providerArn, &map[string]any{
			"StringEquals": map[string]any{githubOIDCHost + ":aud": "sts.amazonaws.com"},
			"StringLike":   map[string]any{githubOIDCHost + ":sub": subjects},
		}, jsii.String("sts:AssumeRoleWithWebIdentity")),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	var arns []*string
	for _, r := range cdkBootstrapRoles {
		arns = append(arns, awscdk.Fn_Sub(jsii.String(fmt.Sprintf("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-%s-%s-${AWS::AccountId}-${AWS::Region}",
			s.CdkQualifier, r)), nil))
	}
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("AssumeCdkBootstrapRoles"),
		Actions:   jsii.Strings("sts:AssumeRole", "sts:TagSession"),
		Resources: &arns,
	}))
	awscdk.NewCfnOutput(st, jsii.String("DeployRoleArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("Set as the AWS_DEPLOY_ROLE_ARN variable of the GitHub environment " + s.Stage),
		Value:       role.RoleArn(),
	})
	return &DeployStack{Stack: st, Role: role}
}
