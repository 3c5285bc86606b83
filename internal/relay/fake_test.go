package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"wallets/internal/event"
	"wallets/internal/wallet"
)

// TestMain quiets the package's logs (failed attempts, retried faults):
// the tests check outcomes, not lines.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// errDown is the fakes' fault.
var errDown = errors.New("database unreachable")

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeOutbox is an in-memory event.Outbox following the interface's
// contract: each event lists the endpoints its deliveries go to.
type fakeOutbox struct {
	now func() time.Time

	mu         sync.Mutex
	events     []*fakeEvent
	deliveries map[uuid.UUID]*fakeDelivery
	attempts   []recorded // every RecordAttempt that changed something
	purges     int
	// faults makes the next calls of an operation fail ("Relay",
	// "Delivery", "RecordAttempt", "Overdue", "OutboxAge").
	faults map[string]int
}

type fakeEvent struct {
	ev        event.Event
	endpoints []event.Endpoint
	published bool
}

type fakeDelivery struct {
	d    event.Delivery
	next time.Time
}

type recorded struct {
	ID      uuid.UUID
	N       int
	Attempt event.Attempt
	Dead    bool
}

func newFakeOutbox(now func() time.Time) *fakeOutbox {
	if now == nil {
		now = time.Now
	}
	return &fakeOutbox{now: now, deliveries: map[uuid.UUID]*fakeDelivery{}, faults: map[string]int{}}
}

// add adds an unpublished event of type t with deliveries to endpoints
// (one each) and returns it.
func (o *fakeOutbox) add(t event.Type, endpoints ...event.Endpoint) event.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	ev := event.Event{
		ID: uuid.New(), Type: t, Created: o.now(), Customer: 1,
		Transaction: wallet.Transaction{UUID: uuid.New()},
	}
	o.events = append(o.events, &fakeEvent{ev: ev, endpoints: endpoints})
	return ev
}

func endpoint(url string) event.Endpoint {
	return event.Endpoint{ID: uuid.New(), Owner: 1, URL: url}
}

func (o *fakeOutbox) fail(op string, times int) {
	o.mu.Lock()
	o.faults[op] = times
	o.mu.Unlock()
}

func (o *fakeOutbox) faultLocked(op string) error {
	if o.faults[op] > 0 {
		o.faults[op]--
		return fmt.Errorf("%s: %w", op, errDown)
	}
	return nil
}

func (o *fakeOutbox) unpublished() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, e := range o.events {
		if !e.published {
			n++
		}
	}
	return n
}

func (o *fakeOutbox) delivery(id uuid.UUID) (event.Delivery, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	d, ok := o.deliveries[id]
	if !ok {
		return event.Delivery{}, false
	}
	return d.d, true
}

func (o *fakeOutbox) recordedAttempts() []recorded {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.attempts)
}

func (o *fakeOutbox) Relay(ctx context.Context, limit int, publish func(context.Context, []event.Batch) error) (int, error) {
	o.mu.Lock()
	if err := ctx.Err(); err != nil {
		o.mu.Unlock()
		return 0, err
	}
	if err := o.faultLocked("Relay"); err != nil {
		o.mu.Unlock()
		return 0, err
	}
	var taken []*fakeEvent
	var batches []event.Batch
	staged := map[uuid.UUID]*fakeDelivery{}
	for _, e := range o.events {
		if len(taken) == limit {
			break
		}
		if e.published {
			continue
		}
		taken = append(taken, e)
		b := event.Batch{Event: e.ev}
		for _, ep := range e.endpoints {
			id := uuid.New()
			staged[id] = &fakeDelivery{
				d:    event.Delivery{ID: id, Endpoint: ep, Secret: "whsec_" + ep.ID.String(), Event: e.ev, Status: event.Pending, Updated: o.now()},
				next: o.now(),
			}
			b.Deliveries = append(b.Deliveries, id)
		}
		batches = append(batches, b)
	}
	o.mu.Unlock()
	if len(taken) == 0 {
		return 0, nil
	}
	// The transaction: uncommitted deliveries are invisible until publish
	// returns nil.
	if err := publish(ctx, batches); err != nil {
		return 0, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range taken {
		e.published = true
	}
	for id, d := range staged {
		o.deliveries[id] = d
	}
	return len(taken), nil
}

func (o *fakeOutbox) OutboxAge(ctx context.Context) (time.Duration, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.faultLocked("OutboxAge"); err != nil {
		return 0, err
	}
	for _, e := range o.events {
		if !e.published {
			return o.now().Sub(e.ev.Created), nil
		}
	}
	return 0, nil
}

func (o *fakeOutbox) Delivery(ctx context.Context, id uuid.UUID) (event.Delivery, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.faultLocked("Delivery"); err != nil {
		return event.Delivery{}, err
	}
	d, ok := o.deliveries[id]
	if !ok {
		return event.Delivery{}, event.ErrNotFound
	}
	return d.d, nil
}

func (o *fakeOutbox) RecordAttempt(ctx context.Context, id uuid.UUID, n int, a event.Attempt, next time.Time, dead bool) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.faultLocked("RecordAttempt"); err != nil {
		return false, err
	}
	d, ok := o.deliveries[id]
	if !ok || d.d.Status != event.Pending || n != d.d.Attempts+1 {
		return false, nil
	}
	d.d.Attempts = n
	d.d.LastError = a.Error
	d.d.Updated = o.now()
	switch {
	case a.Delivered():
		d.d.Status = event.Delivered
	case dead:
		d.d.Status = event.Dead
	default:
		d.next = next
	}
	o.attempts = append(o.attempts, recorded{ID: id, N: n, Attempt: a, Dead: dead})
	return true, nil
}

