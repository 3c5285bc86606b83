package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wallets/internal/user"
)

// A token signed with the right key is still refused when its claims name
// no possible principal: a forged-by-mistake or old-format token must not
// authenticate as user 0 or as an unknown account type.
func TestVerifyRefusesClaimsOfNoPrincipal(t *testing.T) {
	ctx := context.Background()
	key := []byte(strings.Repeat("k", 32))
	tk, err := StaticTokens(key)
	if err != nil {
		t.Fatal(err)
	}
	exp := jwt.NewNumericDate(time.Now().Add(time.Hour))
	cases := []struct {
		name string
		c    claims
		ok   bool
	}{
		{"a valid customer", claims{Type: user.CustomerType, Version: 1, RegisteredClaims: jwt.RegisteredClaims{Subject: "7", ExpiresAt: exp}}, true},
		{"subject not a number", claims{Type: user.CustomerType, Version: 1, RegisteredClaims: jwt.RegisteredClaims{Subject: "admin", ExpiresAt: exp}}, false},
		{"subject zero", claims{Type: user.CustomerType, Version: 1, RegisteredClaims: jwt.RegisteredClaims{Subject: "0", ExpiresAt: exp}}, false},
		{"subject negative", claims{Type: user.BusinessType, Version: 1, RegisteredClaims: jwt.RegisteredClaims{Subject: "-3", ExpiresAt: exp}}, false},
		{"unknown account type", claims{Type: 3, Version: 1, RegisteredClaims: jwt.RegisteredClaims{Subject: "7", ExpiresAt: exp}}, false},
		{"no account type", claims{Version: 1, RegisteredClaims: jwt.RegisteredClaims{Subject: "7", ExpiresAt: exp}}, false},
		{"token version zero", claims{Type: user.BusinessType, RegisteredClaims: jwt.RegisteredClaims{Subject: "7", ExpiresAt: exp}}, false},
		{"no expiry", claims{Type: user.CustomerType, Version: 1, RegisteredClaims: jwt.RegisteredClaims{Subject: "7"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c.c)
			tok.Header["kid"] = KeyID(key)
			s, err := tok.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			p, err := tk.Verify(ctx, s)
			if c.ok {
				if err != nil || p.UserID != 7 {
					t.Errorf("Verify = %+v, %v; want user 7", p, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) || p != (Principal{}) {
				t.Errorf("Verify = %+v, %v; want ErrInvalidToken and no principal", p, err)
			}
		})
	}
}

func TestStaticTokensTakesAtMostOnePreviousKey(t *testing.T) {
	k := func(c string) []byte { return []byte(strings.Repeat(c, 32)) }
	if _, err := StaticTokens(k("a"), k("b"), k("c")); err == nil || !strings.Contains(err.Error(), "at most one previous version") {
		t.Errorf("StaticTokens with two previous keys = %v; want them refused", err)
	}
	tk, err := StaticTokens(k("a"), nil, k("b"), nil)
	if err != nil {
		t.Fatalf("StaticTokens with empty previous keys: %v; want them ignored", err)
	}
	old, _ := StaticTokens(k("b"))
	s, err := old.Issue(context.Background(), Principal{UserID: 1, Type: user.CustomerType, TokenVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Verify(context.Background(), s); err != nil {
		t.Errorf("a token of the previous key: %v; want it verified", err)
	}
}
