package contract_test

import (
	"net/http"
	"strings"
	"testing"

	"wallets/internal/apitest"
)

// TestContractNumbersAndEncoding: numbers beyond a float64 are the field's
// error (never a parse error naming Go types), and bodies that are not UTF-8
// are malformed JSON.
func TestContractNumbersAndEncoding(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "numbers", apitest.Customer)
	w := s.NewWallet(t, token)
	deposit := "/wallets/customers/wallets/" + w + "/deposit"

	for _, body := range []string{
		`{"amount": 1e400, "description": "x"}`,
		`{"amount": ` + strings.Repeat("9", 401) + `}`,
	} {
		r := s.Do(t, "PUT", deposit, nil, apitest.Token(token), apitest.RawBody([]byte(body), "application/json")).
			Check(t, http.StatusBadRequest)
		if errs, _ := r.JSON(t)["amount"].([]any); len(errs) == 0 {
			t.Errorf("%.40s...: %s, want an amount error", body, r.Body)
		}
	}
	// A number where a string is expected is taken as its text, as the
	// original's CharField did, however large. (Unchecked: kin-openapi
	// reads JSON numbers as float64, so it cannot read 1e400 at all; the
	// document does say description is a string or a number.)
	s.Do(t, "PUT", deposit, nil, apitest.Token(token), apitest.Unchecked(),
		apitest.RawBody([]byte(`{"amount": "1.00", "description": 1e400}`), "application/json")).Check(t, http.StatusOK)

	bad := []byte("{\"amount\": \"1.00\", \"description\": \"\xff\xfe\"}")
	r := s.Do(t, "PUT", deposit, nil, apitest.Token(token), apitest.RawBody(bad, "application/json")).Check(t, http.StatusBadRequest)
	if d, _ := r.JSON(t)["detail"].(string); !strings.HasPrefix(d, "JSON parse error - ") {
		t.Errorf("invalid UTF-8: %s", r.Body)
	}
	s.Do(t, "PUT", deposit, nil, apitest.Token(token),
		apitest.RawBody([]byte("amount=1.00&description=%ff%fe"), "application/x-www-form-urlencoded")).Check(t, http.StatusBadRequest)
	if got := s.Do(t, "GET", "/wallets/customers/wallets/"+w, nil, apitest.Token(token)).JSON(t)["balance"]; got != "1.00" {
		t.Errorf("balance %v", got)
	}
}

// TestContractIdempotencyCanonicalJSON: the same JSON request with its keys
// in another order or other spacing is the same request.
func TestContractIdempotencyCanonicalJSON(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "canonical", apitest.Customer)
	w := s.NewWallet(t, token)
	deposit := "/wallets/customers/wallets/" + w + "/deposit"
	first := s.Do(t, "PUT", deposit, nil, apitest.Token(token), apitest.IdempotencyKey("k1"),
		apitest.RawBody([]byte(`{"amount":"5.00","description":"same"}`), "application/json")).Check(t, http.StatusOK)
	again := s.Do(t, "PUT", deposit, nil, apitest.Token(token), apitest.IdempotencyKey("k1"),
		apitest.RawBody([]byte("{ \"description\": \"same\",\n  \"amount\": \"5.00\" }"), "application/json")).Check(t, http.StatusOK)
	if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("reordered keys were not a replay: %s then %s", first, again)
	}
	// A different value still is a different request.
	s.Do(t, "PUT", deposit, nil, apitest.Token(token), apitest.IdempotencyKey("k1"),
		apitest.RawBody([]byte(`{"amount":"5.01","description":"same"}`), "application/json")).Check(t, http.StatusUnprocessableEntity)
	if got := s.Do(t, "GET", "/wallets/customers/wallets/"+w, nil, apitest.Token(token)).JSON(t)["balance"]; got != "5.00" {
		t.Errorf("balance %v, want 5.00", got)
	}
}
