// Package auth holds who a caller is (Principal) and the JWTs that carry it.
package auth

import (
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

// Tokens issues and verifies HS256 JWTs.
type Tokens struct {
	key []byte
	now func() time.Time
}

// NewTokens returns a signer with key, which must hold at least 32 bytes.
func NewTokens(key []byte) (*Tokens, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("jwt key: %d bytes, need at least 32", len(key))
	}
	return &Tokens{key: key, now: time.Now}, nil
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
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify checks the signature and expiry of token and returns the principal
// it names. It fails with ErrExpired or ErrInvalidToken. It does not check
// the token version against the user: the caller does that.
func (t *Tokens) Verify(token string) (Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil },
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
