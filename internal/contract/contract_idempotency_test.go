package contract_test

// Contract tests of the Idempotency-Key protocol (API.md, "Idempotency") on
// every operation that moves money or creates something.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"wallets/internal/apitest"
)

const ctReused = "Idempotency-Key reused with a different request."

// ctReplayed fails unless r repeats first exactly, marked as a replay.
func ctReplayed(t testing.TB, r, first *apitest.Result) {
	t.Helper()
	if r.Status != first.Status || string(r.Body) != string(first.Body) {
		t.Errorf("replay %s, first answer %s", r, first)
	}
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay without Idempotent-Replayed: true (%v)", r.Header)
	}
}

func ctFresh(t testing.TB, r *apitest.Result) {
	t.Helper()
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first answer marked as a replay: %s", r)
	}
}

func TestContractIdempotentMovements(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "olga", apitest.Customer)
	auth := apitest.Token(cust)
	w := s.NewWallet(t, cust)
	w2 := s.NewWallet(t, cust)
	dep, ret := ctWallets+"/"+w+"/deposit", ctWallets+"/"+w+"/retire"
	key := apitest.IdempotencyKey

	// Deposit: the work is done once, the answer repeated.
	body := map[string]any{"amount": "25.00", "description": "once"}
	first := s.Do(t, "PUT", dep, body, auth, key("dep-1")).Check(t, 200)
	ctFresh(t, first)
	ctBalanceIs(t, first, "25.00")
	for i := 0; i < 3; i++ {
		ctReplayed(t, s.Do(t, "PUT", dep, body, auth, key("dep-1")), first)
	}
	if b := ctBalance(t, s, cust, w); b != "25.00" {
		t.Fatalf("balance %s after replays", b)
	}
	if n := ctCount(t, s, cust, ctWallets+"/"+w+"/transactions"); n != 1 {
		t.Fatalf("%d transactions after replays", n)
	}
	// The same key with anything different: 422, nothing done.
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PUT", dep, map[string]any{"amount": "26.00", "description": "once"}},
		{"PUT", dep, map[string]any{"amount": "25.00", "description": "twice"}},
		{"PUT", dep, map[string]any{"amount": "25.00"}},
		{"PATCH", dep, body},
		{"PUT", ctWallets + "/" + w2 + "/deposit", body},
		{"PUT", ret, map[string]any{"amount": "-25.00", "description": "once"}},
		{"POST", ctWallets, nil},
	} {
		ctDetail(t, s.Do(t, c.method, c.path, c.body, auth, key("dep-1")), 422, ctReused)
	}
	// A trailing slash is the same request.
	ctReplayed(t, s.Do(t, "PUT", dep+"/", body, auth, key("dep-1")), first)
	// Another key is another deposit.
	ctBalanceIs(t, s.Do(t, "PUT", dep, body, auth, key("dep-2")).Check(t, 200), "50.00")
	if b := ctBalance(t, s, cust, w2); b != "0.00" {
		t.Errorf("other wallet's balance %s", b)
	}

	// Retire, with a form body.
	form := url.Values{"amount": {"-10.00"}}
	r1 := s.Do(t, "PATCH", ret, form, auth, key("ret-1")).Check(t, 200)
	ctBalanceIs(t, r1, "40.00")
	ctReplayed(t, s.Do(t, "PATCH", ret, form, auth, key("ret-1")), r1)
	ctDetail(t, s.Do(t, "PATCH", ret, url.Values{"amount": {"-11.00"}}, auth, key("ret-1")), 422, ctReused)
	if b := ctBalance(t, s, cust, w); b != "40.00" {
		t.Fatalf("balance %s after a replayed withdrawal", b)
	}

	// A refused request is answered the same way again, even once it
	// could succeed: the key names that one attempt.
	big := map[string]any{"amount": "-100.00"}
	no := s.Do(t, "PUT", ret, big, auth, key("ret-big"))
	ctDetail(t, no, 409, "Balance can't be negative")
	s.Deposit(t, cust, w, "100.00")
	ctReplayed(t, s.Do(t, "PUT", ret, big, auth, key("ret-big")), no)
	if b := ctBalance(t, s, cust, w); b != "140.00" {
		t.Fatalf("balance %s: a replayed 409 moved money", b)
	}
	bad := map[string]any{"amount": "abc"}
	inv := s.Do(t, "PUT", dep, bad, auth, key("dep-bad")).Check(t, 400)
	ctReplayed(t, s.Do(t, "PUT", dep, bad, auth, key("dep-bad")), inv)
	nf := s.Do(t, "PUT", ctWallets+"/not-a-wallet/deposit", body, auth, key("dep-404")).Check(t, 404)
	ctReplayed(t, s.Do(t, "PUT", ctWallets+"/not-a-wallet/deposit", body, auth, key("dep-404")), nf)
	// With a new key, the same withdrawal now goes through.
	ctBalanceIs(t, s.Do(t, "PUT", ret, big, auth, key("ret-big-2")).Check(t, 200), "40.00")

	// Keys belong to their user: the same key works for someone else.
	other, _ := s.SignUp(t, "pia", apitest.Customer)
	ow := s.NewWallet(t, other)
	mine := s.Do(t, "PUT", ctWallets+"/"+ow+"/deposit", body, apitest.Token(other), key("dep-1")).Check(t, 200)
	ctFresh(t, mine)
	ctBalanceIs(t, mine, "25.00")
	// ...and it does not reach the first user's response or wallet.
	ctDetail(t, s.Do(t, "PUT", dep, body, apitest.Token(other), key("dep-2")), 404, "Not found.")
	if b := ctBalance(t, s, cust, w); b != "40.00" {
		t.Errorf("balance %s", b)
	}
	ctLedger(t, s, w)
	ctLedger(t, s, ow)
}

