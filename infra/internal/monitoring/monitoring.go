// Package monitoring is the stage's alarm topic, every alarm (each with its
// runbook line), the forwarding of failed secret rotations, and the
// dashboard.
package monitoring

import (
	"fmt"
	"math"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/api"
	"wallets/infra/internal/data"
	"wallets/infra/internal/functions"
	"wallets/infra/internal/settings"
	"wallets/internal/obs/metricname"
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
		"Lambda refused invocations of the function for lack of concurrency for 5 minutes (it is at its reserved concurrency); clients got 429/502.",
		"A traffic spike in the API Count metric and the WAF's rate rules; the function's ConcurrentExecutions against its reserved concurrency (routeConcurrency, authorizerConcurrency), raised only as far as the capacity rule allows."}
	kindFnDuration = AlarmKind{"function-duration",
		"The function's p99 duration has been above 80% of its timeout for 15 minutes: requests are about to time out.",
		"The dashboard's database row (CPU, borrow latency, connections) — slowness is almost always the database — then the function's slow requests in its log (Latency field, in ms)."}
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
		"A surge of business debits rejected for insufficient balance (RejectedMovements of Function=business-debit).",
		"business-debit's log (lines with RejectedMovements) for the businesses and users involved: one business retrying rejected charges, or customers' balances drained by a fault elsewhere (wallets-retire's AmountMoved)."}
	kindLoginThrottled = AlarmKind{"login-throttled",
		"A surge of logins refused for too many failed attempts (LoginThrottled): credential stuffing or a client retrying with a stale password.",
		"users-login's log and the access log (ip, userAgent) for the sources; the WAF's rate-users metric and sampled requests; lower wafUsersRateLimit if one source drives it."}
)

// The kinds AWS's recommended alarms add, and the synthetic check.
var (
	kindDbTxIDs = AlarmKind{"db-transaction-ids",
		"The writer has used over 1 billion transaction ids since the oldest unfrozen one (MaximumUsedTransactionIDs): autovacuum is not freezing, and at about 2 billion PostgreSQL stops accepting writes. No data counts as breaching: the writer is gone.",
		"pg_stat_activity for long-running or idle-in-transaction sessions and abandoned replication slots; then autovacuum progress (pg_stat_progress_vacuum) on the largest tables."}
	kindDbLocalStorage = AlarmKind{"db-local-storage",
		"An Aurora instance has had under 10% of its local storage free (FreeLocalStorage, sized from dbMinCapacity) for 5 minutes: large sorts and hash joins spill to temporary files and will fail. No data counts as breaching.",
		"Performance Insights top SQL by temp bytes; log_temp_files in the PostgreSQL log; raise dbMinCapacity (local storage grows with capacity)."}
	kindDbCapacityMax = AlarmKind{"db-capacity-max",
		"An Aurora instance has run at dbMaxCapacity (ServerlessDatabaseCapacity) for 15 minutes: it cannot scale further, so CPU, memory and connections are next.",
		"The db-cpu and db-load alarms and Performance Insights; raise dbMaxCapacity (cdk.json) if the load is legitimate."}
	kindDbLoad = AlarmKind{"db-load",
		"An instance's average active sessions (DBLoad) have exceeded its vCPUs at dbMaxCapacity for 15 minutes: queries queue for CPU or wait on locks and I/O.",
		"Performance Insights: the wait events and top SQL of the period; lock waits in the PostgreSQL log (log_lock_waits)."}
	kindLambdaConcurrency = AlarmKind{"lambda-account-concurrency",
		"The account's concurrent Lambda executions have been above 80% of accountConcurrency for 5 minutes: functions without reserved concurrency elsewhere in the account, or this stage's, are about to be throttled.",
		"Lambda console → Concurrency: which functions use it; this stage's functions are capped by their reserved concurrency (routeConcurrency, authorizerConcurrency)."}
	kindCanary = AlarmKind{"canary",
		"The synthetic check (GET /health and GET /openapi.json through the public URL, every canaryMinutes) failed twice in a row. No data counts as breaching: a canary that stopped running checks nothing.",
		"The canary's run in the CloudWatch Synthetics console (its log and the failed step), then the api-5xx alarm, the WAF (a blocked canary means a rule is too tight) and the health function's log."}
	kindSecretRotation = AlarmKind{"secret-rotation",
		"Secrets Manager reported a failed rotation (an EventBridge rule on RotationFailed sends it to the alarm topic): the master secret may no longer open the database.",
		"The rotation function's log (/aws/lambda/<the rotation function>), then rotate again from the console once fixed; the functions do not use the master secret, the Data API user bootstrap does."}
)

