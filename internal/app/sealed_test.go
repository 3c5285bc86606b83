package app_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"

	"wallets/internal/apitest"
)

// A login made with an Idempotency-Key is replayed with its token, but the
// idempotency store keeps neither the token nor its cookie readable.
func TestLoginAnswersAreKeptSealed(t *testing.T) {
	s := apitest.New(t)
	s.SignUp(t, "sealed", apitest.Customer)
	login := func() *apitest.Result {
		return s.Do(t, "POST", "/users/login", map[string]any{"username": "sealed", "password": apitest.Password},
			apitest.IdempotencyKey("login-1")).Check(t, http.StatusOK)
	}
	first := login()
	token, _ := first.JSON(t)["token"].(string)
	if token == "" {
		t.Fatalf("no token: %s", first.Body)
	}
	again := login()
	if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, first.Body) {
		t.Errorf("replay: %q %s, want the first answer", again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	if first.Header.Get("Set-Cookie") != "" && again.Header.Get("Set-Cookie") != first.Header.Get("Set-Cookie") {
		t.Errorf("replayed cookie %q, want %q", again.Header.Get("Set-Cookie"), first.Header.Get("Set-Cookie"))
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var body []byte
	var headers *string
	if err := conn.QueryRow(ctx, `SELECT response_body, response_headers::text FROM idempotency_keys WHERE user_id = 0 OR user_id IS NULL`).Scan(&body, &headers); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte(token)) || (headers != nil && bytes.Contains([]byte(*headers), []byte(token))) {
		t.Errorf("the store keeps the token readable: body %q, headers %v", body, headers)
	}
}
