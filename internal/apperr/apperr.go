// Package apperr is the application's one error type. Domain and storage code
// return an *Error with a Code; the HTTP edge maps the code to a status and
// the contract's JSON in one place. Any other error is a server fault whose
// details go to the logs and the error tracker, never to the client.
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
	Unavailable      Code = "unavailable"        // 503
)

// Error is an expected failure with a message meant for the client.
type Error struct {
	Code   Code
	Detail string              // for {"detail": ...}
	Fields map[string][]string // for 400 {"field": [...]}; "non_field_errors" for the rest
	// RetryAfter is the number of seconds a throttled client should wait.
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

// NotFoundf is the contract's plain 404.
func NotFoundf() *Error { return New(NotFound, "Not found.") }

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