// The events' kinds (issue #18).
var (
	kindOutboxAge = AlarmKind{"outbox-age",
		"The oldest unpublished event in the outbox (OutboxAgeSeconds, sampled by events-relay once a minute) has waited over 5 minutes in 3 of the last 5 minutes: events and webhooks are late. No data counts as breaching: the relay is scheduled every minute, so silence means it is not running.",
		"events-relay's log (level ERROR, \"failed relay rounds\") and its errors and throttles alarms; the rule wallets-<stage>-events-relay-schedule enabled?; EventBridge PutEvents and SQS SendMessage errors; the database alarms."}
	kindDeliveriesDLQ = AlarmKind{"deliveries-dlq",
		"A message reached the delivery dead-letter queue (wallets-<stage>-deliveries-dlq): webhooks-deliver failed on it 30 times without handling it (the database dead-letters ordinary failures itself, so this is a poison message or a broken function).",
		"webhooks-deliver's log for the message id; the message in the SQS console; once fixed, redrive it to wallets-<stage>-deliveries (the delivery is still pending in the database either way, and the relay's sweep resends it)."}
	kindDeliveriesDead = AlarmKind{"deliveries-dead",
		"A webhook delivery failed its last attempt and is dead (DeliveriesDead of Function=webhooks-deliver): a customer endpoint has been failing for about 26 hours.",
		"GET /webhooks/dead-letters for the endpoint and the last error; webhooks-deliver's log; tell the endpoint's owner."}
	kindDeliveryFailures = AlarmKind{"delivery-failures",
		"Over 50 webhook attempts failed with another attempt due (DeliveriesRetried of Function=webhooks-deliver) in 15 minutes: receivers are down or slow, or egress is broken.",
		"webhooks-deliver's log: the errors by endpoint host (one bad endpoint, or all of them: then the NAT gateways and the functions' security group)."}
)

// AllAlarmKinds lists every kind, for the runbook.
var AllAlarmKinds = []AlarmKind{kindFnErrors, kindFnThrottles, kindFnDuration, kindApi5xx, kindApi4xx, kindApiLatency,
	kindDbCPU, kindDbConnections, kindDbMemory, kindDbReplicaLag, kindDbDeadlocks, kindProxyBorrow, kindProxyPinned,
	kindRejectedDebits, kindLoginThrottled,
	kindDbTxIDs, kindDbLocalStorage, kindDbCapacityMax, kindDbLoad, kindLambdaConcurrency, kindCanary, kindSecretRotation,
	kindOutboxAge, kindDeliveriesDLQ, kindDeliveriesDead, kindDeliveryFailures}

// Monitoring is the alarm topic, every alarm (each notifies the topic on
// ALARM and on OK) and the dashboard.
type Monitoring struct {
	constructs.Construct
	Topic     awssns.Topic
	Alarms    []awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard
	// FunctionErrors is each function's errors alarm, Api5xx the API's: a
	// function's deployment rolls back on either (functions.NewDeployments).
	FunctionErrors map[string]awscloudwatch.Alarm
	Api5xx         awscloudwatch.Alarm
	// RotationRule forwards failed secret rotations to the topic.
	RotationRule awsevents.Rule
	action       awscloudwatchactions.SnsAction
	settings     settings.Settings
}

// Deps is what the monitoring watches.
type Deps struct {
	Functions *functions.Functions
	Database  *data.Database
}

// The monitoring names what it watches literally (function names, the API's
// name and stage, the canary's name): it lives in a stack of its own that
// deploys before the Api stack, whose deployment groups roll back on its
// alarms, so it may not refer to the Api stack's resources.

// fnMetric is a metric of one of the stage's functions.
func fnMetric(s settings.Settings, function, name, stat string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String("AWS/Lambda"), MetricName: jsii.String(name),
		DimensionsMap: &map[string]*string{"FunctionName": jsii.String(s.Name(function))},
		Statistic:     jsii.String(stat), Period: period,
	})
}

