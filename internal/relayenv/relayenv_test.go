package relayenv_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wallets/internal/apitest"
	"wallets/internal/pgtest"
	"wallets/internal/relayenv"
	"wallets/internal/webhook"
)

// received is one request a receiver got.
type received struct {
	id     string // Wallets-Event-Id
	typ    string // the body's type
	body   []byte
	status int // what the receiver answered
}

// receiver is a local webhook endpoint that checks every delivery's
// signature with its secret and answers what answer says for the n-th
// attempt (1-based) of an event id.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	answer func(n int) (status int, delay time.Duration)

	mu     sync.Mutex
	secret string
	got    []received
	tries  map[string]int
	notify chan struct{}
}

func newReceiver(t *testing.T, answer func(n int) (int, time.Duration)) *receiver {
	r := &receiver{t: t, answer: answer, tries: map[string]int{}, notify: make(chan struct{}, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secret := r.secret
	id := req.Header.Get(webhook.HeaderEventID)
	r.tries[id]++
	n := r.tries[id]
	r.mu.Unlock()
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("delivery %s %s, Content-Type %q", req.Method, req.URL, req.Header.Get("Content-Type"))
	}
	if err := webhook.Verify(secret, req.Header.Get(webhook.HeaderSignature), body, time.Now(), webhook.DefaultTolerance); err != nil {
		r.t.Errorf("delivery of %s: signature %q: %v", id, req.Header.Get(webhook.HeaderSignature), err)
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != id {
		r.t.Errorf("delivery with Wallets-Event-Id %s: body %s", id, body)
	}
	status, delay := r.answer(n)
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
		}
	}
	w.WriteHeader(status)
	r.mu.Lock()
	r.got = append(r.got, received{id: id, typ: ev.Type, body: body, status: status})
	r.mu.Unlock()
	r.notify <- struct{}{}
}

// wait returns what the receiver got once done says it is enough, or
// fails the test after a minute.
func (r *receiver) wait(done func([]received) bool) []received {
	r.t.Helper()
	deadline := time.After(time.Minute)
	for {
		r.mu.Lock()
		got := slices.Clone(r.got)
		r.mu.Unlock()
		if done(got) {
			return got
		}
		select {
		case <-r.notify:
		case <-deadline:
			r.t.Fatalf("receiver got %d requests, not yet what the test waits for: %+v", len(got), got)
		}
	}
}

// accepted returns the bodies answered 2xx, by event id.
func accepted(got []received) map[string]received {
	out := map[string]received{}
	for _, g := range got {
		if g.status >= 200 && g.status < 300 {
			out[g.id] = g
		}
	}
	return out
}

// register creates token's webhook to r (all events unless types), and
// hands r its secret.
func register(t *testing.T, s *apitest.Stack, r *receiver, token string, types ...string) string {
	t.Helper()
	body := map[string]any{"url": r.srv.URL + "/hooks"}
	if len(types) > 0 {
		body["events"] = types
	}
	h := s.Do(t, "POST", "/webhooks", body, apitest.Token(token)).Check(t, http.StatusCreated).JSON(t)
	r.mu.Lock()
	r.secret = h["secret"].(string)
	r.mu.Unlock()
	return h["id"].(string)
}

func startEvents(t *testing.T, s *apitest.Stack, opts relayenv.Options) *relayenv.Local {
	t.Helper()
	if opts.Schedule == nil {
		opts.Schedule = &webhook.Schedule{Base: 20 * time.Millisecond, Cap: 200 * time.Millisecond, Attempts: 6}
	}
	l := relayenv.Start(s.Env, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			t.Errorf("close events: %v", err)
		}
	})
	return l
}

// TestWebhookDeliveryRetried: a business's endpoint that answers 500 to
// each first attempt receives charge.created and charge.collected, signed,
// on the retry with the same event id, bodies equal to what GET /events
// lists; the customer's own deposit does not reach the business.
func TestWebhookDeliveryRetried(t *testing.T) {
	s := apitest.New(t)
	startEvents(t, s, relayenv.Options{})
	cust, _ := s.SignUp(t, "hookcust", apitest.Customer)
	shop, shopID := s.SignUp(t, "hookshop", apitest.Business)
	s.NewBusinessWallet(t, shop)
	r := newReceiver(t, func(n int) (int, time.Duration) {
		if n == 1 {
			return http.StatusInternalServerError, 0
		}
		return http.StatusNoContent, 0
	})
	register(t, s, r, shop)

	w := s.NewWallet(t, cust)
	s.Deposit(t, cust, w, "30.00")
	charge := s.Charge(t, cust, shopID, w, "12.00")
	s.Do(t, "PUT", "/wallets/business/transactions/"+charge+"/debit", nil, apitest.Token(shop)).Check(t, 200)

	got := r.wait(func(g []received) bool { return len(accepted(g)) == 2 })
	ok := accepted(got)
	listed := map[string]map[string]any{}
	for _, e := range apiEvents(t, s, shop) {
		listed[e["id"].(string)] = e
	}
	types := []string{}
	for id, g := range ok {
		types = append(types, g.typ)
		e, found := listed[id]
		if !found {
			t.Errorf("delivered event %s is not in the business's GET /events", id)
			continue
		}
		if want := apitest.JSONText(e); apitest.JSONText(jsonValue(t, g.body)) != want {
			t.Errorf("delivered %s, listed %s", g.body, want)
		}
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"charge.collected", "charge.created"}) {
		t.Errorf("business received %v", types)
	}
	// Each event: one 500, then the same id accepted.
	for id := range ok {
		var statuses []int
		for _, g := range got {
			if g.id == id {
				statuses = append(statuses, g.status)
			}
		}
		if !slices.Equal(statuses, []int{500, 204}) {
			t.Errorf("event %s: answers %v, want [500 204]", id, statuses)
		}
	}
	if data := ok[firstOfType(got, "charge.created")].body; !strings.Contains(string(data), `"status":1`) {
		t.Errorf("charge.created carries %s: want the charge as it stood (pending)", data)
	}
}

