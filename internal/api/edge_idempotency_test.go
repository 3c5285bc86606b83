package api_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wallets/internal/apperr"
	"wallets/internal/idempotency"
	"wallets/internal/money"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

func withKey(q req, key string) req {
	h := map[string]string{"Idempotency-Key": key}
	for k, v := range q.headers {
		h[k] = v
	}
	q.headers = h
	return q
}

// depositing sets a DepositFn that checks it runs inside the runner's unit
// of work and counts its calls.
func depositing(t *testing.T, e *edge, calls *counter, err error) {
	e.wallets.DepositFn = func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, desc string) (wallet.Wallet, error) {
		calls.inc()
		if e.wallets.units.unitOf("Deposit") == "" {
			t.Error("Deposit called outside the runner's unit of work")
		}
		if err != nil {
			return wallet.Wallet{}, err
		}
		return customerWallet(amount), nil
	}
}

func TestEdgeIdempotency(t *testing.T) {
	deposit := func(body string) req {
		return req{fn: "wallets-deposit", params: walletParams, caller: customer(customerID), body: body}
	}

	t.Run("the runner gets the caller, the key and a hash", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		depositing(t, e, &calls, nil)
		resp := e.do(withKey(deposit(`{"amount":"12.50"}`), "key-1"))
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, walletJSON("12.50"))
		checkHeaders(t, resp, map[string]string{"Idempotent-Replayed": ""})
		if len(e.idem.Requests) != 1 {
			t.Fatalf("runner called %d times", len(e.idem.Requests))
		}
		r := e.idem.Requests[0]
		if r.User != customerID || r.Key != "key-1" || len(r.Hash) == 0 {
			t.Errorf("Request = %+v, want User %d, Key key-1, a Hash", r, customerID)
		}
		if len(e.idem.Runs) != 1 || e.idem.Runs[0].Err != nil || e.idem.Runs[0].Answer.Status != 200 ||
			string(e.idem.Runs[0].Answer.Body) != walletJSON("12.50") {
			t.Errorf("work returned %+v", e.idem.Runs)
		}
	})

	t.Run("the key is found in any case, in the multi-value headers", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		depositing(t, e, &calls, nil)
		q := deposit(`{"amount":"1.00"}`)
		q.multi = map[string][]string{"idempotency-key": {"key-mv"}}
		checkStatus(t, e.do(q), http.StatusOK)
		if len(e.idem.Requests) != 1 || e.idem.Requests[0].Key != "key-mv" {
			t.Errorf("runner requests %+v", e.idem.Requests)
		}
	})

	t.Run("without a key the runner is not used", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		e.wallets.DepositFn = func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, desc string) (wallet.Wallet, error) {
			calls.inc()
			return customerWallet(amount), nil
		}
		checkStatus(t, e.do(deposit(`{"amount":"1.00"}`)), http.StatusOK)
		if len(e.idem.Requests) != 0 || calls.get() != 1 {
			t.Errorf("runner called %d times, Deposit %d", len(e.idem.Requests), calls.get())
		}
	})

	t.Run("with a key the work calls the services bound to the key's unit, without one the unbound", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		depositing(t, e, &calls, nil)
		checkStatus(t, e.do(withKey(deposit(`{"amount":"1.00"}`), "bound-key")), http.StatusOK)
		if u := e.wallets.units.unitOf("Deposit"); u != "bound-key" {
			t.Errorf("keyed Deposit ran in unit %q, want the key's", u)
		}
		e.wallets.DepositFn = func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, desc string) (wallet.Wallet, error) {
			return customerWallet(amount), nil
		}
		checkStatus(t, e.do(deposit(`{"amount":"1.00"}`)), http.StatusOK)
		if u := e.wallets.units.unitOf("Deposit"); u != "" {
			t.Errorf("Deposit without a key ran in unit %q, want none", u)
		}
	})

	t.Run("a stored answer is replayed with its body and cookie", func(t *testing.T) {
		e := newEdge(t) // LogIn unset: must not be called
		stored := idempotency.Answer{
			Status:  http.StatusOK,
			Body:    []byte(`{"token":"stored-token","user":` + pabloJSON + `}`),
			Headers: map[string][]string{"Set-Cookie": {"jwt=stored-token; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Lax"}},
		}
		e.idem.Replay = &stored
		resp := e.do(withKey(req{fn: "users-login", body: `{"username":"pablo","password":"pw"}`}, "login-1"))
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, string(stored.Body))
		checkHeaders(t, resp, map[string]string{"Idempotent-Replayed": "true"})
		if got := cookies(resp); !reflect.DeepEqual(got, stored.Headers["Set-Cookie"]) {
			t.Errorf("Set-Cookie = %q, want %q", got, stored.Headers["Set-Cookie"])
		}
	})

	t.Run("a stored refusal is replayed with its headers", func(t *testing.T) {
		e := newEdge(t)
		e.idem.Replay = &idempotency.Answer{Status: 429, Body: []byte(`{"detail":"Request was throttled. Expected available in 60 seconds."}`),
			Headers: map[string][]string{"Retry-After": {"60"}}}
		resp := e.do(withKey(req{fn: "users-login", body: `{"username":"pablo","password":"pw"}`}, "login-2"))
		checkStatus(t, resp, 429)
		checkBody(t, resp, `{"detail":"Request was throttled. Expected available in 60 seconds."}`)
		checkHeaders(t, resp, map[string]string{"Idempotent-Replayed": "true", "Retry-After": "60"})
		if c := cookies(resp); len(c) != 0 {
			t.Errorf("Set-Cookie = %q", c)
		}
	})

	t.Run("the same request again is replayed without the work", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		depositing(t, e, &calls, nil)
		first := e.do(withKey(deposit(`{"amount":"12.50","description":"cash"}`), "key-2"))
		// The same JSON, keys reordered and spaced: the same request.
		again := e.do(withKey(deposit(`{ "description": "cash", "amount": "12.50" }`), "key-2"))
		checkStatus(t, again, http.StatusOK)
		checkBody(t, again, first.Body)
		checkHeaders(t, again, map[string]string{"Idempotent-Replayed": "true"})
		if calls.get() != 1 {
			t.Errorf("Deposit called %d times, want once", calls.get())
		}
		if r := e.idem.Requests; len(r) != 2 || string(r[0].Hash) != string(r[1].Hash) {
			t.Errorf("hashes of the same request differ: %x", r)
		}
	})

	t.Run("the same key with another request is told apart by its hash", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		depositing(t, e, &calls, nil)
		e.wallets.WalletFn = ownWallet
		checkStatus(t, e.do(withKey(deposit(`{"amount":"12.50"}`), "key-3")), http.StatusOK)
		other := []req{
			deposit(`{"amount":"12.51"}`),
			{fn: "wallets-retire", params: walletParams, caller: customer(customerID), body: `{"amount":"12.50"}`},
			{fn: "wallets-deposit", params: map[string]string{"uuid": uuid.NewString()}, caller: customer(customerID), body: `{"amount":"12.50"}`},
		}
		for _, q := range other {
			resp := e.do(withKey(q, "key-3"))
			checkStatus(t, resp, http.StatusUnprocessableEntity)
			checkBody(t, resp, `{"detail":"Idempotency-Key reused with a different request."}`)
		}
		if calls.get() != 1 {
			t.Errorf("Deposit called %d times, want once", calls.get())
		}
	})

	t.Run("the runner's refusals", func(t *testing.T) {
		for _, c := range []struct {
			err    error
			status int
			body   string
		}{
			{apperr.ErrKeyInProgress, 409, `{"detail":"A request with this Idempotency-Key is still in progress."}`},
			{apperr.ErrKeyMismatch, 422, `{"detail":"Idempotency-Key reused with a different request."}`},
			{unavailable(), 503, bodyUnavailable},
		} {
			e := newEdge(t) // Deposit unset: must not be called
			e.idem.Err = c.err
			resp := e.do(withKey(deposit(`{"amount":"1.00"}`), "key-4"))
			checkStatus(t, resp, c.status)
			checkBody(t, resp, c.body)
			checkHeaders(t, resp, map[string]string{"Idempotent-Replayed": ""})
		}
	})

	t.Run("invalid keys: 400 and nothing runs", func(t *testing.T) {
		for _, key := range []string{"", strings.Repeat("k", 256), "clé", "tab\there", "del\x7f"} {
			e := newEdge(t) // Deposit unset
			resp := e.do(withKey(deposit(`{"amount":"1.00"}`), key))
			checkStatus(t, resp, http.StatusBadRequest)
			checkBody(t, resp, `{"detail":"Idempotency-Key must be 1 to 255 printable ASCII characters."}`)
			if len(e.idem.Requests) != 0 {
				t.Errorf("key %q: runner called", key)
			}
		}
	})

	t.Run("an empty multi-value key is still a key: 400", func(t *testing.T) {
		e := newEdge(t)
		q := deposit(`{"amount":"1.00"}`)
		q.multi = map[string][]string{"Idempotency-Key": {}}
		resp := e.do(q)
		checkStatus(t, resp, http.StatusBadRequest)
		checkBody(t, resp, `{"detail":"Idempotency-Key must be 1 to 255 printable ASCII characters."}`)
	})

	t.Run("a key of 255 printable characters is taken", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		depositing(t, e, &calls, nil)
		key := strings.Repeat("~", 255)
		checkStatus(t, e.do(withKey(deposit(`{"amount":"1.00"}`), key)), http.StatusOK)
		if len(e.idem.Requests) != 1 || e.idem.Requests[0].Key != key {
			t.Errorf("runner requests %+v", e.idem.Requests)
		}
	})

	t.Run("a refusal is kept: the work answers it without error", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		e.wallets.WithdrawFn = func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, desc string) (wallet.Wallet, error) {
			calls.inc()
			return wallet.Wallet{}, wallet.ErrNegativeBalance
		}
		q := withKey(req{fn: "wallets-retire", params: walletParams, caller: customer(customerID), body: `{"amount":"-1000.00"}`}, "key-5")
		resp := e.do(q)
		checkStatus(t, resp, http.StatusConflict)
		checkBody(t, resp, bodyNegative)
		if len(e.idem.Runs) != 1 {
			t.Fatalf("work ran %d times", len(e.idem.Runs))
		}
		if run := e.idem.Runs[0]; run.Err != nil || run.Answer.Status != http.StatusConflict || string(run.Answer.Body) != bodyNegative {
			t.Errorf("work returned %+v (body %s), want a 409 answer and no error", run, run.Answer.Body)
		}
		again := e.do(q)
		checkStatus(t, again, http.StatusConflict)
		checkBody(t, again, bodyNegative)
		checkHeaders(t, again, map[string]string{"Idempotent-Replayed": "true"})
		if calls.get() != 1 {
			t.Errorf("Withdraw called %d times, want once", calls.get())
		}
	})

	t.Run("a collect rejection is kept", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.CollectFn = func(ctx context.Context, biz int64, id uuid.UUID) (wallet.Transaction, error) {
			return charge(wallet.Rejected), wallet.ErrNegativeBalance
		}
		resp := e.do(withKey(req{fn: "business-debit", params: chargeParams, caller: business(businessID)}, "key-6"))
		checkStatus(t, resp, http.StatusConflict)
		if len(e.idem.Runs) != 1 || e.idem.Runs[0].Err != nil || e.idem.Runs[0].Answer.Status != 409 || e.idem.stored() != 1 {
			t.Errorf("work returned %+v, %d stored; want a kept 409", e.idem.Runs, e.idem.stored())
		}
		if r := e.idem.Requests[0]; r.User != businessID {
			t.Errorf("Request.User = %d, want %d", r.User, businessID)
		}
	})

	t.Run("a validation refusal is kept", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.WalletFn = ownWallet
		resp := e.do(withKey(deposit(`{"amount":"-1.00"}`), "key-7"))
		checkStatus(t, resp, http.StatusBadRequest)
		if len(e.idem.Runs) != 1 || e.idem.Runs[0].Err != nil || e.idem.Runs[0].Answer.Status != 400 {
			t.Errorf("work returned %+v, want a 400 answer", e.idem.Runs)
		}
	})

	t.Run("a fault is not kept: the work returns the error, the client gets 500", func(t *testing.T) {
		e := newEdge(t)
		fault := errors.New("pq: deadlock detected")
		var calls counter
		depositing(t, e, &calls, fault)
		q := withKey(deposit(`{"amount":"12.50"}`), "key-8")
		resp := e.do(q)
		checkStatus(t, resp, http.StatusInternalServerError)
		checkBody(t, resp, bodyFault)
		if len(e.idem.Runs) != 1 || !errors.Is(e.idem.Runs[0].Err, fault) {
			t.Errorf("work returned %+v, want the fault", e.idem.Runs)
		}
		if e.idem.stored() != 0 {
			t.Error("an answer to a fault was kept")
		}
		// The client retries with the same key: the work runs again.
		depositing(t, e, &calls, nil)
		again := e.do(q)
		checkStatus(t, again, http.StatusOK)
		checkHeaders(t, again, map[string]string{"Idempotent-Replayed": ""})
		if calls.get() != 2 {
			t.Errorf("Deposit called %d times, want twice", calls.get())
		}
	})

	t.Run("the database out of reach is not kept: 503", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		depositing(t, e, &calls, unavailable())
		resp := e.do(withKey(deposit(`{"amount":"12.50"}`), "key-9"))
		checkStatus(t, resp, http.StatusServiceUnavailable)
		checkBody(t, resp, bodyUnavailable)
		checkHeaders(t, resp, map[string]string{"Retry-After": "5"})
		if len(e.idem.Runs) != 1 || !errors.Is(e.idem.Runs[0].Err, apperr.ErrUnavailable) || e.idem.stored() != 0 {
			t.Errorf("work returned %+v, %d stored; want the fault, nothing kept", e.idem.Runs, e.idem.stored())
		}
	})

	t.Run("an anonymous key is scoped by the request", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		e.users.SignUpFn = func(ctx context.Context, a user.NewAccount) (user.User, error) {
			calls.inc()
			if e.users.units.unitOf("SignUp") == "" {
				t.Error("SignUp called outside the runner's unit of work")
			}
			return user.User{ID: int64(10 + calls.get()), Username: a.Username, Email: a.Email, Type: a.Type}, nil
		}
		signUp := func(name string) req {
			return withKey(req{fn: "users-sign-up", body: `{"username":"` + name + `","email":"` + name + `@mail.com",` +
				`"password":"Tr0mbone-Galaxy-42","password2":"Tr0mbone-Galaxy-42"}`}, "signup-key")
		}
		checkStatus(t, e.do(signUp("ana")), http.StatusCreated)
		// Another client's sign-up with the same key is another request,
		// not a 422 nor a replay of someone else's answer.
		resp := e.do(signUp("bea"))
		checkStatus(t, resp, http.StatusCreated)
		checkHeaders(t, resp, map[string]string{"Idempotent-Replayed": ""})
		r := e.idem.Requests
		if len(r) != 2 {
			t.Fatalf("runner called %d times", len(r))
		}
		for _, x := range r {
			if x.User != 0 || x.Key == "signup-key" || len(x.Key) > idempotency.MaxKey || len(x.Hash) == 0 {
				t.Errorf("Request = %+v, want User 0 and the key scoped", x)
			}
		}
		if r[0].Key == r[1].Key {
			t.Errorf("two requests under one anonymous key share the scoped key %q", r[0].Key)
		}
		// The first client retrying gets its own answer back.
		again := e.do(signUp("ana"))
		checkStatus(t, again, http.StatusCreated)
		checkHeaders(t, again, map[string]string{"Idempotent-Replayed": "true"})
		if !strings.Contains(again.Body, `"username":"ana"`) || calls.get() != 2 {
			t.Errorf("replay %s after %d sign-ups", again.Body, calls.get())
		}
	})

	t.Run("a login replayed gives back the same cookie", func(t *testing.T) {
		e := newEdge(t)
		var calls counter
		e.users.LogInFn = func(ctx context.Context, username, password, source string) (user.User, error) {
			calls.inc()
			return pablo(), nil
		}
		q := withKey(req{fn: "users-login", body: `{"username":"pablo","password":"pw"}`}, "login-3")
		first := e.do(q)
		again := e.do(q)
		checkStatus(t, again, http.StatusOK)
		checkHeaders(t, again, map[string]string{"Idempotent-Replayed": "true"})
		checkBody(t, again, first.Body)
		if c1, c2 := cookies(first), cookies(again); len(c1) != 1 || !reflect.DeepEqual(c1, c2) {
			t.Errorf("Set-Cookie first %q, replayed %q", c1, c2)
		}
		if calls.get() != 1 {
			t.Errorf("LogIn called %d times", calls.get())
		}
	})

	t.Run("a logout replayed is 204 with the clearing cookie", func(t *testing.T) {
		e := newEdge(t)
		e.users.RevokeTokensFn = func(context.Context, int64, int) error { return nil }
		q := withKey(req{fn: "users-logout", caller: customer(customerID)}, "logout-1")
		e.do(q)
		again := e.do(q)
		checkStatus(t, again, http.StatusNoContent)
		checkHeaders(t, again, map[string]string{"Idempotent-Replayed": "true"})
		checkCleared(t, again)
	})

	t.Run("reads take no key", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.WalletFn = ownWallet
		resp := e.do(withKey(req{fn: "wallets-get", params: walletParams, caller: customer(customerID)}, ""))
		checkStatus(t, resp, http.StatusOK)
		if len(e.idem.Requests) != 0 {
			t.Error("a GET ran under the runner")
		}
	})
}
