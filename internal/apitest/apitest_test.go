package apitest_test

import (
	"net/http"
	"net/url"
	"os"
	"testing"

	"wallets/internal/apitest"
	"wallets/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestFirstSession walks a customer and a business through the money flow
// over HTTP.
func TestFirstSession(t *testing.T) {
	s := apitest.New(t)
	s.Do(t, "GET", "/health", nil).Check(t, http.StatusOK)

	customer, _ := s.SignUp(t, "pablo", apitest.Customer)
	business, businessID := s.SignUp(t, "mediamarket", apitest.Business)

	me := s.Do(t, "GET", "/users/me", nil, apitest.Token(customer)).Check(t, http.StatusOK).JSON(t)
	if me["username"] != "pablo" {
		t.Errorf("me: %v", me)
	}

	w := s.NewWallet(t, customer)
	if got := s.Deposit(t, customer, w, "200.00"); got != "200.00" {
		t.Errorf("balance after deposit %q", got)
	}
	s.NewBusinessWallet(t, business)
	charge := s.Charge(t, customer, businessID, w, "15.00")

	tx := s.Do(t, "PATCH", "/wallets/business/transactions/"+charge+"/debit", nil, apitest.Token(business)).
		Check(t, http.StatusOK).JSON(t)
	if tx["status"] != float64(2) || tx["amount"] != "15.00" {
		t.Errorf("debited transaction %v", tx)
	}
	got := s.Do(t, "GET", "/wallets/customers/wallets/"+w, nil, apitest.Token(customer)).Check(t, http.StatusOK).JSON(t)
	if got["balance"] != "185.00" {
		t.Errorf("customer's balance %v", got["balance"])
	}
	bw := s.Do(t, "GET", "/wallets/business/wallet", nil, apitest.Token(business)).Check(t, http.StatusOK).JSON(t)
	if bw["balance"] != "15.00" {
		t.Errorf("business's balance %v", bw["balance"])
	}
}

func TestHelpers(t *testing.T) {
	s := apitest.New(t)
	token, id := s.SignUp(t, "lucia", apitest.Customer)

	// Form-encoded bodies, the cookie, Bearer tokens, raw bodies.
	login := s.Do(t, "POST", "/users/login", url.Values{"username": {"lucia"}, "password": {apitest.Password}}).Check(t, http.StatusOK)
	if len(login.Header.Values("Set-Cookie")) == 0 {
		t.Error("login set no cookie")
	}
	s.Do(t, "GET", "/users/me", nil, apitest.Header("Cookie", "jwt="+token)).Check(t, http.StatusOK)
	me := s.Do(t, "GET", "/users/me", nil, apitest.Header("Authorization", "Bearer "+token)).Check(t, http.StatusOK).JSON(t)
	if me["id"] != float64(id) {
		t.Errorf("me %v, want id %d", me, id)
	}
	bad := s.Do(t, "POST", "/users/login", nil, apitest.RawBody([]byte(`{"username":`), "application/json")).Check(t, http.StatusBadRequest)
	if d, _ := bad.JSON(t)["detail"].(string); len(d) < 16 || d[:16] != "JSON parse error" {
		t.Errorf("malformed JSON: %s", bad.Body)
	}
	s.Do(t, "GET", s.URL+"/nowhere", nil).Check(t, http.StatusNotFound)

	// Idempotency-Key replays.
	w := s.NewWallet(t, token)
	body := map[string]any{"amount": "5.00", "description": "once"}
	first := s.Do(t, "PUT", "/wallets/customers/wallets/"+w+"/deposit", body, apitest.Token(token), apitest.IdempotencyKey("k1")).Check(t, http.StatusOK)
	again := s.Do(t, "PUT", "/wallets/customers/wallets/"+w+"/deposit", body, apitest.Token(token), apitest.IdempotencyKey("k1")).Check(t, http.StatusOK)
	if string(first.Body) != string(again.Body) {
		t.Errorf("replay %s, first %s", again.Body, first.Body)
	}
	if got := s.Deposit(t, token, w, "1.00"); got != "6.00" {
		t.Errorf("balance %q after a replayed deposit of 5.00 and one of 1.00", got)
	}
}
