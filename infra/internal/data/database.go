// Package data is the stage's state: the Aurora PostgreSQL cluster behind
// its RDS Proxy, the IAM database users, and the application's secrets with
// their rotation.
package data

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/aws/jsii-runtime-go/runtime"

	"wallets/infra/internal/cfn"
	"wallets/infra/internal/network"
	"wallets/infra/internal/settings"
	"wallets/migrations"
)

const (
	// DBName is the application's database.
	DBName = "wallets"
	// DBOwner owns the schema: the migrate function connects as it, and
	// the migrations, run as it, create DBAppUser.
	DBOwner = migrations.Owner
	// DBAppUser is the database user of the route functions and the
	// authorizer: the rows the API needs, not the schema (migration 00006).
	// Both authenticate with IAM, end to end: the functions to the proxy,
	// the proxy to the cluster.
	DBAppUser = migrations.RuntimeRole
	// dbAdmin is the master user; only the rotation function and the user
	// bootstrap below log in as it.
	dbAdmin = "wallets_admin"
	// ProxyMaxConnectionsPercent of max_connections is the proxy's pool.
	ProxyMaxConnectionsPercent = 90
)

// Database is the Aurora PostgreSQL Serverless v2 cluster (a writer and
// readers scaling with it) behind an RDS Proxy with a read-write and a
// read-only endpoint.
type Database struct {
	constructs.Construct
	Cluster awsrds.DatabaseCluster
	Proxy   awsrds.DatabaseProxy
	// ReadOnly is the proxy endpoint that spreads connections over the
	// readers; the listing functions read through it.
	ReadOnly awsrds.IDatabaseProxyEndpoint
	// ClusterIdentifier and ProxyName are the metric dimensions.
	ClusterIdentifier string
	ProxyName         string
	// UserReady completes once DBOwner exists with rds_iam and its grants;
	// the migrations run after it.
	UserReady constructs.IDependable
}

// NewDatabase builds the cluster, its master secret with rotation, the proxy,
// its read-only endpoint and the IAM database user.
func NewDatabase(scope constructs.Construct, id string, s settings.Settings, net *network.Network) *Database {
	c := constructs.NewConstruct(scope, jsii.String(id))
	clusterID := s.Name()
	cluster := newCluster(c, s, net, clusterID)
	rotateMasterSecret(c, s, cluster)
	proxyName := s.Name()
	proxy, readOnly := newProxy(c, s, net, cluster, proxyName)
	d := &Database{
		Construct:         c,
		Cluster:           cluster,
		Proxy:             proxy,
		ReadOnly:          readOnly,
		ClusterIdentifier: clusterID,
		ProxyName:         proxyName,
	}
	d.UserReady = newDatabaseUser(c, s, cluster)
	return d
}

// newCluster is the Aurora Serverless v2 cluster (a writer and
// s.DBReaders readers) with its log group, named clusterID.
func newCluster(c constructs.Construct, s settings.Settings, net *network.Network, clusterID string) awsrds.DatabaseCluster {
	// RDS creates this log group on the first export; creating it first
	// gives it a retention.
	pgLogs := awslogs.NewLogGroup(c, jsii.String("PostgresLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(fmt.Sprintf("/aws/rds/cluster/%s/postgresql", clusterID)),
		Retention:     s.Retention(),
		RemovalPolicy: s.LogRemoval(),
	})
	removal := awscdk.RemovalPolicy_DESTROY
	if s.Protect {
		removal = awscdk.RemovalPolicy_SNAPSHOT
	}
	cluster := awsrds.NewDatabaseCluster(c, jsii.String("Cluster"), &awsrds.DatabaseClusterProps{
		Engine: awsrds.DatabaseClusterEngine_AuroraPostgres(&awsrds.AuroraPostgresClusterEngineProps{
			Version: awsrds.AuroraPostgresEngineVersion_VER_16_9(),
		}),
		ClusterIdentifier:   jsii.String(clusterID),
		DefaultDatabaseName: jsii.String(DBName),
		Credentials: awsrds.Credentials_FromGeneratedSecret(jsii.String(dbAdmin), &awsrds.CredentialsBaseOptions{
			SecretName: jsii.String(fmt.Sprintf("wallets/%s/db-admin", s.Stage)),
		}),
		Writer: awsrds.ClusterInstance_ServerlessV2(jsii.String("Writer"), &awsrds.ServerlessV2ClusterInstanceProps{
			PubliclyAccessible:        jsii.Bool(false),
			EnablePerformanceInsights: jsii.Bool(true),
			AutoMinorVersionUpgrade:   jsii.Bool(true),
		}),
		Readers:                     readers(s.DBReaders),
		ServerlessV2MinCapacity:     jsii.Number(s.DBMinCapacity),
		ServerlessV2MaxCapacity:     jsii.Number(s.DBMaxCapacity),
		Vpc:                         net.Vpc,
		VpcSubnets:                  network.DataSubnets(),
		SecurityGroups:              &[]awsec2.ISecurityGroup{net.Database},
		Port:                        jsii.Number(network.PostgresPort),
		StorageEncrypted:            jsii.Bool(true),
		IamAuthentication:           jsii.Bool(true),
		EnablePerformanceInsights:   jsii.Bool(true),
		PerformanceInsightRetention: awsrds.PerformanceInsightRetention_DEFAULT,
		Backup: &awsrds.BackupProps{
			Retention:       awscdk.Duration_Days(jsii.Number(float64(s.BackupRetentionDays))),
			PreferredWindow: jsii.String("02:00-03:00"),
		},
		PreferredMaintenanceWindow: jsii.String("sun:03:30-sun:04:30"),
		DeletionProtection:         jsii.Bool(s.Protect),
		RemovalPolicy:              removal,
		CopyTagsToSnapshot:         jsii.Bool(true),
		CloudwatchLogsExports:      jsii.Strings("postgresql"),
		// The Data API lets the deployment create the IAM database user with
		// the master secret, without a function in the VPC.
		EnableDataApi: jsii.Bool(true),
		Parameters: &map[string]*string{
			// Lock waits beyond deadlock_timeout land in the exported log,
			// next to any deadlock report.
			"log_lock_waits": jsii.String("1"),
		},
	})
	cluster.Node().AddDependency(pgLogs)
	return cluster
}