func (o *fakeOutbox) Overdue(ctx context.Context, grace time.Duration, limit int) ([]uuid.UUID, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.faultLocked("Overdue"); err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	now := o.now()
	for id, d := range o.deliveries {
		if len(ids) == limit {
			break
		}
		if d.d.Status == event.Pending && d.next.Add(grace).Before(now) {
			d.next = now.Add(grace)
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (o *fakeOutbox) Purge(ctx context.Context, limit int) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.purges++
	return 0, nil
}

// fakeBus records what it is given; err makes Publish fail.
type fakeBus struct {
	mu   sync.Mutex
	msgs []Message
	err  error
}

func (b *fakeBus) Publish(ctx context.Context, msgs []Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	b.msgs = append(b.msgs, msgs...)
	return nil
}

func (b *fakeBus) published() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

// fakeQueue records what it is sent; err makes Send fail.
type fakeQueue struct {
	mu     sync.Mutex
	refs   []DeliveryRef
	delays []time.Duration
	err    error
	sent   chan struct{} // signalled (non-blocking) on each Send
}

func newFakeQueue() *fakeQueue { return &fakeQueue{sent: make(chan struct{}, 100)} }

func (q *fakeQueue) Send(ctx context.Context, refs []DeliveryRef, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.refs = append(q.refs, refs...)
	for range refs {
		q.delays = append(q.delays, delay)
	}
	select {
	case q.sent <- struct{}{}:
	default:
	}
	return nil
}

func (q *fakeQueue) sentRefs() []DeliveryRef {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.refs)
}

// render renders an event as the API would, close enough.
func render(e event.Event) ([]byte, error) {
	return json.Marshal(map[string]any{"id": e.ID, "type": e.Type, "created": e.Created, "data": map[string]any{"uuid": e.Transaction.UUID}})
}

// fakeSender answers each attempt with the next status of its script (the
// last one once the script is done), recording the calls.
type fakeSender struct {
	mu     sync.Mutex
	script []int
	calls  []sent
	// during, if set, runs inside Send (to race another copy).
	during func()
}

type sent struct {
	URL, Secret, EventID string
	Body                 []byte
}

func (s *fakeSender) Send(ctx context.Context, url, secret, eventID string, body []byte) event.Attempt {
	s.mu.Lock()
	s.calls = append(s.calls, sent{url, secret, eventID, body})
	status := 200
	if len(s.script) > 0 {
		status = s.script[0]
		if len(s.script) > 1 {
			s.script = s.script[1:]
		}
	}
	during := s.during
	s.mu.Unlock()
	if during != nil {
		during()
	}
	if status >= 200 && status < 300 {
		return event.Attempt{Status: status}
	}
	return event.Attempt{Status: status, Error: fmt.Sprintf("answered %d", status)}
}

func (s *fakeSender) sentCalls() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// schedule waits step*n after attempt n and gives up after attempts.
type schedule struct {
	step     time.Duration
	attempts int
}

func (s schedule) Delay(n int) time.Duration { return s.step * time.Duration(n) }
func (s schedule) Dead(n int) bool           { return n >= s.attempts }

// eventually fails t unless cond holds within a generous timeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
