// Package network is the stage's VPC, its flow logs and the security
// groups that chain the functions to the proxy to the cluster.
package network

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/settings"
)

// PostgresPort is the port of the proxy and the cluster.
const PostgresPort = 5432

// Network is the VPC over two AZs: public subnets for the NAT gateways,
// private subnets with egress for the functions (they reach Sentry and AWS
// APIs through NAT), isolated subnets for the proxy and the cluster. Its
// security groups chain functions → proxy → cluster on 5432 and nothing else.
type Network struct {
	constructs.Construct
	Vpc awsec2.Vpc
	// Functions is the security group of every Lambda function: HTTPS out to
	// anywhere, PostgreSQL out to the proxy only, nothing in.
	Functions awsec2.SecurityGroup
	// Proxy admits PostgreSQL from Functions and reaches the cluster only
	// (that rule is added by the proxy's target binding).
	Proxy awsec2.SecurityGroup
	// Database admits PostgreSQL from Proxy (and the rotation function) only.
	Database awsec2.SecurityGroup
}

// AppSubnets are where the functions run.
func AppSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
}

// DataSubnets are where the proxy and the cluster live.
func DataSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
}

// New builds the VPC and the security groups.
func New(scope constructs.Construct, id string, s settings.Settings) *Network {
	c := constructs.NewConstruct(scope, jsii.String(id))
	vpc := newVpc(c, s)
	rejectedFlowLogs(c, s, vpc)
	n := &Network{Construct: c, Vpc: vpc}
	n.securityGroups(c)
	return n
}

// newVpc is the VPC over two AZs with public, app and data subnets.
func newVpc(c constructs.Construct, s settings.Settings) awsec2.Vpc {
	return awsec2.NewVpc(c, jsii.String("Vpc"), &awsec2.VpcProps{
		VpcName:     jsii.String(s.Name()),
		IpAddresses: awsec2.IpAddresses_Cidr(jsii.String("10.40.0.0/16")),
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(float64(s.NatGateways)),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24), MapPublicIpOnLaunch: jsii.Bool(false)},
			{Name: jsii.String("app"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(20)},
			{Name: jsii.String("data"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED, CidrMask: jsii.Number(24)},
		},
		// The default security group loses its rules (a custom resource):
		// nothing may fall back on it.
		RestrictDefaultSecurityGroup: jsii.Bool(true),
	})
}

// rejectedFlowLogs logs rejected flows only: enough to debug a security
// group, cheap to keep.
func rejectedFlowLogs(c constructs.Construct, s settings.Settings, vpc awsec2.Vpc) {
	flowLogs := awslogs.NewLogGroup(c, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention:     s.Retention(),
		RemovalPolicy: s.LogRemoval(),
	})
	flowLogRole := awsiam.NewRole(c, jsii.String("FlowLogRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("vpc-flow-logs.amazonaws.com"), nil),
		Description: jsii.String("VPC flow logs write rejected flows to their log group"),
	})
	vpc.AddFlowLog(jsii.String("RejectedFlows"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, flowLogRole),
		TrafficType: awsec2.FlowLogTrafficType_REJECT,
	})
}

// securityGroups creates Functions, Proxy and Database and the functions →
// proxy rule.
func (n *Network) securityGroups(c constructs.Construct) {
	vpc := n.Vpc
	n.Functions = awsec2.NewSecurityGroup(c, jsii.String("FunctionsSg"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("Wallets Lambda functions: HTTPS out (Sentry, AWS APIs via NAT), PostgreSQL to the RDS Proxy only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	n.Functions.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)),
		jsii.String("HTTPS to Sentry and AWS APIs through NAT"), nil)
	n.Proxy = awsec2.NewSecurityGroup(c, jsii.String("ProxySg"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("Wallets RDS Proxy: PostgreSQL from the functions, to the Aurora cluster only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	n.Database = awsec2.NewSecurityGroup(c, jsii.String("DatabaseSg"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("Wallets Aurora cluster: PostgreSQL from the RDS Proxy and the rotation function only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	n.Functions.Connections().AllowTo(n.Proxy, awsec2.Port_Tcp(jsii.Number(PostgresPort)), jsii.String("Functions to the RDS Proxy"))
	// The proxy → cluster rule (egress here, ingress on Database) comes
	// with the proxy's target binding (data.NewDatabase); declaring it here too
	// would make CloudFormation create a duplicate rule and fail.
}