func TestContractIdempotentChargesAndDebits(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "quim", apitest.Customer)
	biz, bizID := s.SignUp(t, "shop", apitest.Business)
	auth, bauth := apitest.Token(cust), apitest.Token(biz)
	key := apitest.IdempotencyKey
	w := s.NewWallet(t, cust)
	s.Deposit(t, cust, w, "30.00")

	// Business wallet creation.
	bw := s.Do(t, "POST", "/wallets/business/wallet", nil, bauth, key("bw")).Check(t, http.StatusCreated)
	ctReplayed(t, s.Do(t, "POST", "/wallets/business/wallet", nil, bauth, key("bw")), bw)
	s.Do(t, "POST", "/wallets/business/wallet", nil, bauth, key("bw-2")).Check(t, http.StatusConflict)

	// Charges: one charge per key.
	charge := map[string]any{"amount": "12.00", "wallet": w, "description": "bike"}
	c := s.Do(t, "POST", ctCharges(bizID), charge, auth, key("c1")).Check(t, http.StatusCreated)
	ctReplayed(t, s.Do(t, "POST", ctCharges(bizID), charge, auth, key("c1")), c)
	ctDetail(t, s.Do(t, "POST", ctCharges(bizID), map[string]any{"amount": "13.00", "wallet": w}, auth, key("c1")), 422, ctReused)
	if n := ctCount(t, s, cust, ctCharges(bizID)); n != 1 {
		t.Fatalf("%d charges after a replay", n)
	}
	id := c.JSON(t)["uuid"].(string)

	// Debits: collected once; the replay answers 200 again, another key 409.
	d := s.Do(t, "PATCH", ctDebit(id), nil, bauth, key("d1")).Check(t, 200)
	for i := 0; i < 2; i++ {
		ctReplayed(t, s.Do(t, "PATCH", ctDebit(id), nil, bauth, key("d1")), d)
	}
	ctDetail(t, s.Do(t, "PUT", ctDebit(id), nil, bauth, key("d1")), 422, ctReused)
	ctDetail(t, s.Do(t, "PATCH", ctDebit(id), nil, bauth, key("d2")), 409, "Transaction already processed")
	if b := ctBalance(t, s, cust, w); b != "18.00" {
		t.Errorf("customer's balance %s", b)
	}
	if b := ctBusinessBalance(t, s, biz); b != "12.00" {
		t.Errorf("business's balance %s", b)
	}

	// A rejected debit is replayed as rejected; a new key tries again.
	c2 := s.Charge(t, cust, bizID, w, "20.00")
	rej := s.Do(t, "PUT", ctDebit(c2), nil, bauth, key("d3"))
	ctDetail(t, rej, 409, "Balance can't be negative")
	s.Deposit(t, cust, w, "2.00")
	ctReplayed(t, s.Do(t, "PUT", ctDebit(c2), nil, bauth, key("d3")), rej)
	s.Do(t, "PUT", ctDebit(c2), nil, bauth, key("d4")).Check(t, 200)
	if b := ctBalance(t, s, cust, w); b != "0.00" {
		t.Errorf("customer's balance %s", b)
	}
	ctLedger(t, s, w)
	ctLedger(t, s, bw.JSON(t)["uuid"].(string))

	// Customer wallet creation: one wallet per key.
	nw := s.Do(t, "POST", ctWallets, nil, auth, key("nw")).Check(t, http.StatusCreated)
	ctReplayed(t, s.Do(t, "POST", ctWallets, nil, auth, key("nw")), nw)
	ctReplayed(t, s.Do(t, "POST", ctWallets+"/", nil, auth, key("nw")), nw)
	if n := ctCount(t, s, cust, ctWallets); n != 2 {
		t.Errorf("%d wallets after replays", n)
	}
}