// readers are the cluster's n Serverless v2 readers.
func readers(n int) *[]awsrds.IClusterInstance {
	readers := make([]awsrds.IClusterInstance, n)
	for i := range readers {
		readers[i] = awsrds.ClusterInstance_ServerlessV2(jsii.String(fmt.Sprintf("Reader%d", i+1)), &awsrds.ServerlessV2ClusterInstanceProps{
			// Promotion tier 0-1: the reader scales with the writer, so a
			// failover lands on an instance of the writer's size.
			ScaleWithWriter:           jsii.Bool(i == 0),
			PubliclyAccessible:        jsii.Bool(false),
			EnablePerformanceInsights: jsii.Bool(true),
			AutoMinorVersionUpgrade:   jsii.Bool(true),
		})
	}
	return &readers
}

// rotateMasterSecret rotates the master password monthly; the rotation
// function runs in the app subnets (it needs Secrets Manager through NAT)
// and reaches the cluster directly (the cluster security group admits it).
func rotateMasterSecret(c constructs.Construct, s settings.Settings, cluster awsrds.DatabaseCluster) {
	rotation := cluster.AddRotationSingleUser(&awsrds.RotationSingleUserOptions{
		AutomaticallyAfter: awscdk.Duration_Days(jsii.Number(30)),
		VpcSubnets:         network.AppSubnets(),
	})
	retainRotationLogs(c, s, rotation)
	// The master secret outlives a protected stack, like the cluster's
	// final snapshot it opens.
	if s.Protect {
		// On the CloudFormation resource: the cluster sets its secret's
		// policy from its own (SNAPSHOT, which a secret does not have).
		// (cluster.Secret() is the target attachment; find the secret.)
		for _, r := range *cluster.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			if *awscdk.CfnResource_IsCfnResource(r) && cfn.Type(r) == "AWS::SecretsManager::Secret" {
				runtime.InvokeVoid(r, "applyRemovalPolicy", []any{awscdk.RemovalPolicy_RETAIN})
			}
		}
	}
}

// newProxy is the RDS Proxy named proxyName in front of the cluster, with
// its log group and its read-only endpoint.
//
// End-to-end IAM authentication: no database password anywhere in the
// request path. The proxy's role may connect to the cluster as either
// user (the functions' own grants say which each may ask for).
func newProxy(c constructs.Construct, s settings.Settings, net *network.Network, cluster awsrds.DatabaseCluster,
	proxyName string) (awsrds.DatabaseProxy, awsrds.IDatabaseProxyEndpoint) {
	proxyRole := awsiam.NewRole(c, jsii.String("ProxyRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("rds.amazonaws.com"), nil),
		Description: jsii.String("RDS Proxy connects to the Aurora cluster as the application user with IAM"),
	})
	cluster.GrantConnect(proxyRole, jsii.String(DBOwner))
	cluster.GrantConnect(proxyRole, jsii.String(DBAppUser))
	// RDS Proxy logs to this group; created first, it gets a retention.
	proxyLogs := awslogs.NewLogGroup(c, jsii.String("ProxyLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/rds/proxy/" + proxyName),
		Retention:     s.Retention(),
		RemovalPolicy: s.LogRemoval(),
	})
	proxy := awsrds.NewDatabaseProxy(c, jsii.String("Proxy"), &awsrds.DatabaseProxyProps{
		ProxyTarget:       awsrds.ProxyTarget_FromCluster(cluster),
		DbProxyName:       jsii.String(proxyName),
		Vpc:               net.Vpc,
		VpcSubnets:        network.DataSubnets(),
		SecurityGroups:    &[]awsec2.ISecurityGroup{net.Proxy},
		Role:              proxyRole,
		DefaultAuthScheme: awsrds.DefaultAuthScheme_IAM_AUTH,
		IamAuth:           jsii.Bool(true),
		RequireTLS:        jsii.Bool(true),
		// Shorter than every function's timeout (10 s): a saturated database
		// fails a request cleanly instead of running it into the Lambda
		// timeout.
		BorrowTimeout:             awscdk.Duration_Seconds(jsii.Number(5)),
		IdleClientTimeout:         awscdk.Duration_Minutes(jsii.Number(30)),
		MaxConnectionsPercent:     jsii.Number(ProxyMaxConnectionsPercent),
		MaxIdleConnectionsPercent: jsii.Number(50),
		DebugLogging:              jsii.Bool(false),
	})
	proxy.Node().AddDependency(proxyLogs)
	readOnly := proxy.AddEndpoint(jsii.String("ReadOnly"), &awsrds.DatabaseProxyEndpointOptions{
		DbProxyEndpointName: jsii.String(s.Name("read-only")),
		Vpc:                 net.Vpc,
		VpcSubnets:          network.DataSubnets(),
		SecurityGroups:      &[]awsec2.ISecurityGroup{net.Proxy},
		TargetRole:          awsrds.ProxyEndpointTargetRole_READ_ONLY,
	})
	return proxy, readOnly
}

