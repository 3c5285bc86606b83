package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wallets/internal/webhook"
)

// TestReceiverChecksSignaturesAndFailsFirstAttempts: a signed delivery is
// accepted (after a 500 on its first attempt with -fail-first), a badly
// signed one refused, and each is printed with its attempt number.
func TestReceiverChecksSignaturesAndFailsFirstAttempts(t *testing.T) {
	var out bytes.Buffer
	srv := httptest.NewServer(newReceiver("whsec_test", true, &out))
	defer srv.Close()
	body := []byte(`{"id":"e1","type":"wallet.deposited"}`)
	send := func(secret string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set(webhook.HeaderEventID, "e1")
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, time.Now(), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send("whsec_test"); got != http.StatusInternalServerError {
		t.Errorf("first attempt answered %d, want 500", got)
	}
	if got := send("whsec_test"); got != http.StatusNoContent {
		t.Errorf("second attempt answered %d, want 204", got)
	}
	if got := send("whsec_other"); got != http.StatusUnauthorized {
		t.Errorf("a forged delivery answered %d, want 401", got)
	}
	for _, want := range []string{"event e1 attempt 1: signature ok; answered 500", "event e1 attempt 2: signature ok; answered 204",
		"event e1 attempt 3: signature BAD"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
