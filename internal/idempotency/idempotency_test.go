package idempotency

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"wallets/internal/apperr"
)

func TestNewRequest(t *testing.T) {
	hash := sha256.Sum256([]byte("PUT /x {}"))
	other := sha256.Sum256([]byte("PUT /y {}"))
	for _, tt := range []struct {
		name string
		user int64
		key  string
		ok   bool
	}{
		{"one character", 7, "k", true},
		{"255 characters", 7, strings.Repeat("k", MaxKey), true},
		{"printable ASCII", 7, "a b~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", true},
		{"empty", 7, "", false},
		{"256 characters", 7, strings.Repeat("k", MaxKey+1), false},
		{"a control character", 7, "a\tb", false},
		{"not ASCII", 7, "clé", false},
		{"anonymous, 255 characters", 0, strings.Repeat("k", MaxKey), true},
		{"anonymous, 191 characters", 0, strings.Repeat("k", 191), true},
	} {
		r, err := NewRequest(tt.user, tt.key, hash[:])
		if !tt.ok {
			if !errors.Is(err, apperr.ErrKeyInvalid) {
				t.Errorf("%s: %v, want ErrKeyInvalid", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if r.User != tt.user || !bytes.Equal(r.Hash, hash[:]) {
			t.Errorf("%s: %+v", tt.name, r)
		}
		if len(r.Key) > MaxKey {
			t.Errorf("%s: stored key of %d characters, more than %d", tt.name, len(r.Key), MaxKey)
		}
		if tt.user != 0 && r.Key != tt.key {
			t.Errorf("%s: a caller's key is kept as given, got %q", tt.name, r.Key)
		}
	}
	// Anonymous keys are scoped by the request: the same key of two
	// requests is two keys; the same key of one request is one.
	a, _ := NewRequest(0, "k", hash[:])
	b, _ := NewRequest(0, "k", other[:])
	c, _ := NewRequest(0, "k", hash[:])
	if a.Key == b.Key || a.Key != c.Key || a.Key == "k" {
		t.Errorf("anonymous keys %q %q %q: want the first and last equal, the middle different", a.Key, b.Key, c.Key)
	}
}

// An anonymous request's answer is kept sealed: the stored body shows
// neither the token nor the cookie, and only the same key with the same
// request opens it. A user's answer is kept as it is.
func TestSealAnonymousAnswers(t *testing.T) {
	hash := []byte("request fingerprint with the password in it")
	req, err := NewRequest(0, "key-1", hash)
	if err != nil {
		t.Fatal(err)
	}
	a := Answer{Status: 200, Body: []byte(`{"token":"eyJ.secret.token"}`), Headers: map[string][]string{"Set-Cookie": {"jwt=eyJ.secret.token"}}}
	kept, err := req.Seal(a)
	if err != nil {
		t.Fatal(err)
	}
	if kept.Status != 200 || kept.Headers != nil || bytes.Contains(kept.Body, []byte("secret")) {
		t.Fatalf("sealed answer shows its contents: %+v", kept)
	}
	again, _ := NewRequest(0, "key-1", hash)
	opened, err := again.Open(kept)
	if err != nil || opened.Status != 200 || string(opened.Body) != string(a.Body) || opened.Headers["Set-Cookie"][0] != a.Headers["Set-Cookie"][0] {
		t.Fatalf("Open = %+v, %v; want %+v", opened, err, a)
	}
	// A request that is not the same cannot open it (its scoped key differs
	// too, so the store would never hand it over; this is the second lock).
	other := Request{User: 0, Key: req.Key, Hash: hash, seal: sealKey("key-2", hash)}
	if _, err := other.Open(kept); err == nil {
		t.Error("another key opened the answer")
	}
	// Answers kept before sealing, and users' answers, are plain.
	if got, err := again.Open(a); err != nil || string(got.Body) != string(a.Body) {
		t.Errorf("plain answer: %+v, %v", got, err)
	}
	user, _ := NewRequest(7, "key-1", hash)
	if got, err := user.Seal(a); err != nil || string(got.Body) != string(a.Body) {
		t.Errorf("a user's answer was sealed: %+v, %v", got, err)
	}
	if _, err := user.Open(kept); err == nil {
		t.Error("a user's request opened an anonymous answer")
	}
}
