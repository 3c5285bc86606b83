// Package auth holds who a caller is (Principal) and the JWTs that carry it.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wallets/internal/apperr"
	"wallets/internal/keys"
	"wallets/internal/user"
)

// Principal is the authenticated caller, as the authorizer passes it to the
// handlers.
type Principal struct {
	UserID       int64
	Type         user.Type
	TokenVersion int
}

// PrincipalOf is the identity a token carries for u: its id, type and token
// version (the version revokes older tokens).
func PrincipalOf(u user.User) Principal {
	return Principal{UserID: u.ID, Type: u.Type, TokenVersion: u.TokenVersion}
}

// TokenTTL is how long a token is valid.
const TokenTTL = 7 * 24 * time.Hour

// Token verification failures, worded as the contract's 401 details.
var (
	ErrInvalidToken = apperr.ErrInvalidToken
	ErrExpired      = apperr.New(apperr.Unauthenticated, "Signature has expired.")
)

// Tokens issues and verifies HS256 JWTs with the versions of a key ring.
// Each token names its key version in the kid header (keys.ID); Verify
// accepts the ring's current and previous versions, so that rotating the
// key (the new value becomes current, the old one previous) logs nobody
// out, and a token naming a version the ring does not know yet (signed by a
// container that saw the rotation first) makes the ring re-read its source.
type Tokens struct {
	ring *keys.Ring
	now  func() time.Time
}

// NewTokens returns the signer and verifier over ring.
func NewTokens(ring *keys.Ring) *Tokens { return &Tokens{ring: ring, now: time.Now} }

// StaticTokens returns Tokens over a ring that never changes: key signs,
// key and the previous ones verify (tests, tools). Keys must hold at least
// keys.MinLen bytes; empty previous ones are ignored.
func StaticTokens(key []byte, previous ...[]byte) (*Tokens, error) {
	s := keys.Set{Current: key}
	for _, p := range previous {
		if len(p) > 0 {
			if s.Previous != nil {
				return nil, errors.New("jwt key: at most one previous version")
			}
			s.Previous = p
		}
	}
	ring, err := keys.NewRing(context.Background(), "jwt", keys.Static(s), keys.Options{})
	if err != nil {
		return nil, err
	}
	return NewTokens(ring), nil
}

// KeyID names a key version in a token's kid header (keys.ID).
func KeyID(key []byte) string { return keys.ID(key) }

type claims struct {
	Type    user.Type `json:"type"`
	Version int       `json:"ver"`
	jwt.RegisteredClaims
}

// Issue returns a signed token for p, valid for TokenTTL.
func (t *Tokens) Issue(ctx context.Context, p Principal) (string, error) {
	kid, key := t.ring.Signing(ctx)
	now := t.now()
	c := claims{
		Type:    p.Type,
		Version: p.TokenVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(p.UserID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(TokenTTL)),
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify checks the signature and expiry of token and returns the principal
// it names. The signature must be the key its kid names, the current key or
// a previous one; a token without a kid (issued before tokens carried one)
// may be signed with any of them. It fails with ErrExpired or
// ErrInvalidToken. It does not check the token version against the user:
// the caller does that.
func (t *Tokens) Verify(ctx context.Context, token string) (Principal, error) {
	var c claims
	keyFor := func(tok *jwt.Token) (any, error) {
		kid, has := tok.Header["kid"]
		if !has {
			set := jwt.VerificationKeySet{}
			for _, k := range t.ring.All(ctx) {
				set.Keys = append(set.Keys, k)
			}
			return set, nil
		}
		id, _ := kid.(string)
		if k, ok := t.ring.Verifying(ctx, id); ok {
			return k, nil
		}
		return nil, errors.New("unknown kid")
	}
	_, err := jwt.ParseWithClaims(token, &c, keyFor,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now),
	)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return Principal{}, ErrExpired
	}
	if err != nil {
		return Principal{}, ErrInvalidToken
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 || (c.Type != user.CustomerType && c.Type != user.BusinessType) || c.Version <= 0 {
		return Principal{}, ErrInvalidToken
	}
	return Principal{UserID: id, Type: c.Type, TokenVersion: c.Version}, nil
}
