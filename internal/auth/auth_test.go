package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckStrength(t *testing.T) {
	user := []Attribute{{"username", "pablo"}, {"first name", "Pablo"}, {"last name", "Moreno"}, {"email address", "pablo.moreno@mail.com"}}
	tests := []struct {
		password string
		want     []string // substrings of the expected problems, in order; nil = strong
	}{
		{"Xk9#mQ2!vL", nil},
		{"short1!", []string{"too short"}},
		{"12345678901", []string{"too common", "entirely numeric"}},
		{"84736251947", []string{"entirely numeric"}},
		{"password", []string{"too common"}},
		{"PassWord", []string{"too common"}}, // case-insensitive
		{"Welcome", []string{"too short", "too common"}},
		{"pablomoreno", []string{"too similar to the last name"}},
		{"pablo.moreno@mail", []string{"too similar to the email address"}},
		{"pablo123", []string{"too similar to the username", "too common"}},
		{"morenos1", []string{"too similar to the last name"}},
	}
	for _, tt := range tests {
		got := CheckStrength(tt.password, user...)
		if len(got) != len(tt.want) {
			t.Errorf("CheckStrength(%q) = %q, want %d problems like %q", tt.password, got, len(tt.want), tt.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tt.want[i]) {
				t.Errorf("CheckStrength(%q)[%d] = %q, want it to mention %q", tt.password, i, got[i], tt.want[i])
			}
		}
	}
}

func TestQuickRatio(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"abcd", "bcde", 0.75},
		{"", "", 1},
		{"abc", "", 0},
		{"aab", "abb", 2.0 * 2 / 6},
	}
	for _, tt := range tests {
		if got := quickRatio(tt.a, tt.b); got != tt.want {
			t.Errorf("quickRatio(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q is not argon2id", h)
	}
	h2, _ := Hash("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if ok, err := Verify("correct horse battery", h); !ok || err != nil {
		t.Errorf("Verify(right) = %v, %v", ok, err)
	}
	if ok, err := Verify("wrong", h); ok || err != nil {
		t.Errorf("Verify(wrong) = %v, %v", ok, err)
	}
	if _, err := Verify("x", "not a hash"); err == nil {
		t.Error("Verify(malformed hash) gave no error")
	}
}

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
