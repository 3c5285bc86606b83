package contract_test

// Contract tests of the events list and the webhook endpoints (README,
// "Events and webhooks"). Deliveries themselves are tested end to end in
// contract_delivery_test.go.

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wallets/internal/apitest"
)

const (
	ctEvents   = "/events"
	ctWebhooks = "/webhooks"
)

var ctEventTypes = []any{"wallet.deposited", "wallet.withdrawn", "charge.created", "charge.collected", "charge.rejected"}

// ctTypes lists the types of events, in order.
func ctTypes(events []map[string]any) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i], _ = e["type"].(string)
	}
	return out
}

func TestContractEventsList(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "nora", apitest.Customer)
	other, _ := s.SignUp(t, "omar", apitest.Customer)
	shop, shopID := s.SignUp(t, "tienda", apitest.Business)
	s.NewBusinessWallet(t, shop)
	w := s.NewWallet(t, cust)
	before := time.Now().Add(-time.Minute)

	s.Deposit(t, cust, w, "20.00")
	s.Do(t, "PUT", ctWallets+"/"+w+"/retire", map[string]any{"amount": "-5.00"}, apitest.Token(cust)).Check(t, 200)
	paid := s.Charge(t, cust, shopID, w, "10.00")
	unpaid := s.Charge(t, cust, shopID, w, "50.00")
	s.Do(t, "PUT", ctDebit(paid), nil, apitest.Token(shop)).Check(t, 200)
	s.Do(t, "PUT", ctDebit(unpaid), nil, apitest.Token(shop)).Check(t, http.StatusConflict)
	// Refusals raise nothing.
	s.Do(t, "PUT", ctWallets+"/"+w+"/retire", map[string]any{"amount": "-500.00"}, apitest.Token(cust)).Check(t, http.StatusConflict)
	s.Do(t, "PUT", ctDebit(paid), nil, apitest.Token(shop)).Check(t, http.StatusConflict)

	mine := ctAll(t, s, cust, ctEvents)
	want := []string{"charge.rejected", "charge.collected", "charge.created", "charge.created", "wallet.withdrawn", "wallet.deposited"}
	if got := ctTypes(mine); !slices.Equal(got, want) {
		t.Fatalf("customer's events %v, want %v", got, want)
	}
	ids := map[string]bool{}
	for _, e := range mine {
		ctKeys(t, e, "id", "type", "created", "data")
		if _, err := uuid.Parse(e["id"].(string)); err != nil {
			t.Errorf("event id %v: %v", e["id"], err)
		}
		ids[e["id"].(string)] = true
		ctCheckTime(t, e["created"], before)
		ctKeys(t, e["data"].(map[string]any), "uuid", "amount", "description", "status", "type", "business", "wallet", "created_date")
	}
	if len(ids) != len(mine) {
		t.Errorf("event ids repeat: %v", ids)
	}
	// data is the transaction as the lists show it, as it stood then.
	txs := ctAll(t, s, cust, ctWallets+"/"+w+"/transactions")
	for _, tx := range txs {
		if tx["type"] == float64(1) {
			ctSameValue(t, "deposit event's data", mine[5]["data"], tx)
		}
	}
	created := mine[3]["data"].(map[string]any)
	if created["uuid"] != paid || created["status"] != float64(1) {
		t.Errorf("charge.created data %v: want charge %s pending (status 1)", created, paid)
	}
	if d := mine[1]["data"].(map[string]any); d["uuid"] != paid || d["status"] != float64(2) {
		t.Errorf("charge.collected data %v: want charge %s accepted", d, paid)
	}
	if d := mine[0]["data"].(map[string]any); d["uuid"] != unpaid || d["status"] != float64(3) {
		t.Errorf("charge.rejected data %v: want charge %s rejected", d, unpaid)
	}

	// The business hears of its charges, with the same ids; others of
	// nothing.
	theirs := ctAll(t, s, shop, ctEvents)
	if got := ctTypes(theirs); !slices.Equal(got, want[:4]) {
		t.Errorf("business's events %v, want %v", got, want[:4])
	}
	for i, e := range theirs {
		if e["id"] != mine[i]["id"] {
			t.Errorf("business's event %d is %v, the customer's %v", i, e["id"], mine[i]["id"])
		}
	}
	if n := len(ctAll(t, s, other, ctEvents)); n != 0 {
		t.Errorf("another customer sees %d events", n)
	}

	// ?type= filters; an unknown type is a 400; empty means any.
	if got := ctTypes(ctAll(t, s, cust, ctEvents+"?type=charge.created")); !slices.Equal(got, []string{"charge.created", "charge.created"}) {
		t.Errorf("?type=charge.created: %v", got)
	}
	if n := len(ctAll(t, s, cust, ctEvents+"?type=")); n != len(want) {
		t.Errorf("?type= lists %d events, want %d", n, len(want))
	}
	ctFieldError(t, s.Do(t, "GET", ctEvents+"?type=wallet.exploded", nil, apitest.Token(cust)), "type", "unknown type")

	// Cursor paging walks the same list.
	var walked []string
	path := ctEvents + "?cursor=&page_size=4"
	for path != "" {
		p := ctGetPage(t, s, cust, path)
		if p.Count != nil {
			t.Errorf("cursor page with a count")
		}
		for _, e := range p.Results {
			walked = append(walked, e["id"].(string))
		}
		path = ""
		if p.Next != nil {
			path = *p.Next
		}
	}
	if len(walked) != len(mine) || walked[0] != mine[0]["id"] || walked[len(walked)-1] != mine[len(mine)-1]["id"] {
		t.Errorf("cursor pages %v, list %v", walked, ctUUIDs(mine))
	}

	// Logged-in users only.
	s.Do(t, "GET", ctEvents, nil).Check(t, http.StatusUnauthorized)
}

