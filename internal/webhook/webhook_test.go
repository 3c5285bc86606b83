package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if !strings.HasPrefix(a, SecretPrefix) || len(a) != len(SecretPrefix)+43 {
		t.Errorf("secret %q: want %s and 43 base64url characters", a, SecretPrefix)
	}
	if a == b {
		t.Error("two secrets are the same")
	}
}

func TestSign(t *testing.T) {
	body := []byte(`{"id":"e1"}`)
	at := time.Unix(1700000000, 0)
	m := hmac.New(sha256.New, []byte("whsec_k"))
	m.Write([]byte(`1700000000.{"id":"e1"}`))
	want := "t=1700000000,v1=" + hex.EncodeToString(m.Sum(nil))
	if got := Sign("whsec_k", at, body); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	const secret = "whsec_test"
	body := []byte(`{"id":"e1","type":"wallet.deposited"}`)
	now := time.Unix(1700000000, 0)
	good := Sign(secret, now, body)
	v1 := good[strings.Index(good, "v1="):]
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"good", secret, good, body, now, nil},
		{"within tolerance", secret, good, body, now.Add(DefaultTolerance), nil},
		{"with spaces and extra keys", secret, "t=1700000000, v0=ab, " + v1, body, now, nil},
		{"second of two v1", secret, "t=1700000000,v1=" + strings.Repeat("00", 32) + "," + v1, body, now, nil},
		{"tampered body", secret, good, []byte(`{"id":"e2","type":"wallet.deposited"}`), now, ErrSignatureMismatch},
		{"empty body", secret, good, nil, now, ErrSignatureMismatch},
		{"wrong secret", "whsec_other", good, body, now, ErrSignatureMismatch},
		{"other timestamp", secret, "t=1700000001," + v1, body, now, ErrSignatureMismatch},
		{"old", secret, good, body, now.Add(DefaultTolerance + time.Second), ErrSignatureExpired},
		{"future", secret, good, body, now.Add(-DefaultTolerance - time.Second), ErrSignatureExpired},
		{"empty", secret, "", body, now, ErrSignatureMalformed},
		{"no t", secret, v1, body, now, ErrSignatureMalformed},
		{"no v1", secret, "t=1700000000", body, now, ErrSignatureMalformed},
		{"two t", secret, "t=1700000000,t=1700000000," + v1, body, now, ErrSignatureMalformed},
		{"t not a number", secret, "t=soon," + v1, body, now, ErrSignatureMalformed},
		{"t signed", secret, "t=+1700000000," + v1, body, now, ErrSignatureMalformed},
		{"v1 not hex", secret, "t=1700000000,v1=zz", body, now, ErrSignatureMalformed},
		{"v1 short", secret, "t=1700000000,v1=abcd", body, now, ErrSignatureMalformed},
		{"no =", secret, "t1700000000," + v1, body, now, ErrSignatureMalformed},
	}
	for _, tt := range tests {
		if err := Verify(tt.secret, tt.header, tt.body, tt.now, 0); !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := Verify(secret, good, body, now.Add(time.Minute), 30*time.Second); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("a minute old with 30 s tolerance: Verify = %v", err)
	}
}
