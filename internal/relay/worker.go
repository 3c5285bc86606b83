package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wallets/internal/event"
	"wallets/internal/obs"
)

// Sender makes one delivery attempt: it POSTs body, signed with secret, to
// url, and tells how it went. It never fails otherwise: a refused
// connection, a timeout, a URL its policy forbids are failed attempts.
type Sender interface {
	Send(ctx context.Context, url, secret, eventID string, body []byte) event.Attempt
}

// Schedule is the retry policy: Delay(n) is how long after attempt n (1
// for the first) the next one is due, Dead(n) whether a failed attempt n
// is the last.
type Schedule interface {
	Delay(attempt int) time.Duration
	Dead(attempt int) bool
}

// MinDelayer is a Schedule whose Delay is jittered: MinDelay(n) is the
// shortest Delay(n) ever is. The Worker judges a message early against it
// (against Delay otherwise), so that a message brought back at a jittered
// delay is never taken for an early one.
type MinDelayer interface {
	MinDelay(attempt int) time.Duration
}

// Handler handles one delivery message (the Worker; a queue calls it).
type Handler interface {
	Handle(ctx context.Context, ref DeliveryRef) (retryAfter time.Duration, err error)
}

// Tunables of the Worker.
const (
	// earlyTolerance: a message up to this early is attempted anyway (a
	// queue's delays are whole seconds, clocks drift a little).
	earlyTolerance = time.Second
)

// Worker makes delivery attempts, one per message, and records them.
type Worker struct {
	Outbox   event.Outbox
	Sender   Sender
	Schedule Schedule
	Render   RenderFunc
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives one line per failed attempt and per message whose
	// delivery is gone; nil means slog.Default().
	Log *slog.Logger
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) minDelay(n int) time.Duration {
	if m, ok := w.Schedule.(MinDelayer); ok {
		return m.MinDelay(n)
	}
	return w.Schedule.Delay(n)
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// Handle handles the message ref. It returns 0, nil when the message is
// done (delivered, dead-lettered, a duplicate, or its delivery or endpoint
// is gone): the queue drops it. It returns retryAfter > 0 when an attempt
// is due then: the queue hands the message back after it. An error means a
// fault (the database is unreachable): the queue must hand the message
// back as it is, soon.
//
// A message that arrives before its delivery's next attempt is due (a
// queue's duplicate, one whose visibility change failed) makes no attempt:
// it is returned with the time left. The next attempt is taken to be due
// Schedule.Delay (MinDelay, see MinDelayer) after the delivery's Updated,
// which the store sets when it records an attempt.
func (w *Worker) Handle(ctx context.Context, ref DeliveryRef) (time.Duration, error) {
	now := w.now()
	d, err := w.Outbox.Delivery(ctx, ref.ID)
	if errors.Is(err, event.ErrNotFound) {
		// The endpoint was deleted, or the delivery purged: the relay
		// sends a delivery's message only once its transaction committed
		// (Relay.Once), so the delivery is not merely invisible yet.
		w.log().InfoContext(ctx, "webhook delivery not found, message dropped",
			slog.String("delivery", ref.ID.String()), slog.Int("attempt", ref.Attempt))
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load delivery %s: %w", ref.ID, err)
	}
	if d.Status != event.Pending {
		return 0, nil
	}
	if d.Attempts > 0 {
		due := d.Updated.Add(w.minDelay(d.Attempts))
		if wait := due.Sub(now); wait > earlyTolerance {
			return wait, nil
		}
	}

	n := d.Attempts + 1
	var a event.Attempt
	body, err := w.Render(d.Event)
	if err != nil {
		// A bug, not the receiver's fault; the attempt fails so that the
		// delivery ends dead with the reason rather than loop.
		a = event.Attempt{Error: "render event: " + err.Error()}
	} else {
		a = w.Sender.Send(ctx, d.Endpoint.URL, d.Secret, d.Event.ID.String(), body)
	}
	now = w.now()
	delay := w.Schedule.Delay(n)
	dead := !a.Delivered() && w.Schedule.Dead(n)
	recorded, err := w.Outbox.RecordAttempt(ctx, d.ID, n, a, now.Add(delay), dead)
	if err != nil {
		return 0, fmt.Errorf("record attempt %d of delivery %s: %w", n, d.ID, err)
	}
	if !recorded {
		return 0, nil // another copy of the message made this attempt
	}
	switch {
	case a.Delivered():
		obs.Count(ctx, obs.MetricDeliveriesDelivered, 1)
		return 0, nil
	case dead:
		obs.Count(ctx, obs.MetricDeliveriesDead, 1)
		w.log().WarnContext(ctx, "webhook delivery dead",
			slog.String("delivery", d.ID.String()), slog.String("event", d.Event.ID.String()),
			slog.Int("attempt", n), slog.Int("status", a.Status), slog.String("error", a.Error))
		return 0, nil
	default:
		obs.Count(ctx, obs.MetricDeliveriesRetried, 1)
		w.log().InfoContext(ctx, "webhook attempt failed",
			slog.String("delivery", d.ID.String()), slog.String("event", d.Event.ID.String()),
			slog.Int("attempt", n), slog.Int("status", a.Status), slog.String("error", a.Error),
			slog.Duration("retry_after", delay))
		return max(delay, time.Millisecond), nil
	}
}
