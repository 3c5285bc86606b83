// Package idempotency is the contract of Idempotency-Key requests: a request
// made again with the same key is answered as the first time, and its work
// happens at most once. internal/postgres implements Runner, so that the
// claim of the key, the work and the stored answer commit together.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

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
		key = anonymousPrefix + hex.EncodeToString(d.Sum(nil))
	}
	return Request{User: user, Key: key, Hash: hash}, nil
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
// fault. Services called with its ctx join the Runner's unit of work.
type Work func(ctx context.Context) (Answer, error)

// Runner runs each request's work at most once.
type Runner interface {
	// Run claims req's key and runs work under the claim, in one unit of
	// work with the services work calls: the work's changes and the stored
	// answer commit together, or neither does.
	//
	// When the key already holds an answer to the same request, Run returns
	// it with replayed true, without running work. It fails with
	// apperr.ErrKeyInProgress while another request holds the key (or took
	// it over), and apperr.ErrKeyMismatch when the key was used for a
	// different request.
	//
	// An answer of status 500 or more is not kept, and neither is a fault
	// (work's error, returned as is): the key is released so the client may
	// retry. When a service refuses with an *apperr.Error, its changes roll
	// back and the answer is still kept; a refusal that a service documents
	// as committed (wallet.Service.Collect's rejection) commits.
	Run(ctx context.Context, req Request, work Work) (answer Answer, replayed bool, err error)
}