// apiMetric is a metric of the stage's REST API.
func apiMetric(s settings.Settings, name, stat string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String("AWS/ApiGateway"), MetricName: jsii.String(name),
		DimensionsMap: &map[string]*string{"ApiName": jsii.String(s.Name()), "Stage": jsii.String(s.Stage)},
		Statistic:     jsii.String(stat), Period: period,
	})
}

// New builds the topic, the alarms and the dashboard.
func New(scope constructs.Construct, id string, s settings.Settings, deps Deps) *Monitoring {
	c := constructs.NewConstruct(scope, jsii.String(id))
	m := &Monitoring{Construct: c, settings: s, FunctionErrors: map[string]awscloudwatch.Alarm{}}
	m.newTopic(c, s)
	monitored := m.functionAlarms(s, deps.Functions)
	m.apiAlarms(s)
	m.databaseAlarms(s, deps.Database)
	m.otherAlarms(s, deps.Database)
	m.eventsAlarms(s)
	m.rotationFailures(c)

	m.Dashboard = newDashboard(c, s, deps, m.Alarms, monitored)
	return m
}

// RollbackAlarms are the alarms a function's deployment rolls back on.
func (m *Monitoring) RollbackAlarms() functions.RollbackAlarms {
	return functions.RollbackAlarms{Api5xx: m.Api5xx, FunctionErrors: m.FunctionErrors}
}

