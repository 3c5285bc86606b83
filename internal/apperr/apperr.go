// Package apperr is the application's one error type. Domain and storage code
// return an *Error with a Code that says what went wrong in the domain's
// terms (invalid input, not found, a conflict, throttled, unavailable…), not
// how HTTP answers it: the edge maps each code to a status in one place
// (route.StatusOf) and renders the contract's JSON. Any other error is a
// server fault whose details go to the logs and the error tracker, never to
// the client.
//
// Every message the contract names that is neither a domain rule's nor the
// HTTP edge's own (a method the path does not serve, a body too large or
// unreadable, the gateway's throttle, timeout and failure: package route) is
// defined here once, as an *Error value: the edge, the gateway responses and
// observability reuse these values.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an application error by what went wrong. Its string is
// part of Error(), which the logs and the error tracker record: keep the
// strings when renaming a constant.
type Code string

// The domain's codes. Package route declares the HTTP edge's own.
const (
	Invalid         Code = "invalid"         // the input breaks a rule, with field errors
	Unauthenticated Code = "unauthenticated" // no credentials, or credentials that do not hold
	Forbidden       Code = "forbidden"       // the caller may not do this
	NotFound        Code = "not_found"       // no such thing, or none the caller may see
	Conflict        Code = "conflict"        // clashes with the current state (a taken name, a key in use)
	Unprocessable   Code = "unprocessable"   // well-formed but not applicable (a key reused for another request)
	Throttled       Code = "throttled"       // too many attempts; wait
	Internal        Code = "internal"        // a fault, never with details
	Unavailable     Code = "unavailable"     // a dependency (the database) out of reach
)

// Error is an expected failure with a message meant for the client.
type Error struct {
	Code   Code
	Detail string              // for {"detail": ...}
	Fields map[string][]string // for {"field": [...]} (Invalid); "non_field_errors" for the rest
	// RetryAfter is the number of seconds a client should wait before
	// retrying (throttled, unavailable); 0 sends no Retry-After.
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Detail)
	}
	return fmt.Sprintf("%s: %v", e.Code, e.Fields)
}

// New returns an error with a detail message.
func New(code Code, detail string) *Error { return &Error{Code: code, Detail: detail} }

// Field returns an Invalid error for one field.
func Field(field, msg string) *Error {
	return &Error{Code: Invalid, Fields: map[string][]string{field: {msg}}}
}

// The contract's answers that belong to no domain rule. Treat them as
// constants: never modify one.
var (
	// ErrNotFound is the plain not found.
	ErrNotFound = New(NotFound, "Not found.")
	// ErrFault is the one answer to a server fault: no internals.
	ErrFault = New(Internal, "A server error occurred.")
	// ErrUnavailable answers when the database cannot be reached; the
	// client may retry (with the same Idempotency-Key, safely).
	ErrUnavailable = &Error{Code: Unavailable, Detail: "Service temporarily unavailable, try again later.", RetryAfter: 5}
	// ErrOutcomeUnknown answers a change sent without an Idempotency-Key
	// whose connection to the database was lost after the change was sent
	// (a dropped connection, the deadline): it may have been applied, so
	// the answer invites no retry (no Retry-After). package postgres marks
	// such failures with it; the edge answers it only to a mutating request
	// without a key (with one, a retry is safe: ErrUnavailable).
	ErrOutcomeUnknown = New(Unavailable, "The connection to the database was lost while this request was being applied: it may or may not have taken effect. Look it up (the wallet's transactions, the charge) before trying again, and send an Idempotency-Key with changes so that retrying is safe.")
	// ErrNoCredentials refuses a request without a token.
	ErrNoCredentials = New(Unauthenticated, "Authentication credentials were not provided.")
	// ErrInvalidToken refuses a token that is malformed, forged, expired or
	// revoked.
	ErrInvalidToken = New(Unauthenticated, "Invalid token.")
	// ErrForbidden refuses a caller of the wrong account type.
	ErrForbidden = New(Forbidden, "You do not have permission to perform this action.")

	// Idempotency-Key refusals.
	ErrKeyInvalid    = New(Invalid, "Idempotency-Key must be 1 to 255 printable ASCII characters.")
	ErrKeyInProgress = New(Conflict, "A request with this Idempotency-Key is still in progress.")
	ErrKeyMismatch   = New(Unprocessable, "Idempotency-Key reused with a different request.")
)

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// CodeOf returns err's code, or "" for a server fault.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return ""
}

// Fields collects validation errors field by field.
type Fields map[string][]string

// Add records msg against field.
func (f Fields) Add(field, msg string) { f[field] = append(f[field], msg) }

// Err returns nil when nothing was recorded, else an Invalid error.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Fields: f}
}
