package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// awsBatch is the most entries PutEvents and SendMessageBatch take.
const awsBatch = 10

// EventBridgeAPI is the part of *eventbridge.Client EventBridgeBus uses.
type EventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// DefaultSource is the events' Source on the bus.
const DefaultSource = "wallets"

// EventBridgeBus publishes events to an EventBridge bus, ten per PutEvents:
// Source (DefaultSource), DetailType the event's type, Detail its rendered
// body, Time its creation. A rejected entry fails Publish (the relay
// publishes the batch again: the bus may see an event twice).
type EventBridgeBus struct {
	Client EventBridgeAPI
	// BusName is the bus's name or ARN.
	BusName string
	// Source (DefaultSource when empty).
	Source string
}

// Publish implements Bus.
func (b *EventBridgeBus) Publish(ctx context.Context, msgs []Message) error {
	source := b.Source
	if source == "" {
		source = DefaultSource
	}
	for start := 0; start < len(msgs); start += awsBatch {
		chunk := msgs[start:min(start+awsBatch, len(msgs))]
		entries := make([]ebtypes.PutEventsRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = ebtypes.PutEventsRequestEntry{
				EventBusName: aws.String(b.BusName),
				Source:       aws.String(source),
				DetailType:   aws.String(string(m.Type)),
				Detail:       aws.String(string(m.Body)),
			}
			if !m.Created.IsZero() {
				entries[i].Time = aws.Time(m.Created)
			}
		}
		out, err := b.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("eventbridge PutEvents: %w", err)
		}
		if out.FailedEntryCount == 0 {
			continue
		}
		var failed []string
		for i, e := range out.Entries {
			if e.ErrorCode == nil && e.ErrorMessage == nil {
				continue
			}
			id := "?"
			if i < len(chunk) {
				id = chunk[i].ID.String()
			}
			failed = append(failed, fmt.Sprintf("event %s: %s: %s", id, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage)))
		}
		return fmt.Errorf("eventbridge PutEvents: %d of %d entries failed: %s", out.FailedEntryCount, len(chunk), strings.Join(failed, "; "))
	}
	return nil
}

// SQSAPI is the part of *sqs.Client SQSQueue and SQSHandler use.
type SQSAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// maxDelaySeconds is SQS's longest message delay. A longer one is cut to
// it: the Worker hands back a message that came early with the time left.
const maxDelaySeconds = 900

// SQSQueue is the delivery queue in AWS: each DeliveryRef is one message,
// its JSON the body, sent ten per SendMessageBatch.
type SQSQueue struct {
	Client SQSAPI
	// URL is the queue's URL.
	URL string
}

// Send implements Queue. A message SQS rejects fails Send (the relay sends
// the batch again: the queue may carry a delivery twice, which the Worker
// recognises).
func (q *SQSQueue) Send(ctx context.Context, refs []DeliveryRef, delay time.Duration) error {
	secs := int32(min(max(0, (delay+time.Second-1)/time.Second), maxDelaySeconds))
	for start := 0; start < len(refs); start += awsBatch {
		chunk := refs[start:min(start+awsBatch, len(refs))]
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(chunk))
		for i, r := range chunk {
			body, err := json.Marshal(r)
			if err != nil {
				return err
			}
			entries[i] = sqstypes.SendMessageBatchRequestEntry{
				Id:           aws.String(strconv.Itoa(i)),
				MessageBody:  aws.String(string(body)),
				DelaySeconds: secs,
			}
		}
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			return fmt.Errorf("sqs SendMessageBatch: %w", err)
		}
		if len(out.Failed) == 0 {
			continue
		}
		failed := make([]string, 0, len(out.Failed))
		for _, f := range out.Failed {
			id := "?"
			if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(chunk) {
				id = chunk[i].ID.String()
			}
			failed = append(failed, fmt.Sprintf("delivery %s: %s: %s", id, aws.ToString(f.Code), aws.ToString(f.Message)))
		}
		return fmt.Errorf("sqs SendMessageBatch: %d of %d messages failed: %s", len(out.Failed), len(chunk), strings.Join(failed, "; "))
	}
	return nil
}

// ParseDeliveryRef parses a delivery message's body.
func ParseDeliveryRef(body string) (DeliveryRef, error) {
	var r DeliveryRef
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return DeliveryRef{}, fmt.Errorf("delivery message: %w", err)
	}
	if r.ID == [16]byte{} {
		return DeliveryRef{}, errors.New("delivery message: no id")
	}
	return r, nil
}
