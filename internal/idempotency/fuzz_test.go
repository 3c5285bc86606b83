package idempotency

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"wallets/internal/apperr"
)

// FuzzNewRequest: NewRequest never panics; it takes exactly the keys of 1 to
// MaxKey printable ASCII characters; the key it stores is no longer than
// MaxKey; a user's key is kept as given; an
// anonymous caller's key is scoped by the request (two fingerprints, two
// keys) and is the same for the same request.
func FuzzNewRequest(f *testing.F) {
	for _, k := range []string{"k", "order-42", "a b~", "", "tab\there", "ñ", strings.Repeat("x", 190),
		strings.Repeat("x", 191), strings.Repeat("x", 255), strings.Repeat("x", 256), "\x7f", "#"} {
		f.Add(int64(0), k, []byte{1, 2, 3})
		f.Add(int64(7), k, []byte{})
	}
	f.Fuzz(func(t *testing.T, user int64, key string, hash []byte) {
		r, err := NewRequest(user, key, hash)
		valid := len(key) >= 1 && len(key) <= MaxKey
		for i := 0; i < len(key); i++ {
			valid = valid && key[i] >= 0x20 && key[i] <= 0x7e
		}
		if !valid {
			if !errors.Is(err, apperr.ErrKeyInvalid) {
				t.Fatalf("NewRequest(%q) = %+v, %v; want ErrKeyInvalid", key, r, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("NewRequest(%q): %v", key, err)
		}
		if r.User != user || !bytes.Equal(r.Hash, hash) {
			t.Fatalf("NewRequest(%d, %q, %x) = %+v", user, key, hash, r)
		}
		if len(r.Key) < 1 || len(r.Key) > MaxKey {
			// The stored key must fit wherever a client's key does (an
			// anonymous key of 191-255 characters once overflowed: a 500).
			t.Fatalf("NewRequest(%d, %q) stores a key of %d bytes", user, key, len(r.Key))
		}
		if user != 0 && r.Key != key {
			t.Fatalf("user %d: key %q stored as %q", user, key, r.Key)
		}
		if user == 0 {
			again, _ := NewRequest(0, key, bytes.Clone(hash))
			other, _ := NewRequest(0, key, append(bytes.Clone(hash), 0))
			if again.Key != r.Key {
				t.Fatalf("anonymous key %q: %q then %q for one request", key, r.Key, again.Key)
			}
			if other.Key == r.Key {
				t.Fatalf("anonymous key %q: two requests share the scoped key %q", key, r.Key)
			}
		}
	})
}
