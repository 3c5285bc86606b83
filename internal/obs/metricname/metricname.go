// Package metricname holds the CloudWatch namespace and the names of the
// metrics package obs emits: obs declares its Namespace and Metric…
// constants from these, and says there what each metric counts. It imports
// nothing, so the CDK app in infra/, which builds the dashboard and the
// alarms on these names, links none of obs's runtime dependencies
// (aws-lambda-go).
package metricname

// Namespace is the CloudWatch namespace of every metric (obs.Namespace).
const Namespace = "Wallets"

// The metrics of every invocation (obs.MetricRequests, MetricLatency,
// Metric4xx, Metric5xx).
const (
	Requests  = "Requests"
	Latency   = "Latency"
	Status4xx = "4xx"
	Status5xx = "5xx"
)

// The handlers' business metrics.
const (
	AmountMoved       = "AmountMoved"
	RejectedMovements = "RejectedMovements"
	IdempotentReplays = "IdempotentReplays"
	LoginFailures     = "LoginFailures"
	LoginThrottled    = "LoginThrottled"
)

// The events relay's metrics.
const (
	EventsPublished     = "EventsPublished"
	DeliveriesDelivered = "DeliveriesDelivered"
	DeliveriesRetried   = "DeliveriesRetried"
	DeliveriesDead      = "DeliveriesDead"
	OutboxAgeSeconds    = "OutboxAgeSeconds"
)
