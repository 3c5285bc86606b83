package relay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"wallets/internal/obs"
)

// maxVisibility is the longest visibility timeout SQS takes (12 hours from
// the receive), less a margin for the time since the receive. A longer
// retry delay brings the message back early: the Worker hands it back
// again with the time left.
const maxVisibility = 12*time.Hour - time.Minute

// VisibilityAPI is the part of *sqs.Client SQSHandler uses.
type VisibilityAPI interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// SQSHandler is the delivery worker's Lambda handler, for an SQS event
// source mapping with ReportBatchItemFailures on:
//
//	lambda.Start(h.Handle)
//
// Each record is one DeliveryRef, handled by Worker (the records of a batch
// concurrently). A record that is done is not reported: SQS deletes it. One
// that is to be retried gets its visibility timeout set to the retry delay
// (at most about 12 hours) and is reported as a batch item failure, so that
// SQS delivers it again then; one that faulted (the database unreachable)
// is reported without a change, so that it comes back after the queue's
// visibility timeout; one whose body is not a DeliveryRef is reported too,
// and ends in the dead-letter queue.
//
// Every retry is a receive, so the queue's redrive policy must allow more
// receives (maxReceiveCount) than the schedule has attempts, with room for
// faults and for delays past 12 hours: the database, not the receive
// count, decides when a delivery is dead; the dead-letter queue only
// catches poison messages and messages that faulted past that count (a
// delivery still pending whose message went there is resent by the relay's
// sweep once it is overdue, see Relay.Sweep). As AWS advises, make the
// queue's visibility timeout at least six times the function's timeout, and
// the function's timeout longer than one attempt (the Sender's timeout)
// plus the database's calls: the records of a batch are handled at once.
type SQSHandler struct {
	Worker Handler
	Client VisibilityAPI
	// QueueURL is the queue's URL; empty derives it from each record's
	// event source ARN.
	QueueURL string
	// Obs writes the invocation's line (and its metrics); nil means
	// obs.Default().
	Obs *obs.Obs
}

// Handle handles one batch of SQS messages.
func (h *SQSHandler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	ctx, span := h.Obs.Begin(ctx, obs.Invocation{Route: "sqs:deliveries"})
	var (
		mu     sync.Mutex
		resp   events.SQSEventResponse
		faults []error
		wg     sync.WaitGroup
	)
	for _, rec := range ev.Records {
		wg.Go(func() {
			retry, err := h.record(ctx, rec)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				faults = append(faults, fmt.Errorf("message %s: %w", rec.MessageId, err))
			}
			if err != nil || retry > 0 {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			}
		})
	}
	wg.Wait()
	status := 200
	fault := errors.Join(faults...)
	if fault != nil {
		status = 500
	}
	span.Finish(ctx, status, fault, "deliveries")
	return resp, nil
}

// record handles one message: retry > 0 to have it back then, an error
// for a fault.
func (h *SQSHandler) record(ctx context.Context, rec events.SQSMessage) (_ time.Duration, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	ref, err := ParseDeliveryRef(rec.Body)
	if err != nil {
		return 0, err
	}
	retry, err := h.Worker.Handle(ctx, ref)
	if err != nil || retry <= 0 {
		return 0, err
	}
	secs := int32(min((retry+time.Second-1)/time.Second, maxVisibility/time.Second))
	url := h.QueueURL
	if url == "" {
		url = queueURL(rec.EventSourceARN)
	}
	if _, err := h.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(url),
		ReceiptHandle:     aws.String(rec.ReceiptHandle),
		VisibilityTimeout: secs,
	}); err != nil {
		// It comes back after the queue's visibility timeout instead,
		// and the Worker hands it back again until the attempt is due.
		obs.Warn(ctx, "change message visibility", err)
	}
	return retry, nil
}

// queueURL derives a queue's URL from its ARN
// (arn:aws:sqs:region:account:name).
func queueURL(arn string) string {
	p := strings.Split(arn, ":")
	if len(p) != 6 {
		return arn
	}
	host := "sqs." + p[3] + ".amazonaws.com"
	if p[1] == "aws-cn" {
		host += ".cn"
	}
	return "https://" + host + "/" + p[4] + "/" + p[5]
}

// Defaults of RelayHandler's zero fields.
const (
	DefaultWindow = 50 * time.Second
	DefaultPoll   = time.Second
	// deadlineMargin is left of the invocation's time when it stops.
	deadlineMargin = 5 * time.Second
)

// RelayHandler is the relay's Lambda handler, for a schedule that invokes
// it every minute:
//
//	lambda.Start(h.Handle)
//
// It relays for Window (default 50 s, stopping earlier before the
// invocation's deadline), draining the outbox every Poll (default 1 s), so
// that an event waits about a second, and maintains (Relay.Maintain) once.
// Invocations that overlap do no harm: the outbox skips events another
// relay holds. Its errors are the invocation's line's (a 5xx), never its
// result: the next schedule is the retry.
type RelayHandler struct {
	Relay        *Relay
	Window, Poll time.Duration
	// Obs writes the invocation's line (and its metrics); nil means
	// obs.Default().
	Obs *obs.Obs
}

// Handle runs one invocation.
func (h *RelayHandler) Handle(ctx context.Context) error {
	start := time.Now()
	ctx, span := h.Obs.Begin(ctx, obs.Invocation{Route: "schedule:relay"})
	defer func() {
		if p := recover(); p != nil {
			span.Recovered(p)
			span.Finish(ctx, 500, nil, "relay")
			panic(p)
		}
	}()
	end := start.Add(orDefault(h.Window, DefaultWindow))
	if dl, ok := ctx.Deadline(); ok && dl.Add(-deadlineMargin).Before(end) {
		end = dl.Add(-deadlineMargin)
	}
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()

	if age, err := h.Relay.Outbox.OutboxAge(runCtx); err == nil {
		obs.Metric(ctx, obs.MetricOutboxAgeSeconds, obs.UnitNone, age.Seconds(), nil)
	}
	poll := orDefault(h.Poll, DefaultPoll)
	var (
		published int
		lastErr   error
		failures  int
	)
	maintained := false
	for {
		n, err := h.Relay.Drain(runCtx)
		published += n
		if err != nil && runCtx.Err() == nil {
			lastErr = err
			failures++
		}
		if !maintained && runCtx.Err() == nil {
			h.Relay.Maintain(runCtx)
			maintained = true
		}
		if runCtx.Err() != nil || time.Until(end) < poll {
			break
		}
		select {
		case <-runCtx.Done():
		case <-time.After(poll):
		}
	}
	obs.Count(ctx, obs.MetricEventsPublished, float64(published))
	status := 200
	if lastErr != nil {
		status = 500
		lastErr = fmt.Errorf("%d failed relay rounds, the last: %w", failures, lastErr)
	}
	span.Finish(ctx, status, lastErr, "relay")
	return nil
}