// retainRotationLogs gives the hosted rotation function (deployed from the
// Serverless Application Repository, named by the application's
// functionName parameter) a log group with the stage's retention, created
// before the application so that Lambda does not create one that keeps logs
// forever.
func retainRotationLogs(scope constructs.Construct, s settings.Settings, rotation constructs.IConstruct) {
	for _, c := range *rotation.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if !*awscdk.CfnResource_IsCfnResource(c) || cfn.Type(c) != "AWS::Serverless::Application" {
			continue
		}
		var params map[string]*string
		runtime.Get(c, "parameters", &params)
		name := params["functionName"]
		if name == nil {
			panic("rotation application without a functionName parameter")
		}
		logs := awslogs.NewLogGroup(scope, jsii.String("RotationLogs"), &awslogs.LogGroupProps{
			LogGroupName:  jsii.String("/aws/lambda/" + *name),
			Retention:     s.Retention(),
			RemovalPolicy: s.LogRemoval(),
		})
		c.Node().AddDependency(logs)
	}
}

// bootstrapSQL creates the schema owner and gives it what the migrations
// need (migrations.OwnerBootstrapSQL, which a test runs against a real
// server before migrating as the owner).
func bootstrapSQL() string { return migrations.OwnerBootstrapSQL(DBName) }

// newDatabaseUser runs bootstrapSQL through the RDS Data API as the master
// user, on create and on every change of the statement.
func newDatabaseUser(scope constructs.Construct, s settings.Settings, cluster awsrds.DatabaseCluster) constructs.IDependable {
	call := &customresources.AwsSdkCall{
		Service: jsii.String("@aws-sdk/client-rds-data"),
		Action:  jsii.String("ExecuteStatement"),
		Parameters: map[string]any{
			"resourceArn": cluster.ClusterArn(),
			"secretArn":   cluster.Secret().SecretArn(),
			"database":    DBName,
			"sql":         bootstrapSQL(),
		},
		PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String(DBOwner + "-db-user")),
		// The response holds no data worth logging.
		Logging: customresources.Logging_WithDataHidden(),
	}
	logs := awslogs.NewLogGroup(scope, jsii.String("DbUserLogs"), &awslogs.LogGroupProps{
		Retention:     s.Retention(),
		RemovalPolicy: s.LogRemoval(),
	})
	user := customresources.NewAwsCustomResource(scope, jsii.String("DbUser"), &customresources.AwsCustomResourceProps{
		OnCreate: call,
		OnUpdate: call,
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("rds-data:ExecuteStatement"),
				Resources: jsii.Strings(*cluster.ClusterArn()),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
				Resources: jsii.Strings(*cluster.Secret().SecretArn()),
			}),
		}),
		InstallLatestAwsSdk: jsii.Bool(false),
		LogGroup:            logs,
		Timeout:             awscdk.Duration_Minutes(jsii.Number(2)),
	})
	// After the writer and the readers are up.
	user.Node().AddDependency(cluster)
	return user
}

// AuroraMaxConnections is Aurora PostgreSQL's default max_connections for a
// Serverless v2 instance with the capacity range [minACU, maxACU]:
// LEAST(DBInstanceClassMemory/9531392, 5000) computed from the maximum
// capacity (about 2 GiB per ACU), but capped at 2,000 while the minimum
// capacity is below 1 ACU (AWS documents the cap for a 0 or 0.5 ACU
// minimum), since the instance must be able to run at its minimum.
func AuroraMaxConnections(minACU, maxACU float64) int {
	n := min(int(maxACU*2*(1<<30)/9531392), 5000)
	if minACU < 1 {
		n = min(n, 2000)
	}
	return n
}

// ProxyMaxConnections is how many connections RDS Proxy may open to one
// instance: its MaxConnectionsPercent of max_connections.
func ProxyMaxConnections(s settings.Settings) int {
	return AuroraMaxConnections(s.DBMinCapacity, s.DBMaxCapacity) * ProxyMaxConnectionsPercent / 100
}
