// Package auth holds who a caller is (Principal) and the JWTs that carry it.
package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wallets/internal/apperr"
)

// UserType is a user's account type.
type UserType int

// Account types.
const (
	CustomerType UserType = 1
	BusinessType UserType = 2
)

// Principal is the authenticated caller, as the authorizer passes it to the
// handlers.
type Principal struct {
	UserID       int64
	Type         UserType
	TokenVersion int
}

// TokenTTL is how long a token is valid.
const TokenTTL = 7 * 24 * time.Hour

// Token verification failures, worded as the contract's 401 details.
var (
	ErrInvalidToken = apperr.ErrInvalidToken
	ErrExpired      = apperr.New(apperr.Unauthenticated, "Signature has expired.")
)

// Tokens issues and verifies HS256 JWTs. Each token names its key in the
// kid header (KeyID of the key); Verify accepts the current key and the
// previous ones, so that rotating the key (the new value becomes current,
// the old one previous) logs nobody out.
type Tokens struct {
	key  []byte
	kid  string
	keys map[string][]byte // by kid: the current key and the previous ones
	now  func() time.Time
}

// NewTokens returns a signer with key, which must hold at least 32 bytes,
// that also verifies tokens signed with the previous keys (empty ones are
// ignored: no previous key).
func NewTokens(key []byte, previous ...[]byte) (*Tokens, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("jwt key: %d bytes, need at least 32", len(key))
	}
	t := &Tokens{key: key, kid: KeyID(key), keys: map[string][]byte{KeyID(key): key}, now: time.Now}
	for i, p := range previous {
		if len(p) == 0 {
			continue
		}
		if len(p) < 32 {
			return nil, fmt.Errorf("previous jwt key %d: %d bytes, need at least 32", i+1, len(p))
		}
		if _, dup := t.keys[KeyID(p)]; !dup {
			t.keys[KeyID(p)] = p
		}
	}
	return t, nil
}

// KeyID names a key without revealing it: the first 16 hex digits of its
// SHA-256. Tokens carry it in their kid header.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

type claims struct {
	Type    UserType `json:"type"`
	Version int      `json:"ver"`
	jwt.RegisteredClaims
}

// Issue returns a signed token for p, valid for TokenTTL.
func (t *Tokens) Issue(p Principal) (string, error) {
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
	tok.Header["kid"] = t.kid
	s, err := tok.SignedString(t.key)
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
func (t *Tokens) Verify(token string) (Principal, error) {
	var c claims
	keyFor := func(tok *jwt.Token) (any, error) {
		kid, has := tok.Header["kid"]
		if !has {
			set := jwt.VerificationKeySet{Keys: []jwt.VerificationKey{t.key}}
			for id, k := range t.keys {
				if id != t.kid {
					set.Keys = append(set.Keys, k)
				}
			}
			return set, nil
		}
		id, _ := kid.(string)
		if k, ok := t.keys[id]; ok {
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
	if err != nil || id <= 0 || (c.Type != CustomerType && c.Type != BusinessType) || c.Version <= 0 {
		return Principal{}, ErrInvalidToken
	}
	return Principal{UserID: id, Type: c.Type, TokenVersion: c.Version}, nil
}
