package main

import (
	"math"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/internal/obs"
)

// AlarmKind is one kind of alarm with its runbook line: what it means and
// what to look at first. The line is the alarm's description, so it arrives
// in the notification; the README's runbook repeats it.
type AlarmKind struct {
	Key       string
	Meaning   string
	FirstLook string
}

// The alarm kinds. Shapes (statistic, period, datapoints) follow AWS's
// recommended alarms where they exist; see each threshold's comment.
var (
	kindFnErrors = AlarmKind{"function-errors",
		"The function failed invocations (crash, panic outside a handler, timeout, out of memory) in 3 consecutive minutes; handlers answer 5xx without failing, so this is the runtime failing.",
		"The function's log group (/aws/lambda/wallets-<stage>-<function>): lines with \"level\":\"ERROR\", \"Task timed out\", \"Runtime exited\"; then Sentry."}
	kindFnThrottles = AlarmKind{"function-throttles",
		"Lambda refused invocations of the function for lack of concurrency for 5 minutes; clients got 429/502.",
		"Lambda console → Concurrency: the account's ConcurrentExecutions against its limit; a traffic spike in the API Count metric."}
	kindFnDuration = AlarmKind{"function-duration",
		"The function's p99 duration has been above 80% of its timeout for 15 minutes: requests are about to time out.",
		"The dashboard's database row (CPU, borrow latency, connections) — slowness is almost always the database — then the function's slow requests in its log (duration field)."}
	kindApi5xx = AlarmKind{"api-5xx",
		"More than 5% of API requests answered 5xx for 3 minutes.",
		"The access log group (errorType, integrationError, authorizerError fields) to tell gateway faults from handler 5xx; then Sentry and the failing function's log."}
	kindApi4xx = AlarmKind{"api-4xx",
		"More than 5% of API requests answered 4xx for 5 minutes: a broken client release, an authorizer refusing valid tokens, throttling (429) or a probe.",
		"The access log group: group by status and resource; 401s with authorizerError point at the authorizer or the JWT key, 429s at the stage throttle."}
	kindApiLatency = AlarmKind{"api-latency",
		"The API's p99 latency has been above 2.5 s for 5 minutes.",
		"IntegrationLatency vs Latency on the dashboard (gateway vs function), then the database row."}
	kindDbCPU = AlarmKind{"db-cpu",
		"An Aurora instance has used over 90% CPU for 5 minutes (at its current capacity).",
		"Performance Insights top SQL for the instance; ServerlessDatabaseCapacity against dbMaxCapacity (raise it if pinned at the maximum)."}
	kindDbConnections = AlarmKind{"db-connections",
		"An Aurora instance has held over 80% of max_connections for 5 minutes; RDS Proxy caps its pool at 90%, so new requests will soon wait for a connection.",
		"RDS Proxy DatabaseConnectionsCurrentlySessionPinned (pinned sessions hold connections), long transactions in pg_stat_activity, dbMaxCapacity (max_connections grows with it)."}
	kindDbMemory = AlarmKind{"db-memory",
		"An Aurora instance's freeable memory (for Serverless v2: counted as if scaled to its maximum) has stayed under 5% of the maximum capacity's memory for 15 minutes.",
		"ServerlessDatabaseCapacity at dbMaxCapacity? raise it; otherwise Performance Insights for memory-heavy queries."}
	kindDbReplicaLag = AlarmKind{"db-replica-lag",
		"A reader has been more than 1 s behind the writer for 5 minutes: listings served from the read-only endpoint are stale.",
		"Writer write load (WriteIOPS, CPU) and the reader's CPU and capacity; a reader scaled far below the writer lags."}
	kindDbDeadlocks = AlarmKind{"db-deadlocks",
		"PostgreSQL detected a deadlock. Money movements lock rows in a fixed order, so this is a bug.",
		"The cluster's PostgreSQL log (/aws/rds/cluster/wallets-<stage>/postgresql): the \"deadlock detected\" entry names both statements."}
	kindProxyBorrow = AlarmKind{"proxy-borrow-latency",
		"RDS Proxy has taken over 100 ms on average to hand out a database connection for 5 minutes: its pool is exhausted or the database is slow to accept connections.",
		"The db-connections and pinned-sessions alarms and the cluster's DatabaseConnections; the proxy's borrow timeout (5 s) turns this into 5xx."}
	kindProxyPinned = AlarmKind{"proxy-pinned-sessions",
		"Client sessions have stayed pinned to database connections for 15 minutes; pinned sessions defeat pooling. The code avoids pinning, so a change introduced it (the migrations pin briefly during a deploy, which this ignores).",
		"The proxy's logs with debug logging on for a few minutes (it names the pinning statement): session SETs, named prepared statements, advisory locks, temporary tables."}
	kindRejectedDebits = AlarmKind{"rejected-debits",
		"A surge of business debits rejected for insufficient balance (MoneyMovements Operation=debit Outcome=rejected).",
		"business-debit's log for the business ids involved: one business retrying rejected charges, or customers' balances drained by a fault elsewhere (wallets-retire, AmountMoved)."}
	kindLoginThrottled = AlarmKind{"login-throttled",
		"A surge of logins refused for too many failed attempts (LoginThrottled): credential stuffing or a client retrying with a stale password.",
		"users-login's log and the access log (ip, userAgent) for the sources; consider a WAF rate rule or lowering the stage throttle."}
)