// TestWebhookSlowReceiverTimedOut: an attempt that outlasts the client's
// timeout fails and is retried.
func TestWebhookSlowReceiverTimedOut(t *testing.T) {
	s := apitest.New(t)
	startEvents(t, s, relayenv.Options{Timeout: 300 * time.Millisecond})
	cust, _ := s.SignUp(t, "slowcust", apitest.Customer)
	r := newReceiver(t, func(n int) (int, time.Duration) {
		if n == 1 {
			return http.StatusOK, 3 * time.Second
		}
		return http.StatusOK, 0
	})
	register(t, s, r, cust, "wallet.deposited")
	w := s.NewWallet(t, cust)
	s.Deposit(t, cust, w, "5.00")
	got := r.wait(func(g []received) bool { return len(g) >= 2 })
	if got[0].id != got[1].id || got[0].typ != "wallet.deposited" {
		t.Errorf("receiver got %+v, want one deposit twice", got)
	}
	// The attempt that timed out is on record as such until the retry
	// succeeds; nothing is dead.
	hooks := s.Do(t, "GET", "/webhooks", nil, apitest.Token(cust)).Check(t, 200).JSON(t)["results"].([]any)
	id := hooks[0].(map[string]any)["id"].(string)
	if n := len(s.Do(t, "GET", "/webhooks/"+id+"/dead-letters", nil, apitest.Token(cust)).Check(t, 200).JSON(t)["results"].([]any)); n != 0 {
		t.Errorf("%d dead letters after a retried timeout", n)
	}
}

// TestWebhookDeadLetter: an endpoint that fails every attempt gets the
// schedule's attempts, then the delivery is dead and its owner sees it.
func TestWebhookDeadLetter(t *testing.T) {
	s := apitest.New(t)
	startEvents(t, s, relayenv.Options{Schedule: &webhook.Schedule{Base: 10 * time.Millisecond, Cap: 40 * time.Millisecond, Attempts: 3}})
	cust, _ := s.SignUp(t, "deadcust", apitest.Customer)
	r := newReceiver(t, func(int) (int, time.Duration) { return http.StatusBadGateway, 0 })
	id := register(t, s, r, cust)
	w := s.NewWallet(t, cust)
	s.Deposit(t, cust, w, "7.00")
	r.wait(func(g []received) bool { return len(g) >= 3 })

	var dead []any
	deadline := time.Now().Add(30 * time.Second)
	for len(dead) == 0 && time.Now().Before(deadline) {
		dead = s.Do(t, "GET", "/webhooks/"+id+"/dead-letters", nil, apitest.Token(cust)).Check(t, 200).JSON(t)["results"].([]any)
		time.Sleep(50 * time.Millisecond)
	}
	if len(dead) != 1 {
		t.Fatalf("dead letters %v, want one", dead)
	}
	d := dead[0].(map[string]any)
	if d["attempts"] != float64(3) || !strings.Contains(d["last_error"].(string), "502") ||
		d["event"].(map[string]any)["type"] != "wallet.deposited" {
		t.Errorf("dead letter %v", d)
	}
	time.Sleep(200 * time.Millisecond)
	r.mu.Lock()
	n := len(r.got)
	r.mu.Unlock()
	if n != 3 {
		t.Errorf("receiver got %d attempts, want exactly 3", n)
	}
}

// TestEventsSurviveDatabaseOutage kills the PostgreSQL server between a
// movement's commit and its delivery: the relay fails while it is down,
// and once it is back the event is delivered.
func TestEventsSurviveDatabaseOutage(t *testing.T) {
	srv := pgtest.Server()
	if srv == nil {
		t.Skip("DATABASE_URL points at a server this test cannot stop")
	}
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "crashcust", apitest.Customer)
	r := newReceiver(t, func(int) (int, time.Duration) { return http.StatusOK, 0 })
	register(t, s, r, cust)
	w := s.NewWallet(t, cust)
	s.Deposit(t, cust, w, "9.00") // committed, not yet relayed: no relay runs

	if err := srv.Kill(); err != nil {
		t.Fatalf("kill PostgreSQL: %v", err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = srv.Restart(context.Background())
		}
	})
	startEvents(t, s, relayenv.Options{})
	time.Sleep(time.Second) // the relay polls a dead database
	r.mu.Lock()
	early := len(r.got)
	r.mu.Unlock()
	if early != 0 {
		t.Fatalf("delivered while the database was down")
	}
	if err := srv.Restart(context.Background()); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	restarted = true
	got := r.wait(func(g []received) bool { return len(g) >= 1 })
	if got[0].typ != "wallet.deposited" {
		t.Errorf("after the outage the receiver got %+v", got)
	}
}

func apiEvents(t *testing.T, s *apitest.Stack, token string) []map[string]any {
	t.Helper()
	res := s.Do(t, "GET", "/events?page_size=100", nil, apitest.Token(token)).Check(t, 200).JSON(t)["results"].([]any)
	out := make([]map[string]any, len(res))
	for i, e := range res {
		out[i] = e.(map[string]any)
	}
	return out
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return v
}

func firstOfType(got []received, typ string) string {
	for _, g := range got {
		if g.typ == typ {
			return g.id
		}
	}
	return ""
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
