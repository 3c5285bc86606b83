package relay

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"wallets/internal/event"
)

// handlerFunc adapts a func to Handler.
type handlerFunc func(context.Context, DeliveryRef) (time.Duration, error)

func (f handlerFunc) Handle(ctx context.Context, r DeliveryRef) (time.Duration, error) {
	return f(ctx, r)
}

// handled records the refs handled, in order.
type handled struct {
	mu   sync.Mutex
	refs []uuid.UUID
}

func (h *handled) add(id uuid.UUID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refs = append(h.refs, id)
	return len(h.refs)
}

func (h *handled) list() []uuid.UUID {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.refs)
}

func (h *handled) count(id uuid.UUID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.refs {
		if r == id {
			n++
		}
	}
	return n
}

func closeQueue(t *testing.T, q *MemoryQueue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestMemoryQueueDelays(t *testing.T) {
	var h handled
	q := NewMemoryQueue(handlerFunc(func(_ context.Context, r DeliveryRef) (time.Duration, error) {
		h.add(r.ID)
		return 0, nil
	}), MemoryQueueConfig{Workers: 1})
	defer closeQueue(t, q)
	late, soon := uuid.New(), uuid.New()
	if err := q.Send(context.Background(), []DeliveryRef{{ID: late}}, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := q.Send(context.Background(), []DeliveryRef{{ID: soon}}, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both handled", func() bool { return len(h.list()) == 2 })
	if got := h.list(); got[0] != soon || got[1] != late {
		t.Fatalf("handled %v, want the undelayed one first", got)
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d", q.Len())
	}
}

func TestMemoryQueueManyMessagesAllWorkers(t *testing.T) {
	const workers = 4
	var (
		h          handled
		mu         sync.Mutex
		inFlight   int
		maxFlight  int
		release    = make(chan struct{})
		allStarted = make(chan struct{})
	)
	q := NewMemoryQueue(handlerFunc(func(_ context.Context, r DeliveryRef) (time.Duration, error) {
		mu.Lock()
		inFlight++
		if inFlight > maxFlight {
			maxFlight = inFlight
			if maxFlight == workers {
				close(allStarted)
			}
		}
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		h.add(r.ID)
		return 0, nil
	}), MemoryQueueConfig{Workers: workers})
	defer closeQueue(t, q)
	refs := make([]DeliveryRef, 50)
	for i := range refs {
		refs[i] = DeliveryRef{ID: uuid.New()}
	}
	if err := q.Send(context.Background(), refs, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-allStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("the workers did not all take a message")
	}
	close(release)
	eventually(t, "all handled", func() bool { return len(h.list()) == len(refs) })
	mu.Lock()
	defer mu.Unlock()
	if maxFlight != workers {
		t.Fatalf("at most %d at once, want %d", maxFlight, workers)
	}
	for _, r := range refs {
		if h.count(r.ID) != 1 {
			t.Fatalf("%s handled %d times", r.ID, h.count(r.ID))
		}
	}
}

func TestMemoryQueueRetriesAndFaults(t *testing.T) {
	var h handled
	retried, faulty := uuid.New(), uuid.New()
	q := NewMemoryQueue(handlerFunc(func(_ context.Context, r DeliveryRef) (time.Duration, error) {
		n := h.count(r.ID)
		h.add(r.ID)
		switch {
		case r.ID == retried && n < 2:
			return 20 * time.Millisecond, nil
		case r.ID == faulty && n < 2:
			return 0, errDown
		}
		return 0, nil
	}), MemoryQueueConfig{Workers: 2, FaultPause: 10 * time.Millisecond})
	defer closeQueue(t, q)
	if err := q.Send(context.Background(), []DeliveryRef{{ID: retried}, {ID: faulty}}, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three handlings each", func() bool { return h.count(retried) == 3 && h.count(faulty) == 3 })
	time.Sleep(100 * time.Millisecond)
	if h.count(retried) != 3 || h.count(faulty) != 3 {
		t.Fatalf("handled %d and %d times, want 3", h.count(retried), h.count(faulty))
	}
}

func TestMemoryQueueClose(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var finished bool
	var mu sync.Mutex
	q := NewMemoryQueue(handlerFunc(func(ctx context.Context, r DeliveryRef) (time.Duration, error) {
		close(started)
		<-release
		mu.Lock()
		finished = true
		mu.Unlock()
		return 0, nil
	}), MemoryQueueConfig{Workers: 1})
	if err := q.Send(context.Background(), []DeliveryRef{{ID: uuid.New()}, {ID: uuid.New()}}, 0); err != nil {
		t.Fatal(err)
	}
	<-started
	closed := make(chan error, 1)
	go func() { closed <- q.Close(context.Background()) }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !finished {
		t.Fatal("Close did not wait for the message in hand")
	}
	if err := q.Send(context.Background(), []DeliveryRef{{ID: uuid.New()}}, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
}

func TestMemoryQueueCloseCancelsAtDeadline(t *testing.T) {
	started := make(chan struct{})
	q := NewMemoryQueue(handlerFunc(func(ctx context.Context, r DeliveryRef) (time.Duration, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	}), MemoryQueueConfig{Workers: 1})
	if err := q.Send(context.Background(), []DeliveryRef{{ID: uuid.New()}}, 0); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := q.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v", err)
	}
}

// The local run, end to end: relay, in-memory queue, worker; the endpoint
// fails twice, then answers.
func TestLocalPipeline(t *testing.T) {
	o := newFakeOutbox(nil)
	s := &fakeSender{script: []int{503, 0, 200}}
	ok := endpoint("https://ok.example")
	e := o.add(event.WalletDeposited, ok)
	o.add(event.ChargeCreated) // nobody listens: no delivery
	w := &Worker{Outbox: o, Sender: s, Schedule: schedule{10 * time.Millisecond, 5}, Render: render}
	q := NewMemoryQueue(w, MemoryQueueConfig{Workers: 2, FaultPause: 10 * time.Millisecond})
	defer closeQueue(t, q)
	r := &Relay{Outbox: o, Queue: q, Render: render}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, time.Hour) }()
	defer func() { cancel(); <-done }()

	eventually(t, "delivered", func() bool {
		att := o.recordedAttempts()
		return len(att) == 3 && att[2].Attempt.Delivered()
	})
	att := o.recordedAttempts()
	for i, a := range att {
		if a.N != i+1 {
			t.Fatalf("attempts %+v", att)
		}
	}
	calls := s.sentCalls()
	if len(calls) != 3 || calls[0].EventID != e.ID.String() || calls[2].URL != ok.URL {
		t.Fatalf("sends %+v", calls)
	}
	// A later event goes out on Notify.
	e2 := o.add(event.WalletWithdrawn, ok)
	r.Notify()
	eventually(t, "the second event delivered", func() bool {
		c := s.sentCalls()
		return len(c) == 4 && c[3].EventID == e2.ID.String()
	})
}
