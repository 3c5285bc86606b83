// Package idempotency is the contract of Idempotency-Key requests: a request
// made again with the same key is answered as the first time, and its work
// happens at most once. internal/postgres implements Runner, so that the
// claim of the key, the work and the stored answer commit together.
package idempotency

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"wallets/internal/apperr"
)

// MaxKey is the longest key a client may send.
const MaxKey = 255

// Request is one request made with an Idempotency-Key.
type Request struct {
	// User is the caller, 0 when anonymous.
	User int64
	// Key is the client's key, scoped by the request for anonymous callers.
	Key string
	// Hash is the fingerprint of the request: the same key with another
	// fingerprint is a different request.
	Hash []byte
	// seal encrypts the answer of an anonymous request (see Seal); nil for
	// a user's.
	seal []byte
}

// NewRequest returns the request of user (0 for anonymous) with the
// client's key and the request's fingerprint hash. It fails with
// apperr.ErrKeyInvalid unless key is 1 to MaxKey printable ASCII characters.
//
// Anonymous callers (sign-up, login) share no user to scope keys by, so
// their key is scoped by the request too: one client's key never answers,
// or refuses, another client's request. The scoped key is a digest of the
// two, of a fixed length that fits wherever a key of MaxKey does.
func NewRequest(user int64, key string, hash []byte) (Request, error) {
	if !validKey(key) {
		return Request{}, apperr.ErrKeyInvalid
	}
	if user == 0 {
		d := sha256.New()
		d.Write([]byte(key))
		d.Write([]byte{0})
		d.Write(hash)
		scoped := anonymousPrefix + hex.EncodeToString(d.Sum(nil))
		return Request{User: user, Key: scoped, Hash: hash, seal: sealKey(key, hash)}, nil
	}
	return Request{User: user, Key: key, Hash: hash}, nil
}

// sealKey is the AES-256 key of an anonymous request's answer: a digest of
// the client's key and the request (whose body holds the password), apart
// from the scoped key stored beside the answer, so that only a client
// sending the same key and the same request again can read the answer.
func sealKey(key string, hash []byte) []byte {
	d := sha256.New()
	d.Write([]byte("wallets idempotency seal"))
	d.Write([]byte{0})
	d.Write([]byte(key))
	d.Write([]byte{0})
	d.Write(hash)
	return d.Sum(nil)
}

// sealedPrefix starts a sealed answer's body (a plain one is JSON or empty).
const sealedPrefix = "wallets-sealed-v1:"

// Seal returns a, encrypted for keeping when r is anonymous: login's answer
// holds a token (in its body and its Set-Cookie header), sign-up's the new
// account, and neither may be readable from the store. The status stays
// readable; headers and body travel in the sealed body. A user's answer
// comes back as it is.
func (r Request) Seal(a Answer) (Answer, error) {
	if r.seal == nil {
		return a, nil
	}
	plain, err := json.Marshal(sealed{Headers: a.Headers, Body: a.Body})
	if err != nil {
		return Answer{}, fmt.Errorf("seal answer: %w", err)
	}
	aead, err := newAEAD(r.seal)
	if err != nil {
		return Answer{}, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Answer{}, fmt.Errorf("seal answer: %w", err)
	}
	body := append([]byte(sealedPrefix), nonce...)
	return Answer{Status: a.Status, Body: aead.Seal(body, nonce, plain, []byte(r.Key))}, nil
}

// Open returns a kept answer as Seal was given it; an answer kept unsealed
// (a user's, or one kept before answers were sealed) comes back as it is.
func (r Request) Open(a Answer) (Answer, error) {
	rest, isSealed := bytes.CutPrefix(a.Body, []byte(sealedPrefix))
	if !isSealed {
		return a, nil
	}
	if r.seal == nil {
		return Answer{}, errors.New("open answer: sealed, but the request is not anonymous")
	}
	aead, err := newAEAD(r.seal)
	if err != nil {
		return Answer{}, err
	}
	if len(rest) < aead.NonceSize() {
		return Answer{}, errors.New("open answer: truncated")
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(r.Key))
	if err != nil {
		return Answer{}, fmt.Errorf("open answer: %w", err)
	}
	var s sealed
	if err := json.Unmarshal(plain, &s); err != nil {
		return Answer{}, fmt.Errorf("open answer: %w", err)
	}
	return Answer{Status: a.Status, Headers: s.Headers, Body: s.Body}, nil
}

// sealed is the plain text of a sealed answer.
type sealed struct {
	Headers map[string][]string `json:"h,omitempty"`
	Body    []byte              `json:"b,omitempty"`
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	return cipher.NewGCM(block)
}

// anonymousPrefix marks the scoped keys of anonymous callers.
const anonymousPrefix = "anonymous:"

// validKey reports whether key is 1–MaxKey printable ASCII characters.
func validKey(key string) bool {
	if len(key) < 1 || len(key) > MaxKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Answer is what a request answered, kept on its key to answer again.
type Answer struct {
	Status  int
	Headers map[string][]string // those worth replaying, e.g. Set-Cookie
	Body    []byte
}

// Work is a request's work. It returns the answer to keep, or an error for a
// fault. tx is what the Runner binds to its unit of work: the services whose
// writes commit with the stored answer (for the HTTP edge, api.Tx). A write
// made through anything else is not part of the unit.
type Work[T any] func(ctx context.Context, tx T) (Answer, error)

// Kept reports whether an answer of this status is kept on its key and
// replayed. A fault (5xx) is not, so a retry runs; nor is a throttle's
// refusal (429): the work never ran, and once the throttle lifts the same
// key must run it rather than replay a stale Retry-After.
func Kept(status int) bool {
	return status < http.StatusInternalServerError && status != http.StatusTooManyRequests
}

// Runner runs each request's work at most once, handing it T: the services
// bound to the request's unit of work.
type Runner[T any] interface {
	// Run claims req's key and runs work under the claim, in one unit of
	// work with the services it hands work (its tx): the work's changes
	// made through them and the stored answer commit together, or neither
	// does.
	//
	// When the key already holds an answer to the same request, Run returns
	// it with replayed true, without running work. It fails with
	// apperr.ErrKeyInProgress while another request holds the key (or took
	// it over), and apperr.ErrKeyMismatch when the key was used for a
	// different request.
	//
	// An answer of status 500 or more, or 429, is not kept (see Kept), and
	// neither is a fault (work's error, returned as is): the key is
	// released so the client may retry. When a bound service refuses with
	// an *apperr.Error, the unit's changes roll back and the answer is still
	// kept; a refusal that a service documents as committed
	// (wallet.Service.Collect's rejection) commits.
	Run(ctx context.Context, req Request, work Work[T]) (answer Answer, replayed bool, err error)
}

// Bind returns r handing its work bind(u) for the unit u r hands it: a
// Runner of the implementation's own unit (postgres.Unit) made a Runner of
// the services a caller's work calls (api.Tx), bound to that unit.
func Bind[U, T any](r Runner[U], bind func(U) T) Runner[T] {
	return boundRunner[U, T]{r: r, bind: bind}
}

type boundRunner[U, T any] struct {
	r    Runner[U]
	bind func(U) T
}

func (b boundRunner[U, T]) Run(ctx context.Context, req Request, work Work[T]) (Answer, bool, error) {
	return b.r.Run(ctx, req, func(ctx context.Context, u U) (Answer, error) {
		return work(ctx, b.bind(u))
	})
}
