// Package relay carries committed events out of the outbox (the events
// table, see event.Outbox): the Relay publishes every event to the event
// bus and sends one delivery message per matching webhook endpoint to the
// delivery queue; the Worker makes one delivery attempt per message and
// records it, and the queue brings the message back when the schedule says
// another attempt is due.
//
// The same code runs in AWS (EventBridgeBus, SQSQueue, the Lambda handlers
// RelayHandler and SQSHandler) and in the local process (a Relay's Run loop,
// MemoryQueue, and a nil Bus or one that logs). Delivery is at least once:
// the database, not the queue, decides whether an attempt is due, whether a
// delivery is dead and whether a message is a duplicate.
//
// Locally, one process:
//
//	w := &relay.Worker{Outbox: store, Sender: sender, Schedule: schedule, Render: render}
//	q := relay.NewMemoryQueue(w, relay.MemoryQueueConfig{Workers: 4})
//	r := &relay.Relay{Outbox: store, Bus: relay.LogBus{}, Queue: q, Render: render}
//	go r.Run(ctx, 2*time.Second) // and r.Notify() after a movement commits
//	// at shutdown: cancel ctx, then q.Close(shutdownCtx)
//
// In AWS, two functions: the relay, on a schedule every minute, runs
// (&relay.RelayHandler{Relay: &relay.Relay{Outbox: store, Bus:
// &relay.EventBridgeBus{...}, Queue: &relay.SQSQueue{...}, Render:
// render}}).Handle; the delivery worker, on the queue's event source
// mapping (ReportBatchItemFailures), runs (&relay.SQSHandler{Worker:
// &relay.Worker{...}, Client: sqsClient, QueueURL: url}).Handle.
//
// The package knows neither the events' JSON shape (Render, injected by the
// API's owner) nor how a webhook is sent and signed (Sender) or how long to
// wait between attempts (Schedule).
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"wallets/internal/event"
)

// Message is one event as the bus carries it.
type Message struct {
	ID      uuid.UUID
	Type    event.Type
	Created time.Time
	// Body is the event rendered (Render): the JSON webhooks receive too.
	Body []byte
}

// Bus is where every relayed event is published, for operators' consumers.
type Bus interface {
	// Publish publishes msgs; an error means some may not have been
	// published (the relay publishes the whole batch again: duplicates are
	// acceptable, losses are not).
	Publish(ctx context.Context, msgs []Message) error
}

// DeliveryRef is a delivery queue's message: which delivery to attempt.
type DeliveryRef struct {
	ID uuid.UUID `json:"id"`
	// Attempt is the attempt the message was sent for (1 from the relay),
	// 0 when unknown (a resent overdue delivery). A queue brings a retried
	// message back as it was sent, so it is informational: the delivery's
	// recorded attempts decide.
	Attempt int `json:"attempt,omitempty"`
}

// LogBus is the local run's bus: it logs each event's id and type at
// Debug level (nil Log: slog.Default()) and never fails.
type LogBus struct{ Log *slog.Logger }

// Publish implements Bus.
func (b LogBus) Publish(ctx context.Context, msgs []Message) error {
	l := b.Log
	if l == nil {
		l = slog.Default()
	}
	for _, m := range msgs {
		l.DebugContext(ctx, "event published", slog.String("event", m.ID.String()), slog.String("type", string(m.Type)))
	}
	return nil
}

// Queue is the delivery queue.
type Queue interface {
	// Send enqueues refs, to be handed to the Worker after delay.
	Send(ctx context.Context, refs []DeliveryRef, delay time.Duration) error
}

// RenderFunc renders an event as the JSON its receivers get
// ({"id","type","created","data":{...}}).
type RenderFunc func(event.Event) ([]byte, error)

// Defaults of the Relay's zero fields.
const (
	DefaultBatch      = 100
	DefaultSweepEvery = time.Minute
	DefaultGrace      = 5 * time.Minute
	DefaultPurgeEvery = time.Hour
	sweepLimit        = 500
	purgeLimit        = 1000
	purgeRounds       = 10 // at most purgeRounds*purgeLimit events per Purge
)

// Relay moves committed events from the outbox to the bus and the queue.
// Its methods are safe for concurrent use; several relays (processes) may
// run at once (Outbox.Relay skips events another one holds).
type Relay struct {
	Outbox event.Outbox
	// Bus receives every event; nil publishes to no bus (local runs).
	Bus Bus
	// Queue receives one DeliveryRef per delivery the relay creates.
	Queue  Queue
	Render RenderFunc
	// Batch is how many events one Once relays at most (DefaultBatch).
	Batch int

	// SweepEvery is how often Run (and RelayHandler) resend overdue
	// deliveries (DefaultSweepEvery); Grace is how late a delivery's next
	// attempt must be before it counts as lost (DefaultGrace): more than
	// the longest a queue may hold a due message.
	SweepEvery, Grace time.Duration
	// PurgeEvery is how often old events are purged (DefaultPurgeEvery).
	PurgeEvery time.Duration

	// Log receives the errors Run and the handlers retry; nil means
	// slog.Default().
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	initOnce sync.Once
	notify   chan struct{}

	mu                   sync.Mutex
	lastSweep, lastPurge time.Time
}

func (r *Relay) init() {
	r.initOnce.Do(func() { r.notify = make(chan struct{}, 1) })
}

