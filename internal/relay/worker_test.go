package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wallets/internal/event"
)

// setup relays one event with one delivery to https://hook.example and
// returns the worker and the delivery's message.
func setup(t *testing.T, s *fakeSender, sch Schedule) (*Worker, *fakeOutbox, *clock, DeliveryRef) {
	t.Helper()
	c := newClock()
	o, q := newFakeOutbox(c.Now), newFakeQueue()
	o.add(event.ChargeCreated, endpoint("https://hook.example"))
	r := newRelay(o, nil, q)
	r.Now = c.Now
	if _, err := r.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := &Worker{Outbox: o, Sender: s, Schedule: sch, Render: render, Now: c.Now}
	return w, o, c, q.sentRefs()[0]
}

func TestHandleDelivers(t *testing.T) {
	s := &fakeSender{script: []int{204}}
	w, o, _, ref := setup(t, s, schedule{time.Minute, 3})
	retry, err := w.Handle(context.Background(), ref)
	if err != nil || retry != 0 {
		t.Fatalf("Handle = %v, %v; want done", retry, err)
	}
	d, _ := o.delivery(ref.ID)
	if d.Status != event.Delivered || d.Attempts != 1 {
		t.Fatalf("delivery %+v", d)
	}
	calls := s.sentCalls()
	if len(calls) != 1 || calls[0].URL != "https://hook.example" || calls[0].Secret != d.Secret || calls[0].EventID != d.Event.ID.String() || !strings.Contains(string(calls[0].Body), d.Event.ID.String()) {
		t.Fatalf("sender got %+v", calls)
	}
	// A duplicate of the message, later, finds it delivered.
	if retry, err := w.Handle(context.Background(), ref); err != nil || retry != 0 || len(s.sentCalls()) != 1 {
		t.Fatalf("duplicate Handle = %v, %v; %d sends", retry, err, len(s.sentCalls()))
	}
}