// AllAlarmKinds lists every kind, for the runbook.
var AllAlarmKinds = []AlarmKind{kindFnErrors, kindFnThrottles, kindFnDuration, kindApi5xx, kindApi4xx, kindApiLatency,
	kindDbCPU, kindDbConnections, kindDbMemory, kindDbReplicaLag, kindDbDeadlocks, kindProxyBorrow, kindProxyPinned,
	kindRejectedDebits, kindLoginThrottled}

// Monitoring is the alarm topic, every alarm (each notifies the topic on
// ALARM and on OK) and the dashboard.
type Monitoring struct {
	constructs.Construct
	Topic     awssns.Topic
	Alarms    []awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard
	action    awscloudwatchactions.SnsAction
	settings  Settings
}

// MonitoringDeps is what the monitoring watches.
type MonitoringDeps struct {
	Functions *Functions
	Api       *Api
	Database  *Database
}

// NewMonitoring builds the topic, the alarms and the dashboard.
func NewMonitoring(scope constructs.Construct, id string, s Settings, deps MonitoringDeps) *Monitoring {
	c := constructs.NewConstruct(scope, jsii.String(id))
	m := &Monitoring{Construct: c, settings: s}

	// CloudWatch publishes to an encrypted topic only with a customer
	// managed key that lets it.
	keyRemoval := awscdk.RemovalPolicy_DESTROY
	if s.Protect {
		keyRemoval = awscdk.RemovalPolicy_RETAIN
	}
	key := awskms.NewKey(c, jsii.String("AlarmsKey"), &awskms.KeyProps{
		Description:       jsii.String("Wallets " + s.Stage + ": encrypts the alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
		RemovalPolicy:     keyRemoval,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), nil)
	m.Topic = awssns.NewTopic(c, jsii.String("Alarms"), &awssns.TopicProps{
		TopicName:   jsii.String(s.name("alarms")),
		DisplayName: jsii.String("Wallets " + s.Stage + " alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if s.AlarmEmail != "" {
		m.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
	}
	m.action = awscloudwatchactions.NewSnsAction(m.Topic)

	minute := awscdk.Duration_Minutes(jsii.Number(1))
	five := awscdk.Duration_Minutes(jsii.Number(5))

	// Per function (the authorizer included; a failing migration fails the
	// deploy instead). AWS's recommended shapes: Errors Sum 3/3, Throttles
	// Sum 5/5, Duration 15/15 (p99 here, against 80% of the timeout).
	monitored := make([]*Function, 0, len(deps.Functions.Order)+1)
	for _, n := range deps.Functions.Order {
		monitored = append(monitored, deps.Functions.Routes[n])
	}
	monitored = append(monitored, deps.Functions.Authorizer)
	for _, f := range monitored {
		id := constructID(f.Name)
		m.alarm(id+"Errors", f.Name+"-errors", kindFnErrors,
			f.Fn.MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}),
			0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 3, 3)
		m.alarm(id+"Throttles", f.Name+"-throttles", kindFnThrottles,
			f.Fn.MetricThrottles(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}),
			0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
		m.alarm(id+"Duration", f.Name+"-duration", kindFnDuration,
			f.Fn.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: minute}),
			0.8*float64(f.Timeout)*1000, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 15, 15)
	}

	// API. AWS: 5XXError Average > 0.05 3/3; 4XXError Average > 0.05 5/5;
	// Latency 2500 ms 5/5 (p90 there, p99 here).
	stage := deps.Api.RestApi.DeploymentStage()
	m.alarm("Api5xx", "api-5xx", kindApi5xx,
		stage.MetricServerError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Average"), Period: minute}),
		0.05, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 3, 3)
	m.alarm("Api4xx", "api-4xx", kindApi4xx,
		stage.MetricClientError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Average"), Period: minute}),
		0.05, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
	m.alarm("ApiLatency", "api-latency", kindApiLatency,
		stage.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: minute}),
		2500, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)

	// Aurora, per role. AWS: CPUUtilization Average > 90 5/5;
	// DatabaseConnections Average > 90-95% of max_connections 5/5 (80%
	// here: the proxy caps its pool at 90%); FreeableMemory Average < ~5% of
	// memory for Aurora, 15/15.
	db := deps.Database
	maxMemory := s.DBMaxCapacity * 2 * (1 << 30)
	maxConns := AuroraMaxConnections(s.DBMaxCapacity)
	for _, role := range []string{"WRITER", "READER"} {
		r := constructID(strings.ToLower(role))
		m.alarm("Db"+r+"Cpu", "db-"+strings.ToLower(role)+"-cpu", kindDbCPU,
			db.metric("CPUUtilization", role, "Average", minute), 90, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
		m.alarm("Db"+r+"Connections", "db-"+strings.ToLower(role)+"-connections", kindDbConnections,
			db.metric("DatabaseConnections", role, "Average", minute), math.Floor(0.8*float64(maxConns)), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
		m.alarm("Db"+r+"Memory", "db-"+strings.ToLower(role)+"-memory", kindDbMemory,
			db.metric("FreeableMemory", role, "Average", minute), math.Floor(0.05*maxMemory), awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, 15, 15)
	}
	m.alarm("DbReplicaLag", "db-replica-lag", kindDbReplicaLag,
		db.metric("AuroraReplicaLag", "READER", "Maximum", minute), 1000, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
	m.alarm("DbDeadlocks", "db-deadlocks", kindDbDeadlocks,
		db.metric("Deadlocks", "WRITER", "Maximum", five), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 1, 1)

	// RDS Proxy (no AWS recommendation: thresholds from the design).
	m.alarm("ProxyBorrowLatency", "proxy-borrow-latency", kindProxyBorrow,
		db.proxyMetric("DatabaseConnectionsBorrowLatency", "Average", minute), 100_000, // microseconds
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
	m.alarm("ProxyPinnedSessions", "proxy-pinned-sessions", kindProxyPinned,
		db.proxyMetric("DatabaseConnectionsCurrentlySessionPinned", "Sum", minute), 0,
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 15, 15)

	// Business metrics (EMF, namespace Wallets).
	m.alarm("RejectedDebits", "rejected-debits", kindRejectedDebits,
		RejectedDebitsMetric(five), s.RejectedDebitsThreshold, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1, 1)
	m.alarm("LoginThrottled", "login-throttled", kindLoginThrottled,
		LoginThrottledMetric(five), s.LoginThrottledThreshold, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1, 1)

	m.Dashboard = newDashboard(c, s, deps, m.Alarms, monitored)
	return m
}

// alarm creates one alarm notifying the topic on ALARM and OK. Missing data
// is not breaching: no traffic is no failure.
func (m *Monitoring) alarm(id, name string, kind AlarmKind, metric awscloudwatch.IMetric, threshold float64,
	cmp awscloudwatch.ComparisonOperator, datapoints, periods float64) awscloudwatch.Alarm {
	a := awscloudwatch.NewAlarm(m.Construct, jsii.String(id+"Alarm"), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(m.settings.name(name)),
		AlarmDescription:   jsii.String(kind.Meaning + " First look: " + kind.FirstLook + " [runbook: " + kind.Key + "]"),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: cmp,
		EvaluationPeriods:  jsii.Number(periods),
		DatapointsToAlarm:  jsii.Number(datapoints),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(m.action)
	a.AddOkAction(m.action)
	m.Alarms = append(m.Alarms, a)
	return a
}

// metric is an Aurora metric of the instances in role (WRITER or READER).
func (d *Database) metric(name, role, stat string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/RDS"),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"DBClusterIdentifier": jsii.String(d.ClusterIdentifier), "Role": jsii.String(role)},
		Statistic:     jsii.String(stat),
		Period:        period,
	})
}

// proxyMetric is an RDS Proxy metric summed or averaged over its nodes.
func (d *Database) proxyMetric(name, stat string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/RDS"),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"ProxyName": jsii.String(d.ProxyName)},
		Statistic:     jsii.String(stat),
		Period:        period,
	})
}

