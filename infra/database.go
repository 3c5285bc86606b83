package main

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
	// proxyMaxConnectionsPercent of max_connections is the proxy's pool.
	proxyMaxConnectionsPercent = 90
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
func NewDatabase(scope constructs.Construct, id string, s Settings, net *Network) *Database {
	c := constructs.NewConstruct(scope, jsii.String(id))
	clusterID := s.name()

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
	readers := make([]awsrds.IClusterInstance, s.DBReaders)
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
		Readers:                     &readers,
		ServerlessV2MinCapacity:     jsii.Number(s.DBMinCapacity),
		ServerlessV2MaxCapacity:     jsii.Number(s.DBMaxCapacity),
		Vpc:                         net.Vpc,
		VpcSubnets:                  DataSubnets(),
		SecurityGroups:              &[]awsec2.ISecurityGroup{net.Database},
		Port:                        jsii.Number(PostgresPort),
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

	// The master password rotates monthly; the rotation function runs in
	// the app subnets (it needs Secrets Manager through NAT) and reaches the
	// cluster directly (the cluster security group admits it).
	rotation := cluster.AddRotationSingleUser(&awsrds.RotationSingleUserOptions{
		AutomaticallyAfter: awscdk.Duration_Days(jsii.Number(30)),
		VpcSubnets:         AppSubnets(),
	})
	retainRotationLogs(c, s, rotation)
	// The master secret outlives a protected stack, like the cluster's
	// final snapshot it opens.
	if s.Protect {
		// On the CloudFormation resource: the cluster sets its secret's
		// policy from its own (SNAPSHOT, which a secret does not have).
		// (cluster.Secret() is the target attachment; find the secret.)
		for _, r := range *cluster.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			if *awscdk.CfnResource_IsCfnResource(r) && cfnType(r) == "AWS::SecretsManager::Secret" {
				runtime.InvokeVoid(r, "applyRemovalPolicy", []any{awscdk.RemovalPolicy_RETAIN})
			}
		}
	}

	// End-to-end IAM authentication: no database password anywhere in the
	// request path. The proxy's role may connect to the cluster as either
	// user (the functions' own grants say which each may ask for).
	proxyRole := awsiam.NewRole(c, jsii.String("ProxyRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("rds.amazonaws.com"), nil),
		Description: jsii.String("RDS Proxy connects to the Aurora cluster as the application user with IAM"),
	})
	cluster.GrantConnect(proxyRole, jsii.String(DBOwner))
	cluster.GrantConnect(proxyRole, jsii.String(DBAppUser))
	proxyName := s.name()
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
		VpcSubnets:        DataSubnets(),
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
		MaxConnectionsPercent:     jsii.Number(proxyMaxConnectionsPercent),
		MaxIdleConnectionsPercent: jsii.Number(50),
		DebugLogging:              jsii.Bool(false),
	})
	proxy.Node().AddDependency(proxyLogs)
	readOnly := proxy.AddEndpoint(jsii.String("ReadOnly"), &awsrds.DatabaseProxyEndpointOptions{
		DbProxyEndpointName: jsii.String(s.name("read-only")),
		Vpc:                 net.Vpc,
		VpcSubnets:          DataSubnets(),
		SecurityGroups:      &[]awsec2.ISecurityGroup{net.Proxy},
		TargetRole:          awsrds.ProxyEndpointTargetRole_READ_ONLY,
	})

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

// retainRotationLogs gives the hosted rotation function (deployed from the
// Serverless Application Repository, named by the application's
// functionName parameter) a log group with the stage's retention, created
// before the application so that Lambda does not create one that keeps logs
// forever.
func retainRotationLogs(scope constructs.Construct, s Settings, rotation constructs.IConstruct) {
	for _, c := range *rotation.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if !*awscdk.CfnResource_IsCfnResource(c) || cfnType(c) != "AWS::Serverless::Application" {
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
func newDatabaseUser(scope constructs.Construct, s Settings, cluster awsrds.DatabaseCluster) constructs.IDependable {
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