// ctSameValue fails unless got and want are the same decoded JSON.
func ctSameValue(t testing.TB, what string, got, want any) {
	t.Helper()
	g, w := apitest.JSONText(got), apitest.JSONText(want)
	if g != w {
		t.Errorf("%s: %s, want %s", what, g, w)
	}
}

func TestContractWebhookEndpoints(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "paula", apitest.Customer)
	other, _ := s.SignUp(t, "quique", apitest.Customer)
	auth := apitest.Token(cust)
	before := time.Now().Add(-time.Minute)

	// Created: every type by default, the secret shown once.
	r := s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/hooks"}, auth).Check(t, http.StatusCreated)
	h := r.JSON(t)
	ctKeys(t, h, "id", "url", "events", "secret", "created")
	if h["url"] != "http://127.0.0.1:9/hooks" || !slices.Equal(h["events"].([]any), ctEventTypes) {
		t.Errorf("webhook %s", r.Body)
	}
	if secret, _ := h["secret"].(string); len(secret) < 32 {
		t.Errorf("secret %q is too short", secret)
	}
	ctCheckTime(t, h["created"], before)
	some := s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://localhost:9/b", "events": []string{"charge.created", "charge.created", "charge.collected"}}, auth).
		Check(t, http.StatusCreated).JSON(t)
	if !slices.Equal(some["events"].([]any), []any{"charge.created", "charge.collected"}) {
		t.Errorf("chosen events %v", some["events"])
	}
	if some["secret"] == h["secret"] {
		t.Errorf("two endpoints share a secret")
	}

	// Listed newest first, without secrets; nobody else's.
	p := ctGetPage(t, s, cust, ctWebhooks)
	if len(p.Results) != 2 || p.Results[0]["id"] != some["id"] || p.Results[1]["id"] != h["id"] {
		t.Fatalf("webhooks %v", p.Results)
	}
	for _, e := range p.Results {
		ctKeys(t, e, "id", "url", "events", "created")
	}
	if n := len(ctGetPage(t, s, other, ctWebhooks).Results); n != 0 {
		t.Errorf("another user lists %d webhooks", n)
	}

	// Refused URLs and events.
	for _, bad := range []map[string]any{
		{},
		{"url": ""},
		{"url": "not a url"},
		{"url": "ftp://example.com/x"},
		{"url": "http://10.0.0.1/x"},
		{"url": "http://169.254.169.254/latest/meta-data/"},
		{"url": "http://[fd00:ec2::254]/"},
		{"url": "https://192.168.1.10/x"},
		{"url": "http://user:pw@127.0.0.1:9/x"},
		{"url": "http://127.0.0.1:9/" + strings.Repeat("x", 2048)},
	} {
		ctFieldError(t, s.Do(t, "POST", ctWebhooks, bad, auth), "url", "url "+apitest.JSONText(bad["url"]))
	}
	ctFieldError(t, s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/x", "events": []string{"wallet.exploded"}}, auth), "events", "unknown event")
	ctFieldError(t, s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/x", "events": []string{}}, auth), "events", "no events")
	ctFieldError(t, s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/x", "events": 7}, auth), "events", "not a list")

	// At most 10.
	for i := 2; i < 10; i++ {
		s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/x"}, auth).Check(t, http.StatusCreated)
	}
	ctFieldError(t, s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/x"}, auth), "non_field_errors", "the 11th")

	// Deleted once; nobody else's.
	s.Do(t, "DELETE", ctWebhooks+"/"+h["id"].(string), nil, apitest.Token(other)).Check(t, http.StatusNotFound)
	s.Do(t, "DELETE", ctWebhooks+"/"+h["id"].(string), nil, auth).Check(t, http.StatusNoContent)
	s.Do(t, "DELETE", ctWebhooks+"/"+h["id"].(string), nil, auth).Check(t, http.StatusNotFound)
	s.Do(t, "DELETE", ctWebhooks+"/not-a-uuid", nil, auth).Check(t, http.StatusNotFound)
	if n := len(ctGetPage(t, s, cust, ctWebhooks).Results); n != 9 {
		t.Errorf("%d webhooks after a delete, want 9", n)
	}
	// Room for one again.
	s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/x"}, auth).Check(t, http.StatusCreated)

	// Dead letters: the owner's endpoint lists none yet; another's is a 404.
	if n := len(ctGetPage(t, s, cust, ctWebhooks+"/"+some["id"].(string)+"/dead-letters").Results); n != 0 {
		t.Errorf("%d dead letters on a new endpoint", n)
	}
	s.Do(t, "GET", ctWebhooks+"/"+some["id"].(string)+"/dead-letters", nil, apitest.Token(other)).Check(t, http.StatusNotFound)

	// An Idempotency-Key replays the creation, secret included, and
	// creates one endpoint.
	s.Do(t, "DELETE", ctWebhooks+"/"+some["id"].(string), nil, auth).Check(t, http.StatusNoContent)
	first := s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/k"}, auth, apitest.IdempotencyKey("hook-1")).Check(t, http.StatusCreated)
	again := s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/k"}, auth, apitest.IdempotencyKey("hook-1")).Check(t, http.StatusCreated)
	ctReplayed(t, again, first)
	if n := len(ctGetPage(t, s, cust, ctWebhooks).Results); n != 10 {
		t.Errorf("%d webhooks after a replayed creation, want 10", n)
	}

	s.Do(t, "GET", ctWebhooks, nil).Check(t, http.StatusUnauthorized)
	s.Do(t, "POST", ctWebhooks, map[string]any{"url": "http://127.0.0.1:9/x"}).Check(t, http.StatusUnauthorized)
}