// newTopic is the alarm topic, encrypted with a key of its own, and its
// e-mail subscription (alarmEmail).
func (m *Monitoring) newTopic(c constructs.Construct, s settings.Settings) {
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
		Sid: jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil),
			awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources: jsii.Strings("*"),
	}), nil)
	m.Topic = awssns.NewTopic(c, jsii.String("Alarms"), &awssns.TopicProps{
		TopicName:   jsii.String(s.Name("alarms")),
		DisplayName: jsii.String("Wallets " + s.Stage + " alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if s.AlarmEmail != "" {
		m.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
	}
	m.action = awscloudwatchactions.NewSnsAction(m.Topic)
}

// functionAlarms watches every route function, the authorizer and the
// events functions, which it returns (a failing migration fails the deploy
// instead). AWS's recommended shapes: Errors Sum 3/3, Throttles Sum 5/5,
// Duration 15/15 (p99 here, against 80% of the timeout). The relay has no
// duration alarm: it runs for about 50 s of its 60 by design.
func (m *Monitoring) functionAlarms(s settings.Settings, fns *functions.Functions) []*functions.Function {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	monitored := make([]*functions.Function, 0, len(fns.Order)+1)
	for _, n := range fns.Order {
		monitored = append(monitored, fns.Routes[n])
	}
	monitored = append(monitored, fns.Authorizer, fns.EventsRelay, fns.WebhooksDeliver)
	for _, f := range monitored {
		id := functions.ConstructID(f.Name)
		m.FunctionErrors[f.Name] = m.alarm(id+"Errors", f.Name+"-errors", kindFnErrors,
			fnMetric(s, f.Name, "Errors", "Sum", minute),
			0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 3, 3)
		m.alarm(id+"Throttles", f.Name+"-throttles", kindFnThrottles,
			fnMetric(s, f.Name, "Throttles", "Sum", minute),
			0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
		if f.Name == functions.EventsRelayFunction {
			continue
		}
		m.alarm(id+"Duration", f.Name+"-duration", kindFnDuration,
			fnMetric(s, f.Name, "Duration", "p99", minute),
			0.8*float64(f.Timeout)*1000, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 15, 15)
	}
	return monitored
}

// apiAlarms watches the REST API. AWS: 5XXError Average > 0.05 3/3;
// 4XXError Average > 0.05 5/5; Latency 2500 ms 5/5 (p90 there, p99 here).
func (m *Monitoring) apiAlarms(s settings.Settings) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	m.Api5xx = m.alarm("Api5xx", "api-5xx", kindApi5xx,
		apiMetric(s, "5XXError", "Average", minute),
		0.05, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 3, 3)
	m.alarm("Api4xx", "api-4xx", kindApi4xx,
		apiMetric(s, "4XXError", "Average", minute),
		0.05, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
	m.alarm("ApiLatency", "api-latency", kindApiLatency,
		apiMetric(s, "Latency", "p99", minute),
		2500, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
}

// databaseAlarms watches the Aurora instances, per role and per instance.
func (m *Monitoring) databaseAlarms(s settings.Settings, db *data.Database) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	five := awscdk.Duration_Minutes(jsii.Number(5))
	// Aurora, per role. AWS: CPUUtilization Average > 90 5/5;
	// DatabaseConnections Average > 90-95% of max_connections 5/5 (80%
	// here: the proxy caps its pool at 90%); FreeableMemory Average < ~5% of
	// memory for Aurora, 15/15.
	maxMemory := s.DBMaxCapacity * 2 * (1 << 30)
	maxConns := data.AuroraMaxConnections(s.DBMinCapacity, s.DBMaxCapacity)
	for _, role := range []string{"WRITER", "READER"} {
		r := functions.ConstructID(strings.ToLower(role))
		m.alarm("Db"+r+"Cpu", "db-"+strings.ToLower(role)+"-cpu", kindDbCPU,
			dbMetric(db, "CPUUtilization", role, "Average", minute), 90, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5, silenceBreaches)
		m.alarm("Db"+r+"Connections", "db-"+strings.ToLower(role)+"-connections", kindDbConnections,
			dbMetric(db, "DatabaseConnections", role, "Average", minute), math.Floor(0.8*float64(maxConns)), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
		m.alarm("Db"+r+"Memory", "db-"+strings.ToLower(role)+"-memory", kindDbMemory,
			dbMetric(db, "FreeableMemory", role, "Average", minute), math.Floor(0.05*maxMemory), awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, 15, 15, silenceBreaches)
		m.alarm("Db"+r+"LocalStorage", "db-"+strings.ToLower(role)+"-local-storage", kindDbLocalStorage,
			dbMetric(db, "FreeLocalStorage", role, "Minimum", minute), math.Floor(0.1*LocalStorageBytes(s.DBMinCapacity)),
			awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, 5, 5, silenceBreaches)
		m.alarm("Db"+r+"CapacityMax", "db-"+strings.ToLower(role)+"-capacity-max", kindDbCapacityMax,
			dbMetric(db, "ServerlessDatabaseCapacity", role, "Minimum", minute), s.DBMaxCapacity,
			awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 15, 15)
	}
	// AWS: MaximumUsedTransactionIDs > 1,000,000,000 (half the wraparound
	// horizon); DBLoad above the vCPU count.
	m.alarm("DbTransactionIds", "db-transaction-ids", kindDbTxIDs,
		dbMetric(db, "MaximumUsedTransactionIDs", "WRITER", "Maximum", five), 1_000_000_000,
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 1, 1, silenceBreaches)
	// DBLoad (Performance Insights) is published per instance.
	for i, inst := range *db.Cluster.InstanceIdentifiers() {
		m.alarm(fmt.Sprintf("DbLoad%d", i+1), fmt.Sprintf("db-load-%d", i+1), kindDbLoad,
			awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String("AWS/RDS"), MetricName: jsii.String("DBLoad"),
				DimensionsMap: &map[string]*string{"DBInstanceIdentifier": inst},
				Statistic:     jsii.String("Average"), Period: minute,
			}), VCPUs(s.DBMaxCapacity), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 15, 15)
	}
}

// otherAlarms watches the account's Lambda concurrency, replication and
// deadlocks, the proxy, the business metrics and the canary.
func (m *Monitoring) otherAlarms(s settings.Settings, db *data.Database) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	five := awscdk.Duration_Minutes(jsii.Number(5))
	// Lambda, account-wide (AWS: ClaimedAccountConcurrency/ConcurrentExecutions
	// against the quota; 80% here).
	m.alarm("LambdaAccountConcurrency", "lambda-account-concurrency", kindLambdaConcurrency,
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/Lambda"), MetricName: jsii.String("ConcurrentExecutions"),
			Statistic: jsii.String("Maximum"), Period: minute,
		}), math.Floor(0.8*float64(s.AccountConcurrency)), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
	m.alarm("DbReplicaLag", "db-replica-lag", kindDbReplicaLag,
		dbMetric(db, "AuroraReplicaLag", "READER", "Maximum", minute), 1000, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
	m.alarm("DbDeadlocks", "db-deadlocks", kindDbDeadlocks,
		dbMetric(db, "Deadlocks", "WRITER", "Maximum", five), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 1, 1)

	// RDS Proxy (no AWS recommendation: thresholds from the design).
	m.alarm("ProxyBorrowLatency", "proxy-borrow-latency", kindProxyBorrow,
		proxyMetric(db, "DatabaseConnectionsBorrowLatency", "Average", minute), 100_000, // microseconds
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 5, 5)
	m.alarm("ProxyPinnedSessions", "proxy-pinned-sessions", kindProxyPinned,
		proxyMetric(db, "DatabaseConnectionsCurrentlySessionPinned", "Sum", minute), 0,
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 15, 15)

	// Business metrics (EMF, namespace Wallets). One concept, deployed
	// names kept: the alarm RejectedDebits (kind rejected-debits, setting
	// rejectedDebitsThreshold) watches the metric RejectedMovements of
	// Function business-debit, the Lambda of a charge's collection
	// (api.Server.Collect, wallet.Service.Collect, SQL collect_charge).
	// Renaming the alarm or the metric would change deployed alarms and
	// dashboards.
	m.alarm("RejectedDebits", "rejected-debits", kindRejectedDebits,
		RejectedMovementsMetric(collectFunction, five), s.RejectedDebitsThreshold, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1, 1)
	m.alarm("LoginThrottled", "login-throttled", kindLoginThrottled,
		LoginThrottledMetric(five), s.LoginThrottledThreshold, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 1, 1)

	m.alarm("Canary", "canary", kindCanary,
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("CloudWatchSynthetics"), MetricName: jsii.String("SuccessPercent"),
			DimensionsMap: &map[string]*string{"CanaryName": jsii.String(api.CanaryName(s))},
			Statistic:     jsii.String("Average"), Period: awscdk.Duration_Minutes(jsii.Number(float64(s.CanaryMinutes))),
		}), 100, awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, 2, 2, silenceBreaches)
}

