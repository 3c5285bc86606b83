// Package relayenv runs package relay over an app.Env: in this process for
// `make run` and the tests (Start: a relay loop, an in-memory delay queue, no
// event bus), and as the two Lambda functions events-relay and
// webhooks-deliver (ServeRelay, ServeDeliveries) over EventBridge and SQS.
// It is apart from package app so that only those link the AWS SDK's
// EventBridge and SQS clients.
package relayenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"wallets/internal/api"
	"wallets/internal/app"
	"wallets/internal/relay"
	"wallets/internal/webhook"
)

// schedule adapts a webhook.Schedule to the worker's: Delay with jitter,
// MinDelay the shortest the jitter allows (a message back that early is
// due; one back earlier is a duplicate).
type schedule struct{ webhook.Schedule }

func (s schedule) Delay(n int) time.Duration { return s.Schedule.Delay(n, nil) }

func (s schedule) MinDelay(n int) time.Duration {
	return s.Schedule.Delay(n, func() float64 { return 1 })
}

// worker is the delivery worker over the Env's outbox, sending through a
// client held to the Env's URL policy (each attempt bounded by timeout;
// webhook.DefaultTimeout when 0), on schedule s.
func worker(e *app.Env, s webhook.Schedule, timeout time.Duration) *relay.Worker {
	return &relay.Worker{
		Outbox:   e.Events(),
		Sender:   webhook.NewClient(e.WebhookURLs(), timeout),
		Schedule: schedule{s},
		Render:   api.EventBody,
		Log:      e.Obs.Logger(),
	}
}

// Local is the relay and the delivery worker running in this process
// (`make run`, the tests): the same code as the two Lambda functions, with
// an in-memory delay queue in place of SQS and the log in place of the
// event bus.
type Local struct {
	Relay *relay.Relay
	Queue *relay.MemoryQueue
	stop  context.CancelFunc
	done  chan struct{}
}

// Options tune Local; the zero value is `make run`'s.
type Options struct {
	// Poll is how often the relay looks for committed events (default
	// 100ms).
	Poll time.Duration
	// Schedule is the delivery retry schedule (default
	// webhook.LocalSchedule(Config.WebhookRetryBase)).
	Schedule *webhook.Schedule
	// Timeout bounds one delivery attempt (default webhook.DefaultTimeout).
	Timeout time.Duration
	// Grace is how overdue a pending delivery must be before the sweep
	// sends it again (default relay.DefaultGrace).
	Grace time.Duration
}

// Start starts the relay and the delivery worker in this process;
// Close stops them.
func Start(e *app.Env, opts Options) *Local {
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	s := webhook.LocalSchedule(e.Config.WebhookRetryBase)
	if opts.Schedule != nil {
		s = *opts.Schedule
	}
	log := e.Obs.Logger()
	q := relay.NewMemoryQueue(worker(e, s, opts.Timeout), relay.MemoryQueueConfig{Workers: 4, Log: log})
	r := &relay.Relay{Outbox: e.Events(), Bus: relay.LogBus{Log: log}, Queue: q, Render: api.EventBody,
		Grace: opts.Grace, Log: log}
	ctx, stop := context.WithCancel(context.Background())
	l := &Local{Relay: r, Queue: q, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		_ = r.Run(ctx, opts.Poll)
	}()
	return l
}

// Close stops the relay, then the queue's workers (waiting for attempts
// in flight until ctx ends). Deliveries still waiting in the queue are
// pending in the database: the next process's sweep sends them.
func (l *Local) Close(ctx context.Context) error {
	l.stop()
	<-l.done
	return l.Queue.Close(ctx)
}

// The environment of the two event functions in AWS (the CDK app sets
// them).
const (
	// EventBusVar names the EventBridge bus every event is published to.
	EventBusVar = "EVENT_BUS_NAME"
	// DeliveryQueueVar is the URL of the SQS queue of webhook deliveries.
	DeliveryQueueVar = "DELIVERY_QUEUE_URL"
)

// lambdaInit starts the Lambda function named function that needs the
// environment variables names: its Env, the AWS configuration of its
// EventBridge and SQS clients (the Env's, which its Secrets Manager client
// and IAM authentication share), and the variables' values. It exits, as a
// failed init, naming what is missing.
func lambdaInit(function string, names ...string) (*app.Env, aws.Config, []string) {
	fail := func(err string) {
		slog.Error("init failed", "function", function, "error", err)
		os.Exit(1)
	}
	vals := make([]string, len(names))
	for i, n := range names {
		if vals[i] = os.Getenv(n); vals[i] == "" {
			fail(fmt.Sprintf("%s is not set", n))
		}
	}
	e := app.LambdaEnv(function)
	awsCfg, err := e.AWS(context.Background())
	if err != nil {
		fail(err.Error())
	}
	return e, awsCfg, vals
}

// ServeRelay runs the events relay function: on each scheduled invocation
// it relays committed events to the bus and the delivery queue for about a
// minute (relay.RelayHandler).
func ServeRelay() {
	const function = "events-relay"
	e, awsCfg, env := lambdaInit(function, EventBusVar, DeliveryQueueVar)
	r := &relay.Relay{
		Outbox: e.Events(),
		Bus:    &relay.EventBridgeBus{Client: eventbridge.NewFromConfig(awsCfg), BusName: env[0]},
		Queue:  &relay.SQSQueue{Client: sqs.NewFromConfig(awsCfg), URL: env[1]},
		Render: api.EventBody,
		Log:    e.Obs.Logger(),
	}
	lambda.Start((&relay.RelayHandler{Relay: r, Obs: e.Obs}).Handle)
}

// ServeDeliveries runs the webhook delivery function: one attempt per SQS
// message, the message brought back when the next attempt is due
// (relay.SQSHandler), on webhook.AWSSchedule.
func ServeDeliveries() {
	const function = "webhooks-deliver"
	e, awsCfg, env := lambdaInit(function, DeliveryQueueVar)
	h := &relay.SQSHandler{Worker: worker(e, webhook.AWSSchedule, webhook.DefaultTimeout), Client: sqs.NewFromConfig(awsCfg),
		QueueURL: env[0], Obs: e.Obs}
	lambda.Start(h.Handle)
}