func TestHandleRetriesOnScheduleThenDies(t *testing.T) {
	s := &fakeSender{script: []int{500}}
	sch := schedule{time.Minute, 3}
	w, o, c, ref := setup(t, s, sch)
	for n := 1; n <= 3; n++ {
		retry, err := w.Handle(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := o.delivery(ref.ID)
		if d.Attempts != n {
			t.Fatalf("after attempt %d: %+v", n, d)
		}
		if n < 3 {
			if retry != sch.Delay(n) || d.Status != event.Pending || d.LastError != "answered 500" {
				t.Fatalf("attempt %d: retry %v, delivery %+v", n, retry, d)
			}
			// Too early: a duplicate makes no attempt and is told the
			// time left.
			c.Add(retry / 2)
			early, err := w.Handle(context.Background(), ref)
			if err != nil || early != retry-retry/2 || len(s.sentCalls()) != n {
				t.Fatalf("early Handle = %v, %v; %d sends", early, err, len(s.sentCalls()))
			}
			c.Add(retry - retry/2)
			continue
		}
		if retry != 0 || d.Status != event.Dead {
			t.Fatalf("last attempt: retry %v, delivery %+v", retry, d)
		}
	}
	att := o.recordedAttempts()
	if len(att) != 3 || att[0].Dead || att[1].Dead || !att[2].Dead {
		t.Fatalf("attempts %+v", att)
	}
	if retry, err := w.Handle(context.Background(), ref); retry != 0 || err != nil || len(s.sentCalls()) != 3 {
		t.Fatalf("Handle of a dead delivery = %v, %v", retry, err)
	}
}

func TestHandleDuplicateIgnored(t *testing.T) {
	s := &fakeSender{script: []int{500}}
	w, o, _, ref := setup(t, s, schedule{time.Minute, 5})
	// Another copy of the message records attempt 1 while this one sends.
	s.during = func() {
		s.during = nil
		if ok, err := o.RecordAttempt(context.Background(), ref.ID, 1, event.Attempt{Status: 502, Error: "other"}, time.Now(), false); !ok || err != nil {
			t.Errorf("the other copy's RecordAttempt = %v, %v", ok, err)
		}
	}
	retry, err := w.Handle(context.Background(), ref)
	if err != nil || retry != 0 {
		t.Fatalf("Handle = %v, %v; want done (the other copy retries)", retry, err)
	}
	if att := o.recordedAttempts(); len(att) != 1 || att[0].Attempt.Error != "other" {
		t.Fatalf("attempts %+v", att)
	}
}

func TestHandleNotFound(t *testing.T) {
	c := newClock()
	var logs bytes.Buffer
	w := &Worker{Outbox: newFakeOutbox(c.Now), Sender: &fakeSender{}, Schedule: schedule{time.Minute, 3}, Render: render, Now: c.Now,
		Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	// A message whose endpoint was deleted (or whose delivery was purged):
	// done, with a line.
	for _, ref := range []DeliveryRef{{ID: uuid.New(), Attempt: 1}, {ID: uuid.New()}} {
		logs.Reset()
		if retry, err := w.Handle(context.Background(), ref); retry != 0 || err != nil {
			t.Fatalf("Handle(%+v) = %v, %v; want done", ref, retry, err)
		}
		var line map[string]any
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line["msg"] != "webhook delivery not found, message dropped" ||
			line["delivery"] != ref.ID.String() || line["attempt"] != float64(ref.Attempt) {
			t.Errorf("Handle(%+v) logged %s (%v)", ref, logs.Bytes(), err)
		}
	}
}

func TestHandleFaultRetriedAsIs(t *testing.T) {
	for _, op := range []string{"Delivery", "RecordAttempt"} {
		t.Run(op, func(t *testing.T) {
			s := &fakeSender{script: []int{200}}
			w, o, _, ref := setup(t, s, schedule{time.Minute, 3})
			o.fail(op, 1)
			if _, err := w.Handle(context.Background(), ref); !errors.Is(err, errDown) {
				t.Fatalf("Handle in an outage = %v", err)
			}
			if d, _ := o.delivery(ref.ID); d.Attempts != 0 || d.Status != event.Pending {
				t.Fatalf("a fault changed the delivery: %+v", d)
			}
			if retry, err := w.Handle(context.Background(), ref); retry != 0 || err != nil {
				t.Fatalf("Handle again = %v, %v", retry, err)
			}
			if d, _ := o.delivery(ref.ID); d.Status != event.Delivered || d.Attempts != 1 {
				t.Fatalf("delivery %+v", d)
			}
		})
	}
}

func TestHandleRenderFailureIsAFailedAttempt(t *testing.T) {
	s := &fakeSender{}
	w, o, _, ref := setup(t, s, schedule{time.Minute, 1})
	w.Render = func(event.Event) ([]byte, error) { return nil, errors.New("bad data") }
	if retry, err := w.Handle(context.Background(), ref); retry != 0 || err != nil {
		t.Fatalf("Handle = %v, %v", retry, err)
	}
	d, _ := o.delivery(ref.ID)
	if d.Status != event.Dead || !strings.Contains(d.LastError, "bad data") || len(s.sentCalls()) != 0 {
		t.Fatalf("delivery %+v, %d sends", d, len(s.sentCalls()))
	}
}

// jittered takes up to a fifth off each delay, at random, as
// webhook.Schedule does.
type jittered struct{ schedule }

func (j jittered) Delay(n int) time.Duration {
	d := j.schedule.Delay(n)
	return d - time.Duration(rand.Int64N(int64(d/5)+1))
}

func (j jittered) MinDelay(n int) time.Duration { d := j.schedule.Delay(n); return d - d/5 }

func TestHandleJitteredScheduleNeverEarly(t *testing.T) {
	s := &fakeSender{script: []int{500}}
	w, o, c, ref := setup(t, s, jittered{schedule{time.Minute, 20}})
	for n := 1; n <= 10; n++ {
		retry, err := w.Handle(context.Background(), ref)
		if err != nil || retry <= 0 {
			t.Fatalf("attempt %d: Handle = %v, %v", n, retry, err)
		}
		if d, _ := o.delivery(ref.ID); d.Attempts != n {
			t.Fatalf("attempt %d: the message back at its jittered delay made no attempt (%+v)", n, d)
		}
		c.Add(retry)
	}
}
