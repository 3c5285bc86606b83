package relay

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"wallets/internal/event"
)

func newRelay(o *fakeOutbox, b *fakeBus, q *fakeQueue) *Relay {
	r := &Relay{Outbox: o, Queue: q, Render: render}
	if b != nil {
		r.Bus = b
	}
	return r
}

func TestOncePublishesAndSendsDeliveries(t *testing.T) {
	o, b, q := newFakeOutbox(nil), &fakeBus{}, newFakeQueue()
	e1 := o.add(event.WalletDeposited, endpoint("https://a.example"), endpoint("https://b.example"))
	e2 := o.add(event.ChargeCreated) // nobody listens: bus only
	r := newRelay(o, b, q)

	n, err := r.Once(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Once = %d, %v; want 2, nil", n, err)
	}
	msgs := b.published()
	if len(msgs) != 2 || msgs[0].ID != e1.ID || msgs[1].ID != e2.ID || msgs[0].Type != event.WalletDeposited || !msgs[0].Created.Equal(e1.Created) {
		t.Fatalf("bus got %+v", msgs)
	}
	var body map[string]any
	if err := json.Unmarshal(msgs[0].Body, &body); err != nil || body["id"] != e1.ID.String() {
		t.Fatalf("body %s: %v", msgs[0].Body, err)
	}
	refs := q.sentRefs()
	if len(refs) != 2 {
		t.Fatalf("queue got %+v, want 2 deliveries", refs)
	}
	for i, ref := range refs {
		d, ok := o.delivery(ref.ID)
		if !ok || d.Event.ID != e1.ID || ref.Attempt != 1 || q.delays[i] != 0 {
			t.Errorf("ref %+v (delay %v): delivery %+v, %v", ref, q.delays[i], d, ok)
		}
	}
	if o.unpublished() != 0 {
		t.Fatal("events left unpublished")
	}
	if n, err := r.Once(context.Background()); n != 0 || err != nil {
		t.Fatalf("second Once = %d, %v; want 0, nil", n, err)
	}
	if len(b.published()) != 2 || len(q.sentRefs()) != 2 {
		t.Fatal("second Once published again")
	}
}

func TestOnceFailureMarksNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*fakeBus, *fakeQueue, *Relay)
	}{
		{"bus", func(b *fakeBus, _ *fakeQueue, _ *Relay) { b.err = errors.New("throttled") }},
		{"render", func(_ *fakeBus, _ *fakeQueue, r *Relay) {
			r.Render = func(event.Event) ([]byte, error) { return nil, errors.New("no") }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, b, q := newFakeOutbox(nil), &fakeBus{}, newFakeQueue()
			e := o.add(event.WalletWithdrawn, endpoint("https://a.example"))
			r := newRelay(o, b, q)
			tc.setup(b, q, r)
			if n, err := r.Once(context.Background()); err == nil || n != 0 {
				t.Fatalf("Once = %d, %v; want an error", n, err)
			}
			if o.unpublished() != 1 {
				t.Fatal("a failed publish marked the event")
			}
			o.mu.Lock()
			nd := len(o.deliveries)
			o.mu.Unlock()
			if nd != 0 {
				t.Fatal("a failed publish kept deliveries")
			}
			// Healed, the same event goes.
			b.err, q.err, r.Render = nil, nil, render
			if n, err := r.Once(context.Background()); err != nil || n != 1 {
				t.Fatalf("Once after healing = %d, %v", n, err)
			}
			if msgs := b.published(); msgs[len(msgs)-1].ID != e.ID {
				t.Fatalf("bus got %+v", msgs)
			}
			if len(q.sentRefs()) != 1 {
				t.Fatalf("queue got %+v", q.sentRefs())
			}
		})
	}
}

func TestOnceWithoutBus(t *testing.T) {
	o, q := newFakeOutbox(nil), newFakeQueue()
	o.add(event.ChargeCollected, endpoint("https://a.example"))
	r := newRelay(o, nil, q)
	if n, err := r.Once(context.Background()); err != nil || n != 1 || len(q.sentRefs()) != 1 {
		t.Fatalf("Once = %d, %v; queue %+v", n, err, q.sentRefs())
	}
}

func TestDrainRelaysEveryBatch(t *testing.T) {
	o, b, q := newFakeOutbox(nil), &fakeBus{}, newFakeQueue()
	for range 25 {
		o.add(event.WalletDeposited)
	}
	r := newRelay(o, b, q)
	r.Batch = 10
	if n, err := r.Drain(context.Background()); err != nil || n != 25 {
		t.Fatalf("Drain = %d, %v; want 25", n, err)
	}
	if len(b.published()) != 25 || o.unpublished() != 0 {
		t.Fatalf("published %d, unpublished %d", len(b.published()), o.unpublished())
	}
}

