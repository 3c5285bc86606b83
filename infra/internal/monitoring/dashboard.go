package monitoring

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/data"
	"wallets/infra/internal/functions"
	"wallets/infra/internal/settings"
	"wallets/internal/obs/metricname"
)

// newDashboard shows what the alarms watch: alarm states, the API, every
// function, the database and proxy, and the business metrics.
func newDashboard(scope constructs.Construct, s settings.Settings, deps Deps, alarms []awscloudwatch.Alarm, fns []*functions.Function) awscloudwatch.Dashboard {
	d := awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(s.Name()),
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
	})
	alarmRows(d, s, alarms)
	apiRow(d, s)
	functionRows(d, s, fns)
	databaseRows(d, deps.Database)
	businessRow(d)
	eventsRow(d, s)
	return d
}

// graph is a graph widget 6 high.
func graph(title string, width float64, left []awscloudwatch.IMetric, right ...awscloudwatch.IMetric) awscloudwatch.GraphWidget {
	p := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left}
	if len(right) > 0 {
		p.Right = &right
	}
	return awscloudwatch.NewGraphWidget(p)
}

// search is a metric math SEARCH expression.
// byFunction is the EMF metric name (namespace metricname.Namespace) of
// every function, one line each, as stat over five minutes.
func byFunction(label, name, stat string) awscloudwatch.IMetric {
	return search(label, fmt.Sprintf(`SEARCH('{%s,Function} MetricName="%s"', '%s', 300)`, metricname.Namespace, name, stat),
		awscdk.Duration_Minutes(jsii.Number(5)))
}

func search(label, expr string, p awscdk.Duration) awscloudwatch.IMetric {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(expr),
		UsingMetrics: &map[string]awscloudwatch.IMetric{},
		Label:        jsii.String(label),
		Period:       p,
	})
}

// alarmRows are the title (naming the alarm topic) and every alarm's state.
func alarmRows(d awscloudwatch.Dashboard, s settings.Settings, alarms []awscloudwatch.Alarm) {
	refs := make([]interfacesawscloudwatch.IAlarmRef, len(alarms))
	for i, a := range alarms {
		refs[i] = a
	}
	d.AddWidgets(awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String(fmt.Sprintf("# Wallets %s\nAlarms notify the SNS topic `%s`. Each alarm's description is its runbook line (see the README's runbook).",
			s.Stage, s.Name("alarms"))),
		Width: jsii.Number(24), Height: jsii.Number(2),
	}))
	d.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title:  jsii.String("Alarms"),
		Alarms: &refs,
		SortBy: awscloudwatch.AlarmStatusWidgetSortBy_STATE_UPDATED_TIMESTAMP,
		Width:  jsii.Number(24), Height: jsii.Number(8),
	}))
}

// apiRow is the API's requests, error rates and latency.
func apiRow(d awscloudwatch.Dashboard, s settings.Settings) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	api := func(name, st string) awscloudwatch.IMetric {
		return apiMetric(s, name, st, minute).With(&awscloudwatch.MetricOptions{Label: jsii.String(name + " " + st)})
	}
	d.AddWidgets(
		graph("API requests", 8, []awscloudwatch.IMetric{api("Count", "Sum")}),
		graph("API 4xx and 5xx rate", 8, []awscloudwatch.IMetric{api("4XXError", "Average"), api("5XXError", "Average")}),
		graph("API latency (ms)", 8, []awscloudwatch.IMetric{api("Latency", "p50"), api("Latency", "p99"), api("IntegrationLatency", "p99")}),
	)
}

// functionRows are every function's errors, throttles and duration, and
// the requests and answers by function (EMF).
func functionRows(d awscloudwatch.Dashboard, s settings.Settings, fns []*functions.Function) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	var errs, throttles, durations []awscloudwatch.IMetric
	for _, f := range fns {
		label := &awscloudwatch.MetricOptions{Label: jsii.String(f.Name)}
		errs = append(errs, fnMetric(s, f.Name, "Errors", "Sum", minute).With(label))
		throttles = append(throttles, fnMetric(s, f.Name, "Throttles", "Sum", minute).With(label))
		durations = append(durations, fnMetric(s, f.Name, "Duration", "p99", minute).With(label))
	}
	d.AddWidgets(
		graph("Function errors", 8, errs),
		graph("Function throttles", 8, throttles),
		graph("Function duration p99 (ms)", 8, durations),
	)
	d.AddWidgets(
		graph("Requests by function (EMF)", 8, []awscloudwatch.IMetric{
			byFunction("Requests", metricname.Requests, "Sum")}),
		graph("5xx by function (EMF)", 8, []awscloudwatch.IMetric{
			byFunction("5xx", metricname.Status5xx, "Sum")}),
		graph("4xx by function (EMF)", 8, []awscloudwatch.IMetric{
			byFunction("4xx", metricname.Status4xx, "Sum")}),
	)
}

