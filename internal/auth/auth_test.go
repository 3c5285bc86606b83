package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	tk, err := NewTokens(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewTokens([]byte("short")); err == nil {
		t.Error("NewTokens accepted a short key")
	}
	p := Principal{UserID: 42, Type: BusinessType, TokenVersion: 3}
	s, err := tk.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.Verify(s)
	if err != nil || got != p {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, p)
	}

	other, _ := NewTokens([]byte(strings.Repeat("x", 32)))
	if _, err := other.Verify(s); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify with another key = %v, want ErrInvalidToken", err)
	}
	if _, err := tk.Verify(s + "x"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify tampered = %v", err)
	}
	if _, err := tk.Verify("garbage"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify garbage = %v", err)
	}
	// "none" and other algorithms are refused.
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiI0MiIsInR5cGUiOjIsInZlciI6MywiZXhwIjo0MTAyNDQ0ODAwfQ."
	if _, err := tk.Verify(none); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify alg=none = %v", err)
	}

	// Seven days later the token has expired.
	tk.now = func() time.Time { return time.Now().Add(TokenTTL + time.Minute) }
	if _, err := tk.Verify(s); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify expired = %v, want ErrExpired", err)
	}
}