// eventsAlarms watches the outbox and the webhook deliveries (EMF metrics
// of the events functions, the delivery queues by name).
func (m *Monitoring) eventsAlarms(s settings.Settings) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	five := awscdk.Duration_Minutes(jsii.Number(5))
	// Sampled once per relay invocation, every minute: missing data means
	// the relay is not running, which is as bad as a growing outbox.
	m.alarm("OutboxAge", "outbox-age", kindOutboxAge,
		EventsMetric(metricname.OutboxAgeSeconds, "Maximum", minute), 300,
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 3, 5, silenceBreaches)
	// SQS publishes nothing for a queue idle for hours: not breaching.
	m.alarm("DeliveriesDlq", "deliveries-dlq", kindDeliveriesDLQ,
		QueueMetric(data.DeadLetterQueueName(s), "ApproximateNumberOfMessagesVisible", "Maximum", five), 0,
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 1, 1)
	m.alarm("DeliveriesDead", "deliveries-dead", kindDeliveriesDead,
		EventsMetric(metricname.DeliveriesDead, "Sum", five), 0,
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 1, 1)
	m.alarm("DeliveryFailures", "delivery-failures", kindDeliveryFailures,
		EventsMetric(metricname.DeliveriesRetried, "Sum", awscdk.Duration_Minutes(jsii.Number(15))), 50,
		awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, 1, 1)
}

// EventsMetric is one of the events functions' EMF metrics, dimensioned by
// the function that emits it: the relay's OutboxAgeSeconds and
// EventsPublished, the delivery worker's Deliveries*.
func EventsMetric(name, stat string, period awscdk.Duration) awscloudwatch.Metric {
	fn := functions.WebhooksDeliverFunction
	if name == metricname.OutboxAgeSeconds || name == metricname.EventsPublished {
		fn = functions.EventsRelayFunction
	}
	return emfMetric(fn, name, stat, period)
}

// emfMetric is a metric the functions emit in their log lines (EMF,
// namespace metricname.Namespace), of the function named function.
func emfMetric(function, name, stat string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(metricname.Namespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"Function": jsii.String(function)},
		Statistic:     jsii.String(stat),
		Period:        period,
	})
}

// QueueMetric is an SQS metric of the queue named queue.
func QueueMetric(queue, name, stat string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/SQS"),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"QueueName": jsii.String(queue)},
		Statistic:     jsii.String(stat),
		Period:        period,
	})
}

