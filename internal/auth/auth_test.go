package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wallets/internal/keys"
	"wallets/internal/user"
)

// The principal a login's token carries is the user's id, type and token
// version (the version revokes older tokens).
func TestPrincipalOfAUser(t *testing.T) {
	u := user.User{ID: 42, Username: "shop", Type: user.BusinessType, TokenVersion: 3}
	if got, want := PrincipalOf(u), (Principal{UserID: 42, Type: user.BusinessType, TokenVersion: 3}); got != want {
		t.Errorf("PrincipalOf = %+v, want %+v", got, want)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	key := []byte(strings.Repeat("k", 32))
	tk, err := StaticTokens(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StaticTokens([]byte("short")); err == nil {
		t.Error("NewTokens accepted a short key")
	}
	p := Principal{UserID: 42, Type: user.BusinessType, TokenVersion: 3}
	s, err := tk.Issue(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.Verify(ctx, s)
	if err != nil || got != p {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, p)
	}

	other, _ := StaticTokens([]byte(strings.Repeat("x", 32)))
	if _, err := other.Verify(ctx, s); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify with another key = %v, want ErrInvalidToken", err)
	}
	if _, err := tk.Verify(ctx, s+"x"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify tampered = %v", err)
	}
	if _, err := tk.Verify(ctx, "garbage"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify garbage = %v", err)
	}
	// "none" and other algorithms are refused.
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiI0MiIsInR5cGUiOjIsInZlciI6MywiZXhwIjo0MTAyNDQ0ODAwfQ."
	if _, err := tk.Verify(ctx, none); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify alg=none = %v", err)
	}

	// Seven days later the token has expired.
	tk.now = func() time.Time { return time.Now().Add(TokenTTL + time.Minute) }
	if _, err := tk.Verify(ctx, s); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify expired = %v, want ErrExpired", err)
	}
}

// Tokens carry the kid of their key; during a rotation the previous key
// still verifies, an unknown kid does not, and a token from before kids
// verifies with either key.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey := []byte(strings.Repeat("o", 32)), []byte(strings.Repeat("n", 32))
	before, err := StaticTokens(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	p := Principal{UserID: 7, Type: user.CustomerType, TokenVersion: 1}
	issuedBefore, err := before.Issue(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if kid := headerKid(t, issuedBefore); kid != KeyID(oldKey) || len(kid) != 16 {
		t.Errorf("kid %q, want %q", kid, KeyID(oldKey))
	}

	during, err := StaticTokens(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := during.Verify(ctx, issuedBefore); err != nil || got != p {
		t.Errorf("a token of the previous key during the rotation: %+v, %v", got, err)
	}
	issuedDuring, _ := during.Issue(ctx, p)
	if kid := headerKid(t, issuedDuring); kid != KeyID(newKey) {
		t.Errorf("new tokens carry kid %q, want the current key's %q", kid, KeyID(newKey))
	}
	if _, err := before.Verify(ctx, issuedDuring); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("the old key verified a token of the new one: %v", err)
	}

	// After the next rotation the oldest key is gone.
	after, _ := StaticTokens([]byte(strings.Repeat("a", 32)), newKey)
	if _, err := after.Verify(ctx, issuedBefore); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a key two rotations old still verifies: %v", err)
	}
	if _, err := after.Verify(ctx, issuedDuring); err != nil {
		t.Errorf("the previous key no longer verifies: %v", err)
	}

	// A token from before kids (no header) verifies with the current or the
	// previous key, and with nothing else.
	legacy := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{Type: user.CustomerType, Version: 1,
		RegisteredClaims: jwt.RegisteredClaims{Subject: "7", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	noKid, _ := legacy.SignedString(oldKey)
	if _, err := during.Verify(ctx, noKid); err != nil {
		t.Errorf("a token without kid signed with the previous key: %v", err)
	}
	if _, err := after.Verify(ctx, noKid); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a token without kid signed with a retired key: %v", err)
	}

	// A forged kid naming no key is refused.
	forged := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{Type: user.CustomerType, Version: 1,
		RegisteredClaims: jwt.RegisteredClaims{Subject: "7", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	forged.Header["kid"] = "0000000000000000"
	forgedToken, _ := forged.SignedString(newKey)
	if _, err := during.Verify(ctx, forgedToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("unknown kid: %v", err)
	}
	if _, err := StaticTokens(newKey, []byte("short")); err == nil {
		t.Error("a short previous key was accepted")
	}
}

func headerKid(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, &claims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// rotating is a key source an operator rotates: rotate makes a new current
// version and keeps the old one as previous, as Secrets Manager does.
type rotating struct {
	mu  sync.Mutex
	set keys.Set
}

func (r *rotating) Read(context.Context) (keys.Set, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.set, nil
}

func (r *rotating) rotate(next []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set = keys.Set{Current: next, Previous: r.set.Current}
}

// A verifier whose ring has not yet seen a rotation (its TTL not expired)
// re-reads on the new kid instead of refusing the signer's fresh token;
// tokens of the previous version keep verifying everywhere.
func TestVerifierBehindTheSigner(t *testing.T) {
	ctx := context.Background()
	src := &rotating{set: keys.Set{Current: []byte(strings.Repeat("1", 32))}}
	ring := func() *keys.Ring {
		r, err := keys.NewRing(ctx, "jwt", src, keys.Options{TTL: time.Hour, MinInterval: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	verifier := NewTokens(ring())
	p := Principal{UserID: 9, Type: user.CustomerType, TokenVersion: 1}
	old, err := verifier.Issue(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	src.rotate([]byte(strings.Repeat("2", 32)))
	signer := NewTokens(ring()) // a container started after the rotation
	fresh, err := signer.Issue(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := verifier.Verify(ctx, fresh); err != nil || got != p {
		t.Errorf("the stale verifier refused a token of the new key: %+v, %v", got, err)
	}
	if _, err := signer.Verify(ctx, old); err != nil {
		t.Errorf("the new signer refused a token of the previous key: %v", err)
	}
}