// databaseRows are the Aurora instances by role and the proxy.
func databaseRows(d awscloudwatch.Dashboard, db *data.Database) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	roles := func(name, st string) []awscloudwatch.IMetric {
		return []awscloudwatch.IMetric{
			dbMetric(db, name, "WRITER", st, minute).With(&awscloudwatch.MetricOptions{Label: jsii.String("writer")}),
			dbMetric(db, name, "READER", st, minute).With(&awscloudwatch.MetricOptions{Label: jsii.String("reader")}),
		}
	}
	d.AddWidgets(
		graph("Aurora CPU %", 6, roles("CPUUtilization", "Average")),
		graph("Aurora capacity (ACU)", 6, roles("ServerlessDatabaseCapacity", "Average")),
		graph("Aurora connections", 6, roles("DatabaseConnections", "Average")),
		graph("Aurora freeable memory", 6, roles("FreeableMemory", "Average")),
	)
	d.AddWidgets(
		graph("Aurora replica lag (ms)", 6, []awscloudwatch.IMetric{dbMetric(db, "AuroraReplicaLag", "READER", "Maximum", minute)}),
		graph("Aurora deadlocks", 6, []awscloudwatch.IMetric{dbMetric(db, "Deadlocks", "WRITER", "Maximum", minute)}),
		graph("Proxy borrow latency (µs)", 6, []awscloudwatch.IMetric{proxyMetric(db, "DatabaseConnectionsBorrowLatency", "Average", minute)}),
		graph("Proxy connections", 6, []awscloudwatch.IMetric{
			proxyMetric(db, "ClientConnections", "Sum", minute),
			proxyMetric(db, "DatabaseConnections", "Sum", minute),
			proxyMetric(db, "DatabaseConnectionsCurrentlySessionPinned", "Sum", minute),
		}),
	)
}

// businessRow is the money movements and the logins, by Function (the
// function is the operation): a movement accepted is one AmountMoved value
// (its SampleCount counts them), one rejected for insufficient balance a
// RejectedMovements; one refused otherwise is the function's 4xx, one
// failed its 5xx.
func businessRow(d awscloudwatch.Dashboard) {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	ns := metricname.Namespace
	d.AddWidgets(
		graph("Money movements accepted and rejected, by function", 8, []awscloudwatch.IMetric{
			byFunction("Accepted", metricname.AmountMoved, "SampleCount"),
			byFunction("Rejected", metricname.RejectedMovements, "Sum")},
			RejectedMovementsMetric(collectFunction, five).With(&awscloudwatch.MetricOptions{Label: jsii.String("Rejected debits")})),
		graph("Amount moved by function", 8, []awscloudwatch.IMetric{
			byFunction("AmountMoved", metricname.AmountMoved, "Sum")}),
		graph("Logins and replays", 8, []awscloudwatch.IMetric{
			search("Logins", fmt.Sprintf(`SEARCH('{%s,Function} MetricName=(%s)', 'Sum', 300)`, ns,
				strings.Join([]string{`"` + metricname.LoginFailures + `"`, `"` + metricname.IdempotentReplays + `"`}, " OR ")), five)},
			LoginThrottledMetric(five).With(&awscloudwatch.MetricOptions{Label: jsii.String("Throttled logins")})),
	)
}

// eventsRow is the outbox and the webhook deliveries: events published
// (relay), deliveries delivered, retried and dead (delivery worker), the
// outbox's age, the delivery queue's oldest message and the DLQ's depth.
func eventsRow(d awscloudwatch.Dashboard, s settings.Settings) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	five := awscdk.Duration_Minutes(jsii.Number(5))
	label := func(m awscloudwatch.Metric, l string) awscloudwatch.IMetric {
		return m.With(&awscloudwatch.MetricOptions{Label: jsii.String(l)})
	}
	d.AddWidgets(awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String("## Events\nThe outbox relay (events-relay, every minute) and the webhook deliveries (webhooks-deliver, from the delivery queue)."),
		Width:    jsii.Number(24), Height: jsii.Number(1),
	}))
	d.AddWidgets(
		graph("Events published", 6, []awscloudwatch.IMetric{label(EventsMetric(metricname.EventsPublished, "Sum", five), "EventsPublished")}),
		graph("Webhook deliveries", 6, []awscloudwatch.IMetric{
			label(EventsMetric(metricname.DeliveriesDelivered, "Sum", five), "Delivered"),
			label(EventsMetric(metricname.DeliveriesRetried, "Sum", five), "Retried"),
			label(EventsMetric(metricname.DeliveriesDead, "Sum", five), "Dead")}),
		graph("Outbox age (s)", 6, []awscloudwatch.IMetric{label(EventsMetric(metricname.OutboxAgeSeconds, "Maximum", minute), "OutboxAgeSeconds")}),
		graph("Delivery queue", 6, []awscloudwatch.IMetric{
			label(QueueMetric(data.DeliveryQueueName(s), "ApproximateAgeOfOldestMessage", "Maximum", minute), "Oldest message (s)")},
			label(QueueMetric(data.DeadLetterQueueName(s), "ApproximateNumberOfMessagesVisible", "Maximum", minute), "DLQ depth")),
	)
}