// rotationFailures sends Secrets Manager's RotationFailed events (the master
// secret's monthly rotation) to the alarm topic. The event carries the
// secret's ARN; the rule matches this stage's secrets by name prefix.
func (m *Monitoring) rotationFailures(scope constructs.Construct) {
	rule := awsevents.NewRule(scope, jsii.String("RotationFailed"), &awsevents.RuleProps{
		RuleName:    jsii.String(m.settings.Name("secret-rotation")),
		Description: jsii.String(kindSecretRotation.Meaning + " First look: " + kindSecretRotation.FirstLook + " [runbook: " + kindSecretRotation.Key + "]"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.secretsmanager"),
			DetailType: jsii.Strings("AWS Service Event via CloudTrail"),
			Detail: &map[string]any{
				"eventName": []string{"RotationFailed"},
			},
		},
	})
	rule.AddTarget(awseventstargets.NewSnsTopic(m.Topic, nil))
	m.RotationRule = rule
}

// LocalStorageBytes approximates an Aurora Serverless v2 instance's local
// (temporary) storage at a capacity: AWS sizes it with the instance, about
// twice its memory (2 GiB per ACU).
func LocalStorageBytes(acu float64) float64 { return acu * 2 * 2 * (1 << 30) }

// VCPUs approximates the vCPUs of an Aurora Serverless v2 instance at a
// capacity: memory-optimized instances have 8 GiB (4 ACU) per vCPU.
func VCPUs(acu float64) float64 { return math.Max(1, math.Ceil(acu/4)) }

// alarm creates one alarm notifying the topic on ALARM and OK. Missing data
// is treated per alarm (see silent): not breaching where no traffic means no
// datapoint, breaching where the metric is always published and silence
// means its source is gone.
func (m *Monitoring) alarm(id, name string, kind AlarmKind, metric awscloudwatch.IMetric, threshold float64,
	cmp awscloudwatch.ComparisonOperator, datapoints, periods float64, opts ...alarmOption) awscloudwatch.Alarm {
	missing := awscloudwatch.TreatMissingData_NOT_BREACHING
	for _, o := range opts {
		missing = awscloudwatch.TreatMissingData(o)
	}
	a := awscloudwatch.NewAlarm(m.Construct, jsii.String(id+"Alarm"), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(m.settings.Name(name)),
		AlarmDescription:   jsii.String(kind.Meaning + " First look: " + kind.FirstLook + " [runbook: " + kind.Key + "]"),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: cmp,
		EvaluationPeriods:  jsii.Number(periods),
		DatapointsToAlarm:  jsii.Number(datapoints),
		TreatMissingData:   missing,
	})
	a.AddAlarmAction(m.action)
	a.AddOkAction(m.action)
	m.Alarms = append(m.Alarms, a)
	return a
}

// alarmOption overrides an alarm's treatment of missing data.
type alarmOption awscloudwatch.TreatMissingData

// silenceBreaches makes missing data breaching: for metrics published every
// minute while their source lives (an Aurora instance's CPU, the canary).
const silenceBreaches = alarmOption(awscloudwatch.TreatMissingData_BREACHING)

// dbMetric is an Aurora metric of the instances in role (WRITER or READER).
func dbMetric(d *data.Database, name, role, stat string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/RDS"),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"DBClusterIdentifier": jsii.String(d.ClusterIdentifier), "Role": jsii.String(role)},
		Statistic:     jsii.String(stat),
		Period:        period,
	})
}

// proxyMetric is an RDS Proxy metric summed or averaged over its nodes.
func proxyMetric(d *data.Database, name, stat string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/RDS"),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"ProxyName": jsii.String(d.ProxyName)},
		Statistic:     jsii.String(stat),
		Period:        period,
	})
}

// RejectedMovementsMetric counts function's money movements rejected for
// insufficient balance (EMF: metricname.RejectedMovements by Function).
func RejectedMovementsMetric(function string, period awscdk.Duration) awscloudwatch.Metric {
	return emfMetric(function, metricname.RejectedMovements, "Sum", period)
}

// collectFunction is the Lambda function that collects a charge (route
// business-debit): its rejections are the RejectedDebits alarm's.
const collectFunction = "business-debit"

// LoginThrottledMetric counts logins refused by the failed-attempt limit
// (EMF: LoginThrottled by Function).
func LoginThrottledMetric(period awscdk.Duration) awscloudwatch.Metric {
	return emfMetric("users-login", metricname.LoginThrottled, "Sum", period)
}
