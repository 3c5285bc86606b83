// Package apperr is the application's one error type. Domain and storage code
// return an *Error with a Code; the HTTP edge maps the code to a status and
// the contract's JSON in one place. Any other error is a server fault whose
// details go to the logs and the error tracker, never to the client.
//
// Every message the contract names that is not a domain rule's is defined
// here once, as an *Error value: the edge, the gateway responses, the 405s
// and observability reuse these values.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an application error.
type Code string

// The codes, each named for the status the edge answers with.
const (
	Invalid          Code = "invalid"            // 400, with field errors
	Unauthenticated  Code = "unauthenticated"    // 401
	Forbidden        Code = "forbidden"          // 403
	NotFound         Code = "not_found"          // 404
	MethodNotAllowed Code = "method_not_allowed" // 405
	Conflict         Code = "conflict"           // 409
	TooLarge         Code = "too_large"          // 413
	Unsupported      Code = "unsupported"        // 415
	Unprocessable    Code = "unprocessable"      // 422
	Throttled        Code = "throttled"          // 429
	Internal         Code = "internal"           // 500: a fault, never with details
	BadGateway       Code = "bad_gateway"        // 502 (gateway responses only)
	Unavailable      Code = "unavailable"        // 503
	Timeout          Code = "timeout"            // 504 (gateway responses only)
)

// Error is an expected failure with a message meant for the client.
type Error struct {
	Code   Code
	Detail string              // for {"detail": ...}
	Fields map[string][]string // for 400 {"field": [...]}; "non_field_errors" for the rest
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

// Field returns a 400 error for one field.
func Field(field, msg string) *Error {
	return &Error{Code: Invalid, Fields: map[string][]string{field: {msg}}}
}

// The contract's answers that belong to no domain rule. Treat them as
// constants: never modify one.
var (
	// ErrNotFound is the plain 404.
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
	// ErrNoCredentials is the 401 of a request without a token.
	ErrNoCredentials = New(Unauthenticated, "Authentication credentials were not provided.")
	// ErrInvalidToken is the 401 of a token that is malformed, forged,
	// expired or revoked.
	ErrInvalidToken = New(Unauthenticated, "Invalid token.")
	// ErrForbidden refuses a caller of the wrong account type.
	ErrForbidden = New(Forbidden, "You do not have permission to perform this action.")
	// ErrTooLarge refuses a body over 64 KiB.
	ErrTooLarge = New(TooLarge, "Request body is larger than 64 KiB.")
	// ErrThrottledGateway is the gateway's own throttle.
	ErrThrottledGateway = New(Throttled, "Request was throttled.")
	// ErrGatewayTimeout is the gateway's answer to a handler out of time.
	ErrGatewayTimeout = New(Timeout, "The server took too long to answer.")
	// ErrBadGateway is the gateway's answer to a handler that failed.
	ErrBadGateway = New(BadGateway, ErrFault.Detail)

	// Idempotency-Key refusals.
	ErrKeyInvalid    = New(Invalid, "Idempotency-Key must be 1 to 255 printable ASCII characters.")
	ErrKeyInProgress = New(Conflict, "A request with this Idempotency-Key is still in progress.")
	ErrKeyMismatch   = New(Unprocessable, "Idempotency-Key reused with a different request.")
)

// UnsupportedMedia refuses a body of a media type the API cannot read.
func UnsupportedMedia(mediaType string) *Error {
	return New(Unsupported, fmt.Sprintf("Unsupported media type %q in request.", mediaType))
}

// ErrUnsupportedMediaGateway is the gateway's own 415.
var ErrUnsupportedMediaGateway = New(Unsupported, "Unsupported media type in request.")

// MethodNotAllowedFor refuses a method the path does not serve.
func MethodNotAllowedFor(method string) *Error {
	return New(MethodNotAllowed, "Method \""+method+"\" not allowed.")
}

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

// Err returns nil when nothing was recorded, else a 400 error.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Fields: f}
}
