// Package pipeline is the Deploy stack: the roles GitHub Actions deploys
// (and diffs pull requests) with, through GitHub's OIDC provider.
package pipeline

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/settings"
)

// githubOIDCHost is GitHub Actions' OpenID Connect issuer.
const githubOIDCHost = "token.actions.githubusercontent.com"

// CdkBootstrapRoles are the roles `cdk bootstrap` creates that a deploy
// uses: the deploy role (CloudFormation through its execution role), the
// asset publishing roles and the lookup role (lookups, cdk diff).
var CdkBootstrapRoles = []string{"deploy-role", "file-publishing-role", "image-publishing-role", "lookup-role"}

// cdkLookupRole is the bootstrap role `cdk diff --method=template` reads
// the deployed templates with (it has ReadOnlyAccess, minus kms:Decrypt).
const cdkLookupRole = "lookup-role"

// pullRequestStage is the stage whose Deploy stack holds the pull-request
// role (cdk diff on a pull request compares with this stage).
const pullRequestStage = "dev"

// DeployStack holds the roles GitHub Actions runs with: short-lived
// credentials from GitHub's OIDC provider, no long-lived keys.
//
//   - Role, the stage's deploy role, trusts only workflow jobs of the
//     repository that run in the stage's GitHub environment
//     (repo:<owner>/<name>:environment:<stage>) and may do nothing but
//     assume the CDK bootstrap roles of the stage's own qualifier
//     (cdk-<qualifier>-deploy-role-…, the publishing roles, the lookup role).
//   - PullRequestRole (dev only) trusts the repository's pull_request jobs
//     (repo:<owner>/<name>:pull_request) and may only assume dev's CDK
//     lookup role: a pull request can diff, never deploy or publish.
type DeployStack struct {
	awscdk.Stack
	Role            awsiam.Role
	PullRequestRole awsiam.Role // nil but on dev
}

// cdkRoleArn is the ARN of the bootstrap role r of the qualifier q in the
// stack's account and region.
func cdkRoleArn(q, r string) *string {
	return awscdk.Fn_Sub(jsii.String(fmt.Sprintf("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-%s-%s-${AWS::AccountId}-${AWS::Region}", q, r)), nil)
}

// githubPrincipal trusts GitHub's OIDC tokens for sts.amazonaws.com whose
// subject is exactly sub.
func githubPrincipal(providerArn *string, sub string) awsiam.IPrincipal {
	return awsiam.NewFederatedPrincipal(providerArn, &map[string]any{
		"StringEquals": map[string]any{
			githubOIDCHost + ":aud": "sts.amazonaws.com",
			githubOIDCHost + ":sub": sub,
		},
	}, jsii.String("sts:AssumeRoleWithWebIdentity"))
}

// NewDeployStack builds the stage's deploy role, dev's pull-request role,
// and GitHub's OIDC provider unless the account has it already
// (githubOidcProviderExists).
func NewDeployStack(scope constructs.Construct, s settings.Settings) *DeployStack {
	st := awscdk.NewStack(scope, jsii.String("Wallets-"+s.Stage+"-Deploy"), &awscdk.StackProps{
		Description:           jsii.String("Wallets " + s.Stage + ": the roles GitHub Actions deploys (and, on dev, diffs pull requests) with (OIDC, CDK bootstrap roles only)"),
		TerminationProtection: jsii.Bool(s.Protect),
		Synthesizer:           s.Synthesizer(),
	})
	providerArn := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/"+githubOIDCHost), nil)
	if !s.GithubOIDCProviderExists {
		p := awsiam.NewCfnOIDCProvider(st, jsii.String("GithubOidc"), &awsiam.CfnOIDCProviderProps{
			Url:          jsii.String("https://" + githubOIDCHost),
			ClientIdList: jsii.Strings("sts.amazonaws.com"),
		})
		providerArn = p.AttrArn()
	}
	role := awsiam.NewRole(st, jsii.String("Role"), &awsiam.RoleProps{
		RoleName:           jsii.String(s.Name("github-deploy")),
		Description:        jsii.String("GitHub Actions (" + s.GithubRepo + ", environment " + s.Stage + ") deploys Wallets " + s.Stage + " through the CDK bootstrap roles of qualifier " + s.CdkQualifier),
		AssumedBy:          githubPrincipal(providerArn, fmt.Sprintf("repo:%s:environment:%s", s.GithubRepo, s.Stage)),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	var arns []*string
	for _, r := range CdkBootstrapRoles {
		arns = append(arns, cdkRoleArn(s.CdkQualifier, r))
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
	d := &DeployStack{Stack: st, Role: role}
	if s.Stage == pullRequestStage {
		d.PullRequestRole = newPullRequestRole(st, s, providerArn)
	}
	return d
}

// newPullRequestRole is the role pull requests run cdk diff with: GitHub's
// pull_request jobs of the repository may assume it, and it may assume the
// stage's CDK lookup role only.
func newPullRequestRole(st awscdk.Stack, s settings.Settings, providerArn *string) awsiam.Role {
	pr := awsiam.NewRole(st, jsii.String("PullRequestRole"), &awsiam.RoleProps{
		RoleName:           jsii.String(s.Name("github-pr-diff")),
		Description:        jsii.String("GitHub Actions pull requests of " + s.GithubRepo + " run cdk diff against Wallets " + s.Stage + ": the CDK lookup role only"),
		AssumedBy:          githubPrincipal(providerArn, fmt.Sprintf("repo:%s:pull_request", s.GithubRepo)),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	pr.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("AssumeCdkLookupRole"),
		Actions:   jsii.Strings("sts:AssumeRole"),
		Resources: &[]*string{cdkRoleArn(s.CdkQualifier, cdkLookupRole)},
	}))
	awscdk.NewCfnOutput(st, jsii.String("PullRequestRoleArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("Set as the repository variable AWS_PR_ROLE_ARN (cdk diff on pull requests)"),
		Value:       pr.RoleArn(),
	})
	return pr
}