func TestContractIdempotentSignUp(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	key := apitest.IdempotencyKey
	body := map[string]any{
		"username": "rosa", "email": "rosa@example.com", "first_name": "Rosa",
		"password": apitest.Password, "password2": apitest.Password, "type": 2,
	}
	first := s.Do(t, "POST", "/users/sign-up", body, key("signup-1")).Check(t, http.StatusCreated)
	ctFresh(t, first)
	ctReplayed(t, s.Do(t, "POST", "/users/sign-up", body, key("signup-1")), first)
	body2 := map[string]any{}
	for k, v := range body {
		body2[k] = v
	}
	body2["username"], body2["email"] = "rosa2", "rosa2@example.com"
	// Anonymous callers have no user to scope keys by: the same key with
	// another sign-up is either refused (422) or, as this service scopes
	// anonymous keys by their request too, a sign-up of its own; never a
	// replay of the first.
	want := 1
	r := s.Do(t, "POST", "/users/sign-up", body2, key("signup-1"))
	switch {
	case r.Status == 422:
		ctDetail(t, r, 422, ctReused)
	case r.Status == http.StatusCreated && r.JSON(t)["username"] == "rosa2":
		ctFresh(t, r)
		want = 2
	default:
		t.Errorf("same key, another sign-up: %s", r)
	}
	// Without a key, a second sign-up of the same user is refused.
	s.Do(t, "POST", "/users/sign-up", body).Check(t, 400)
	token := s.Login(t, "rosa", apitest.Password)
	dir := ctAll(t, s, token, "/wallets/business")
	if len(dir) != want || dir[0]["name"] != "Rosa" || dir[0]["id"] != first.JSON(t)["id"] {
		t.Errorf("directory after replayed sign-ups: %v", dir)
	}
}

func TestContractIdempotencyKeyValidation(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "saul", apitest.Customer)
	auth := apitest.Token(cust)
	w := s.NewWallet(t, cust)
	dep := ctWallets + "/" + w + "/deposit"
	body := map[string]any{"amount": "1.00"}

	for _, k := range []string{"", strings.Repeat("k", 256), "ключ", "tab\there", "café"} {
		r := s.Do(t, "PUT", dep, body, auth, apitest.IdempotencyKey(k))
		if r.Status != 400 {
			t.Errorf("key %.20q: %s, want 400", k, r)
		} else if d, _ := r.JSON(t)["detail"].(string); d == "" {
			t.Errorf("key %.20q: 400 without a detail: %s", k, r.Body)
		}
		r = s.Do(t, "POST", ctWallets, nil, auth, apitest.IdempotencyKey(k))
		if r.Status != 400 {
			t.Errorf("wallet create with key %.20q: %s, want 400", k, r)
		}
	}
	if b := ctBalance(t, s, cust, w); b != "0.00" {
		t.Fatalf("invalid keys moved money: balance %s", b)
	}
	if n := ctCount(t, s, cust, ctWallets); n != 1 {
		t.Fatalf("invalid keys opened wallets: %d", n)
	}
	// The longest key, and every printable character.
	printable := ""
	for c := byte(0x21); c <= 0x7e; c++ {
		printable += string(c)
	}
	for _, k := range []string{strings.Repeat("k", 255), printable, "a b", "x"} {
		r := s.Do(t, "PUT", dep, body, auth, apitest.IdempotencyKey(k)).Check(t, 200)
		ctReplayed(t, s.Do(t, "PUT", dep, body, auth, apitest.IdempotencyKey(k)), r)
	}
	if b := ctBalance(t, s, cust, w); b != "4.00" {
		t.Errorf("balance %s, want 4.00", b)
	}
	// GET ignores the header.
	s.Do(t, "GET", ctWallets+"/"+w, nil, auth, apitest.IdempotencyKey("x")).Check(t, 200)
}