func (r *Relay) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Relay) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func (r *Relay) batch() int {
	if r.Batch > 0 {
		return r.Batch
	}
	return DefaultBatch
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Notify wakes Run now rather than at its next tick (a money movement just
// committed an event). It never blocks.
func (r *Relay) Notify() {
	r.init()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Once relays one batch of unpublished events: it renders them and
// publishes them to the bus, and the outbox marks them published, with
// their deliveries created, only when that succeeded (on an error nothing
// is marked and the same events come again next time); once that has
// committed it sends the deliveries to the queue (no delay), so that a
// worker never looks up a delivery not yet committed. A failed send leaves
// the deliveries pending: the sweep sends them once Grace overdue. It
// returns how many events it relayed.
func (r *Relay) Once(ctx context.Context) (int, error) {
	if r.Render == nil || r.Queue == nil {
		return 0, errors.New("relay: Render and Queue are required")
	}
	var refs []DeliveryRef
	n, err := r.Outbox.Relay(ctx, r.batch(), func(ctx context.Context, batches []event.Batch) error {
		var err error
		refs, err = r.publish(ctx, batches)
		return err
	})
	if err != nil || len(refs) == 0 {
		return n, err
	}
	if err := r.Queue.Send(ctx, refs, 0); err != nil {
		return n, fmt.Errorf("send %d deliveries (the sweep sends them once overdue): %w", len(refs), err)
	}
	return n, nil
}

// publish renders batches and publishes them to the bus; it returns their
// deliveries, for the queue.
func (r *Relay) publish(ctx context.Context, batches []event.Batch) ([]DeliveryRef, error) {
	msgs := make([]Message, 0, len(batches))
	var refs []DeliveryRef
	for _, b := range batches {
		body, err := r.Render(b.Event)
		if err != nil {
			return nil, fmt.Errorf("render event %s: %w", b.Event.ID, err)
		}
		msgs = append(msgs, Message{ID: b.Event.ID, Type: b.Event.Type, Created: b.Event.Created, Body: body})
		for _, id := range b.Deliveries {
			refs = append(refs, DeliveryRef{ID: id, Attempt: 1})
		}
	}
	if r.Bus != nil && len(msgs) > 0 {
		if err := r.Bus.Publish(ctx, msgs); err != nil {
			return nil, fmt.Errorf("publish to the bus: %w", err)
		}
	}
	return refs, nil
}

// Drain relays batches until fewer than a full batch is left, ctx ends or
// an error happens. It returns how many events it relayed.
func (r *Relay) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.Once(ctx)
		total += n
		if err != nil || n < r.batch() || ctx.Err() != nil {
			return total, err
		}
	}
}

// Sweep resends to the queue (no delay) the pending deliveries whose next
// attempt is more than Grace past due: their message was lost (a local
// process restarted, a message expired). It returns how many it resent.
func (r *Relay) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		ids, err := r.Outbox.Overdue(ctx, orDefault(r.Grace, DefaultGrace), sweepLimit)
		if err != nil {
			return total, fmt.Errorf("overdue deliveries: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		refs := make([]DeliveryRef, len(ids))
		for i, id := range ids {
			refs[i] = DeliveryRef{ID: id}
		}
		// Overdue pushed their next attempt by Grace: a failed send is
		// swept again then.
		if err := r.Queue.Send(ctx, refs, 0); err != nil {
			return total, fmt.Errorf("resend overdue deliveries: %w", err)
		}
		total += len(ids)
		if len(ids) < sweepLimit {
			return total, nil
		}
	}
}

// Purge deletes the events past their retention (see Outbox.Purge), up to
// a bound per call. It returns how many went.
func (r *Relay) Purge(ctx context.Context) (int64, error) {
	var total int64
	for range purgeRounds {
		n, err := r.Outbox.Purge(ctx, purgeLimit)
		total += n
		if err != nil {
			return total, fmt.Errorf("purge events: %w", err)
		}
		if n < purgeLimit {
			break
		}
	}
	return total, nil
}

// Maintain sweeps (Sweep) when SweepEvery has passed since the last sweep,
// and purges (Purge) when PurgeEvery has passed since the last purge; the
// first call does both. Errors are logged; a failed step is tried again
// at its next turn.
func (r *Relay) Maintain(ctx context.Context) {
	now := r.now()
	r.mu.Lock()
	sweep := r.lastSweep.IsZero() || now.Sub(r.lastSweep) >= orDefault(r.SweepEvery, DefaultSweepEvery)
	purge := r.lastPurge.IsZero() || now.Sub(r.lastPurge) >= orDefault(r.PurgeEvery, DefaultPurgeEvery)
	if sweep {
		r.lastSweep = now
	}
	if purge {
		r.lastPurge = now
	}
	r.mu.Unlock()
	if sweep {
		if n, err := r.Sweep(ctx); err != nil {
			r.log().ErrorContext(ctx, "relay: sweep overdue deliveries", slog.String("error", err.Error()))
		} else if n > 0 {
			r.log().WarnContext(ctx, "relay: resent overdue deliveries", slog.Int("deliveries", n))
		}
	}
	if purge {
		if _, err := r.Purge(ctx); err != nil {
			r.log().ErrorContext(ctx, "relay: purge events", slog.String("error", err.Error()))
		}
	}
}

// Run relays until ctx ends: it drains the outbox, maintains (Maintain),
// then waits interval or until Notify. Errors (a database or bus outage)
// are logged and retried at the next tick: they delay events, never drop
// them. It returns ctx's error.
func (r *Relay) Run(ctx context.Context, interval time.Duration) error {
	r.init()
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		if _, err := r.Drain(ctx); err != nil && ctx.Err() == nil {
			r.log().ErrorContext(ctx, "relay: relay events", slog.String("error", err.Error()))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.Maintain(ctx)
		t.Reset(interval)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.notify:
		case <-t.C:
		}
	}
}
