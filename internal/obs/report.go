package obs

import (
	"context"
	"time"
)

// Reporter sends error reports to an error tracker; Sentry's is
// wallets/internal/obs/sentry. Obs reports every panic and every 5xx answer
// of an invocation, one report each, and flushes before the invocation ends.
// A Reporter must be safe for concurrent use.
//
// A Reporter may also have an Install() method, which Init calls to make it
// the process's (e.g. the client of a global hub).
type Reporter interface {
	// Begin opens the report scope of one invocation, tagged with inv
	// (function, route, method, request_id, aws_request_id; user id if
	// any). Obs has filled in Function, RequestID and AWSRequestID. The
	// returned context, derived from ctx, replaces ctx for the invocation.
	Begin(ctx context.Context, inv Invocation) (context.Context, ReportScope)
	// Flush waits up to timeout for queued reports to be sent; it reports
	// false on timeout.
	Flush(timeout time.Duration) bool
	// Close flushes (up to timeout) and stops the Reporter.
	Close(timeout time.Duration)
}

// ReportScope is the report scope of one invocation. Its methods may be
// called from any goroutine of the invocation.
type ReportScope interface {
	// SetUser sets the user the invocation's reports are about.
	SetUser(id string)
	// Error prepares a report of err (with its whole chain) carrying the
	// stack of the calling goroutine, which is RecordError's caller's.
	// Nothing is sent before Send.
	Error(err error) Report
	// Panic prepares the report of a recovered panic value, marked as an
	// unhandled panic, carrying the stack of the calling goroutine: Obs calls
	// it from the deferred function that recovered, so the stack shows where
	// the panic happened.
	Panic(value any) Report
	// Message prepares a report without an error, such as
	// "GET /api/v1/x answered 502".
	Message(msg string) Report
	// Flush waits up to timeout for the invocation's reports to be sent.
	Flush(timeout time.Duration) bool
}

// Report is a report prepared by a ReportScope.
type Report interface {
	// Send reports it as the cause of the invocation's answer, whose
	// status is status, and returns the report's id for the log line
	// (sentry_event_id), or "" if it was dropped.
	Send(status int) string
}