func TestRunRetriesAfterOutageAndWakesOnNotify(t *testing.T) {
	o, b, q := newFakeOutbox(nil), &fakeBus{}, newFakeQueue()
	o.add(event.WalletDeposited, endpoint("https://a.example"))
	o.fail("Relay", 3) // the database is down for three rounds
	r := newRelay(o, b, q)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, 20*time.Millisecond) }()
	eventually(t, "the event relayed after the outage", func() bool { return o.unpublished() == 0 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}

	// A long interval: only Notify gets the next event out in time.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- r.Run(ctx, time.Hour) }()
	eventually(t, "the first drain", func() bool { return o.unpublished() == 0 })
	time.Sleep(20 * time.Millisecond)
	o.add(event.WalletWithdrawn)
	r.Notify()
	eventually(t, "the notified event relayed", func() bool { return o.unpublished() == 0 })
	if got := len(b.published()); got != 2 {
		t.Fatalf("bus got %d events, want 2", got)
	}
	cancel()
	<-done
}

func TestSweepResendsOverdue(t *testing.T) {
	c := newClock()
	o, q := newFakeOutbox(c.Now), newFakeQueue()
	o.add(event.WalletDeposited, endpoint("https://a.example"), endpoint("https://b.example"))
	r := newRelay(o, nil, q)
	r.Now = c.Now
	if _, err := r.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("Sweep of fresh deliveries = %d, %v", n, err)
	}
	c.Add(DefaultGrace + time.Second) // their messages were lost
	if n, err := r.Sweep(context.Background()); err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2", n, err)
	}
	refs := q.sentRefs()
	if len(refs) != 4 || refs[2].Attempt != 0 || refs[3].Attempt != 0 {
		t.Fatalf("queue got %+v", refs)
	}
	if n, _ := r.Sweep(context.Background()); n != 0 {
		t.Fatalf("Sweep again at once = %d, want 0", n)
	}
	o.fail("Overdue", 1)
	if _, err := r.Sweep(context.Background()); !errors.Is(err, errDown) {
		t.Fatalf("Sweep in an outage = %v", err)
	}
}

func TestMaintainTakesTurns(t *testing.T) {
	c := newClock()
	o := newFakeOutbox(c.Now)
	r := newRelay(o, nil, newFakeQueue())
	r.Now = c.Now
	purges := func() int { o.mu.Lock(); defer o.mu.Unlock(); return o.purges }
	r.Maintain(context.Background())
	if purges() != 1 {
		t.Fatalf("first Maintain purged %d times", purges())
	}
	c.Add(time.Minute)
	r.Maintain(context.Background())
	if purges() != 1 {
		t.Fatal("Maintain purged again within PurgeEvery")
	}
	c.Add(DefaultPurgeEvery)
	r.Maintain(context.Background())
	if purges() != 2 {
		t.Fatal("Maintain did not purge after PurgeEvery")
	}
}

func TestDeliveryRefJSON(t *testing.T) {
	ref := DeliveryRef{ID: uuid.New(), Attempt: 2}
	b, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDeliveryRef(string(b))
	if err != nil || got != ref {
		t.Fatalf("ParseDeliveryRef(%s) = %+v, %v", b, got, err)
	}
	// A message of an earlier relay, which also sent when it was sent.
	old := `{"id":"` + ref.ID.String() + `","attempt":2,"sent":1765000000}`
	if got, err := ParseDeliveryRef(old); err != nil || got != ref {
		t.Fatalf("ParseDeliveryRef(%s) = %+v, %v", old, got, err)
	}
	for _, bad := range []string{"", "{}", "nope", `{"id":"x"}`} {
		if _, err := ParseDeliveryRef(bad); err == nil {
			t.Errorf("ParseDeliveryRef(%q) succeeded", bad)
		}
	}
}

// TestOnceQueueFailureLeavesDeliveriesToTheSweep: the deliveries go to the
// queue only once the outbox committed them, so a failed send leaves the
// event published and its delivery pending (nothing lost), and the sweep
// sends it once it is overdue.
func TestOnceQueueFailureLeavesDeliveriesToTheSweep(t *testing.T) {
	c := newClock()
	o, b, q := newFakeOutbox(c.Now), &fakeBus{}, newFakeQueue()
	o.add(event.WalletDeposited, endpoint("https://a.example"))
	r := newRelay(o, b, q)
	r.Now = c.Now
	q.err = errors.New("throttled")
	if n, err := r.Once(context.Background()); err == nil || n != 1 {
		t.Fatalf("Once with the queue down = %d, %v; want 1 and the send's error", n, err)
	}
	o.mu.Lock()
	nd := len(o.deliveries)
	o.mu.Unlock()
	if o.unpublished() != 0 || nd != 1 || len(b.published()) != 1 {
		t.Fatalf("after a failed send: %d unpublished, %d deliveries, bus %d; want 0, 1, 1", o.unpublished(), nd, len(b.published()))
	}
	q.err = nil
	c.Add(DefaultGrace + time.Second)
	if n, err := r.Sweep(context.Background()); err != nil || n != 1 || len(q.sentRefs()) != 1 {
		t.Fatalf("Sweep = %d, %v, queue %+v; want the delivery sent", n, err, q.sentRefs())
	}
}
