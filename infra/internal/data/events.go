package data

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/settings"
)

// The events' sizing (issue #18): the delivery function's timeout bounds an
// attempt (10 s) plus its database calls; the queue hides a message in
// flight for 6× that, AWS's advice for a queue feeding Lambda.
const (
	// DeliverTimeoutSeconds is the webhooks-deliver function's timeout.
	DeliverTimeoutSeconds = 30
	// DeliveryVisibilitySeconds is the delivery queue's visibility
	// timeout.
	DeliveryVisibilitySeconds = 6 * DeliverTimeoutSeconds
	// DeliveryMaxReceives is how often a message may be received before
	// the dead-letter queue takes it. The database decides when a delivery
	// is dead (after its 12th attempt) and the function then deletes the
	// message; the DLQ only catches a message the function cannot handle
	// at all (a poison message), so the bound is well above 12.
	DeliveryMaxReceives = 30
)

// Events are where the events relay sends what it takes out of the outbox:
// the stage's custom event bus (every event, Source "wallets", DetailType
// the event's type, for operators' own rules) and the webhook delivery
// queue (one message per matching endpoint) with its dead-letter queue.
type Events struct {
	constructs.Construct
	Bus         awsevents.EventBus
	Deliveries  awssqs.Queue
	DeadLetters awssqs.Queue
}

// EventBusName, DeliveryQueueName and DeadLetterQueueName are the literal
// names the Monitoring stack watches.
func EventBusName(s settings.Settings) string        { return s.Name("events") }
func DeliveryQueueName(s settings.Settings) string   { return s.Name("deliveries") }
func DeadLetterQueueName(s settings.Settings) string { return s.Name("deliveries-dlq") }

// NewEvents builds the bus and the queues. Both queues are encrypted with
// SQS-managed keys (so the functions need no KMS grant) and refuse
// requests without TLS.
func NewEvents(scope constructs.Construct, id string, s settings.Settings) *Events {
	c := constructs.NewConstruct(scope, jsii.String(id))
	e := &Events{Construct: c}
	e.Bus = awsevents.NewEventBus(c, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(EventBusName(s)),
		Description:  jsii.String("Wallets " + s.Stage + ": every committed event (Source wallets, DetailType the event type)"),
	})
	e.DeadLetters = awssqs.NewQueue(c, jsii.String("DeadLetters"), &awssqs.QueueProps{
		QueueName:       jsii.String(DeadLetterQueueName(s)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	e.Deliveries = awssqs.NewQueue(c, jsii.String("Deliveries"), &awssqs.QueueProps{
		QueueName:         jsii.String(DeliveryQueueName(s)),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(DeliveryVisibilitySeconds)),
		// The retry schedule spans about 26 hours; 4 days leaves room for
		// an outage of the function.
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{Queue: e.DeadLetters, MaxReceiveCount: jsii.Number(DeliveryMaxReceives)},
	})
	return e
}