func TestContractIdempotentRetryAfterFailure(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "teo", apitest.Customer)
	auth := apitest.Token(cust)
	w := s.NewWallet(t, cust)
	dep := ctWallets + "/" + w + "/deposit"
	body := map[string]any{"amount": "7.00", "description": "retry me"}
	key := apitest.IdempotencyKey("retry")

	// Refused before any work (too large, not authenticated, unsupported
	// type): no key is stored, the retry runs.
	huge := []byte(`{"amount": "7.00", "description": "` + strings.Repeat("z", 70<<10) + `"}`)
	s.Do(t, "PUT", dep, nil, auth, key, apitest.RawBody(huge, "application/json")).Check(t, http.StatusRequestEntityTooLarge)
	s.Do(t, "PUT", dep, nil, auth, key, apitest.RawBody([]byte(`{"amount": "7.00", "description": "retry me"}`), "text/plain")).
		Check(t, http.StatusUnsupportedMediaType)
	s.Do(t, "PUT", dep, body, key).Check(t, http.StatusUnauthorized)
	s.Do(t, "PUT", dep, body, key, apitest.Token("not.a.token")).Check(t, http.StatusUnauthorized)

	// A server fault while doing the work: the work rolls back, the key is
	// released, the answer leaks nothing.
	pool := ctPool(t, s)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
		CREATE FUNCTION ct_fail() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'ct_fail: injected failure in SECRET_TABLE'; END $$;
		CREATE TRIGGER ct_fail BEFORE INSERT ON transactions FOR EACH ROW EXECUTE FUNCTION ct_fail();`)
	ctMust(t, err, "install the failure")
	r := s.Do(t, "PUT", dep, body, auth, key)
	ctDetail(t, r, 500, "A server error occurred.")
	if strings.Contains(string(r.Body), "SECRET") || strings.Contains(string(r.Body), "ct_fail") {
		t.Errorf("fault leaked internals: %s", r.Body)
	}
	if b := ctBalance(t, s, cust, w); b != "0.00" {
		t.Fatalf("a failed deposit moved money: %s", b)
	}
	_, err = pool.Exec(ctx, `DROP TRIGGER ct_fail ON transactions; DROP FUNCTION ct_fail();`)
	ctMust(t, err, "remove the failure")

	// The retry with the same key does the work, once.
	first := s.Do(t, "PUT", dep, body, auth, key).Check(t, 200)
	ctFresh(t, first)
	ctBalanceIs(t, first, "7.00")
	ctReplayed(t, s.Do(t, "PUT", dep, body, auth, key), first)
	if b := ctBalance(t, s, cust, w); b != "7.00" {
		t.Fatalf("balance %s after the retry and a replay", b)
	}
	if n := ctCount(t, s, cust, ctWallets+"/"+w+"/transactions"); n != 1 {
		t.Fatalf("%d transactions", n)
	}
	ctLedger(t, s, w)
}

// TestIdempotencyLongAnonymousKey: an anonymous caller's key of up to 255
// characters works like any other (it answered 500 from 191 characters up,
// when the scoped key overflowed its column).
func TestIdempotencyLongAnonymousKey(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	for _, n := range []int{190, 191, 255} {
		key := strings.Repeat("k", n)
		name := fmt.Sprintf("long%d", n)
		body := map[string]any{"username": name, "email": name + "@example.com",
			"password": apitest.Password, "password2": apitest.Password}
		first := s.Do(t, "POST", "/users/sign-up", body, apitest.IdempotencyKey(key)).Check(t, http.StatusCreated)
		again := s.Do(t, "POST", "/users/sign-up", body, apitest.IdempotencyKey(key)).Check(t, http.StatusCreated)
		if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
			t.Errorf("key of %d: the repeat was not the first answer replayed: %s", n, again)
		}
		login := map[string]any{"username": name, "password": apitest.Password}
		s.Do(t, "POST", "/users/login", login, apitest.IdempotencyKey(key)).Check(t, http.StatusOK)
		s.Do(t, "POST", "/users/logout", nil, apitest.IdempotencyKey(key)).Check(t, http.StatusNoContent)
	}
}
