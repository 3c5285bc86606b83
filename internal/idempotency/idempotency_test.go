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