// RejectedDebitsMetric counts business debits rejected for insufficient
// balance (EMF: MoneyMovements by Operation and Outcome).
func RejectedDebitsMetric(period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(obs.Namespace),
		MetricName:    jsii.String(obs.MetricMoneyMovements),
		DimensionsMap: &map[string]*string{"Operation": jsii.String("debit"), "Outcome": jsii.String("rejected")},
		Statistic:     jsii.String("Sum"),
		Period:        period,
	})
}

// LoginThrottledMetric counts logins refused by the failed-attempt limit
// (EMF: LoginThrottled by Function).
func LoginThrottledMetric(period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(obs.Namespace),
		MetricName:    jsii.String(obs.MetricLoginThrottled),
		DimensionsMap: &map[string]*string{"Function": jsii.String("users-login")},
		Statistic:     jsii.String("Sum"),
		Period:        period,
	})
}

// AuroraMaxConnections approximates Aurora PostgreSQL's default
// max_connections, LEAST(DBInstanceClassMemory/9531392, 5000), for a
// Serverless v2 instance, which derives it from the maximum capacity (about
// 2 GiB per ACU).
func AuroraMaxConnections(maxACU float64) int {
	n := int(maxACU * 2 * (1 << 30) / 9531392)
	return min(n, 5000)
}
