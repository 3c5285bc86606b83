package obs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Invocation describes one invocation (one request) to Begin.
type Invocation struct {
	// Function names the Lambda function; empty means the Config's.
	Function string
	// Route is the route template (API Gateway's resource, e.g.
	// "/api/v1/wallets/{uuid}"), Method the HTTP method and Path the
	// request's path. They are logged and tag error reports; never put
	// query strings, headers or bodies in them.
	Route, Method, Path string
	// RequestID is the event source's request id; empty means a random
	// UUID.
	RequestID string
	// UserID is the authenticated user, if already known (see SetUser).
	UserID string
	// AWSRequestID is the Lambda invocation's id; empty means the one of
	// the lambdacontext in Begin's context, if any.
	AWSRequestID string
}

// Span is one invocation's observability state, from Begin to Finish. The
// context returned by Begin carries it to Logger, RecordError, SetUser, Count
// and Metric.
type Span struct {
	o     *Obs
	inv   Invocation // Function, RequestID and AWSRequestID filled in
	start time.Time
	scope ReportScope // nil when reporting is off

	panicErr     error  // set by Recovered
	panicStack   []byte //
	panicEventID string //

	mu       sync.Mutex
	logger   *slog.Logger
	errs     []error
	warnings []string // from Warn, redacted
	report   Report   // prepared by the first RecordError, with its stack
	metrics  []point
	done     bool // Finish has begun: record nothing more
	finished bool
}

type ctxKey struct{}

func stateFrom(ctx context.Context) *Span {
	if ctx == nil {
		return nil
	}
	st, _ := ctx.Value(ctxKey{}).(*Span)
	return st
}

// Begin starts an invocation: it returns the context to run the handler with
// (carrying the request-scoped logger, the metrics buffer and the Reporter's
// scope) and the Span to end it with. The adapter of an event source calls
// it, then runs the handler with a deferred recover that calls
// (*Span).Recovered, then calls (*Span).Finish exactly once. A nil o means
// Default().
func (o *Obs) Begin(ctx context.Context, inv Invocation) (context.Context, *Span) {
	if o == nil {
		o = Default()
	}
	start := time.Now()
	if inv.Function == "" {
		inv.Function = o.function
	}
	if inv.RequestID == "" {
		inv.RequestID = newID()
	}
	if inv.AWSRequestID == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			inv.AWSRequestID = lc.AwsRequestID
		}
	}
	st := &Span{o: o, inv: inv, start: start}
	if o.rep != nil {
		ctx, st.scope = o.rep.Begin(ctx, inv)
	}
	return context.WithValue(ctx, ctxKey{}, st), st
}

// loggerLocked returns the invocation's logger, made on first use (most
// invocations write only the line Finish writes, which needs none). Call
// with st.mu held.
func (st *Span) loggerLocked() *slog.Logger {
	if st.logger == nil {
		attrs := st.requestAttrs()
		args := make([]any, len(attrs))
		for i, a := range attrs {
			args[i] = a
		}
		st.logger = st.o.root.With(args...)
	}
	return st.logger
}

// requestAttrs are the attributes of every line of the invocation:
// request_id, Function (the EMF dimension of the invocation's line, so the
// field the other lines share), method and user_id, if any. The route is
// not among them: Function and method name it. Call with st.mu held or
// before st is shared.
func (st *Span) requestAttrs() []slog.Attr {
	attrs := []slog.Attr{
		slog.String("request_id", st.inv.RequestID),
		slog.String("Function", st.inv.Function),
		slog.String("method", st.inv.Method),
	}
	if st.inv.UserID != "" {
		attrs = append(attrs, slog.String("user_id", st.inv.UserID))
	}
	return attrs
}

// Recovered records a panic of the handler, whose value r is not nil, and
// reports it at once. Call it from the deferred function that called
// recover, so that the stack still shows where the panic happened. The
// invocation then counts as a 500 whatever Finish is given (the adapter must
// answer with a server error).
func (st *Span) Recovered(r any) {
	st.panicStack = debug.Stack()
	if e, ok := r.(error); ok {
		st.panicErr = fmt.Errorf("panic: %w", e)
	} else {
		st.panicErr = fmt.Errorf("panic: %v", r)
	}
	if st.scope != nil {
		st.panicEventID = st.scope.Panic(r).Send(500)
	}
}

// Finish ends the invocation, whose answer has the HTTP-like status (an
// event source without one maps its outcome to 200, 4xx or 5xx). fault is
// the server fault behind a 5xx if the adapter has one (e.g. the handler's
// error); it is ignored after a panic. Finish reports a panic (already sent
// by Recovered) or a 5xx (with the error recorded by RecordError, else
// fault, else a "METHOD route answered N" message) and flushes the report;
// then writes the invocation's one line with message msg (at Error level
// for a 5xx, at Warn level after Warn, else Info): request_id, Function,
// method, user_id, path, status, aws_request_id, extra, warning, error,
// panic and stack, sentry_event_id, and its EMF document — Requests,
// Latency in ms, 4xx or 5xx if it answered one, what Count and Metric
// recorded, and _aws. The line has no time: CloudWatch Logs timestamps
// every event, and _aws.Timestamp is the metrics'. Later calls do nothing.
func (st *Span) Finish(ctx context.Context, status int, fault error, msg string, extra ...slog.Attr) {
	elapsed := time.Since(st.start)

	st.mu.Lock()
	if st.finished {
		st.mu.Unlock()
		return
	}
	st.finished, st.done = true, true
	logger, recorded, recReport, business, warnings := st.logger, st.errs, st.report, st.metrics, st.warnings
	var requestAttrs []slog.Attr
	if logger == nil {
		// The line carries the request's attributes itself, first, as a
		// logger made With them would write them.
		logger, requestAttrs = st.o.root, st.requestAttrs()
	}
	st.mu.Unlock()

	if st.panicErr != nil {
		status = 500
	}
	eventID := st.sendReport(ctx, status, fault, recReport)
	attrs := st.lineAttrs(status, st.logError(fault, recorded), eventID, warnings, extra)
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case len(warnings) > 0:
		level = slog.LevelWarn
	}

	// The members the line has before its metrics, which these may not
	// take over.
	taken := map[string]any{
		slog.TimeKey: nil, slog.LevelKey: nil, slog.MessageKey: nil,
		"request_id": st.inv.RequestID, "Function": st.inv.Function, "method": st.inv.Method, "user_id": nil,
	}
	for _, a := range attrs {
		taken[a.Key] = nil
	}
	now := time.Now()
	emf, apart := lineEMF(now, st.inv.Function, requestPoints(status, elapsed), business, taken)
	// The zero time leaves "time" out of the line.
	r := slog.NewRecord(time.Time{}, level, msg, 0)
	r.AddAttrs(requestAttrs...)
	r.AddAttrs(attrs...)
	r.AddAttrs(emf...)
	if h := logger.Handler(); h.Enabled(ctx, level) {
		_ = h.Handle(ctx, r)
	}
	if len(apart) > 0 {
		st.o.writeEMF(now, apart, map[string]any{"request_id": st.inv.RequestID})
	}
}

// logError is the error chain of the invocation's line: the panic, or the
// fault, then whatever the handler recorded.
func (st *Span) logError(fault error, recorded []error) error {
	var chain []error
	if st.panicErr != nil {
		chain = append(chain, st.panicErr)
	} else if fault != nil {
		chain = append(chain, fault)
	}
	return errors.Join(append(chain, recorded...)...)
}

// sendReport sends the invocation's error report, if it has one, and flushes
// it: the panic's (already sent by Recovered), or for a 5xx the recorded
// report, else fault, else a "METHOD route answered N" message. It returns
// the report's event id, "" without one.
func (st *Span) sendReport(ctx context.Context, status int, fault error, recorded Report) string {
	eventID := ""
	if st.panicErr != nil {
		eventID = st.panicEventID
	} else if status >= 500 && st.scope != nil {
		var r Report
		switch {
		case recorded != nil:
			r = recorded
		case fault != nil:
			r = st.scope.Error(fault)
		default:
			r = st.scope.Message(fmt.Sprintf("%s %s answered %d", st.inv.Method, st.inv.Route, status))
		}
		eventID = r.Send(status)
	}
	if eventID != "" {
		st.scope.Flush(flushBudget(ctx, time.Now()))
	}
	return eventID
}

// lineAttrs are the members of the invocation's line after the request's
// own: path, status, aws_request_id, extra, warning, error, panic and
// stack, sentry_event_id.
func (st *Span) lineAttrs(status int, logErr error, eventID string, warnings []string, extra []slog.Attr) []slog.Attr {
	attrs := []slog.Attr{
		slog.String("path", st.inv.Path),
		slog.Int("status", status),
	}
	if st.inv.AWSRequestID != "" {
		attrs = append(attrs, slog.String("aws_request_id", st.inv.AWSRequestID))
	}
	attrs = append(attrs, extra...)
	if len(warnings) > 0 {
		attrs = append(attrs, slog.String("warning", strings.Join(warnings, "; ")))
	}
	if logErr != nil {
		attrs = append(attrs, slog.String("error", RedactText(logErr.Error())))
	}
	if st.panicErr != nil {
		attrs = append(attrs, slog.Bool("panic", true), slog.String("stack", string(st.panicStack)))
	}
	if eventID != "" {
		attrs = append(attrs, slog.String("sentry_event_id", eventID))
	}
	return attrs
}

// requestPoints are the metrics every invocation records: Requests,
// Latency in ms, and 4xx or 5xx if it answered one.
func requestPoints(status int, elapsed time.Duration) []point {
	request := []point{
		{name: MetricRequests, unit: UnitNone, value: 1},
		{name: MetricLatency, unit: UnitMilliseconds, value: ms(elapsed)},
	}
	if status >= 400 && status < 500 {
		request = append(request, point{name: Metric4xx, unit: UnitNone, value: 1})
	}
	if status >= 500 {
		request = append(request, point{name: Metric5xx, unit: UnitNone, value: 1})
	}
	return request
}

// flushBudget is how long Finish may wait for the Reporter at now:
// flushTimeout, but never past the invocation's deadline less
// flushMargin (the answer and the log line must still go out before
// Lambda ends the invocation), and not at all when that has passed.
func flushBudget(ctx context.Context, now time.Time) time.Duration {
	budget := flushTimeout
	if deadline, ok := ctx.Deadline(); ok {
		budget = min(budget, deadline.Sub(now)-flushMargin)
	}
	return max(budget, 0)
}

// flushMargin is left of the invocation's time after a flush.
const flushMargin = 300 * time.Millisecond

// ms converts d to fractional milliseconds (microsecond precision).
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Logger returns the invocation's logger (with request_id, Function, method
// and user_id), or the default Obs's logger outside an invocation. Each
// call to it writes a line of its own, besides the invocation's line that
// Finish writes: to keep one line per invocation, attach what there is to
// say to that line instead, with RecordError (the cause of a 5xx) or Warn.
func Logger(ctx context.Context) *slog.Logger {
	if st := stateFrom(ctx); st != nil {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.loggerLocked()
	}
	return Default().log
}

// RequestID returns the invocation's request id, or "" outside one.
func RequestID(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.inv.RequestID
	}
	return ""
}

// SetUser sets the invocation's user id (for the log line, later Logger
// calls and error reports) when the event did not carry it.
func SetUser(ctx context.Context, id string) {
	st := stateFrom(ctx)
	if st == nil || id == "" {
		return
	}
	st.mu.Lock()
	st.inv.UserID = id
	st.logger = nil // made again, with user_id, when next needed
	st.mu.Unlock()
	if st.scope != nil {
		st.scope.SetUser(id)
	}
}

// RecordError attaches err as the cause of the 5xx the handler is about to
// answer: it appears in the request's log line and, if the answer is a 5xx,
// in the error report, with the stack of this call. Call it where the fault
// is turned into a response. Outside an invocation it logs err with the
// default logger.
func RecordError(ctx context.Context, err error) {
	if err == nil {
		return
	}
	st := stateFrom(ctx)
	if st == nil {
		Default().log.ErrorContext(ctx, "error outside a request", slog.String("error", RedactText(err.Error())))
		return
	}
	var r Report
	if st.scope != nil {
		st.mu.Lock()
		first := st.report == nil && !st.done
		st.mu.Unlock()
		if first {
			// Prepared here so that the stack shows the caller.
			r = st.scope.Error(err)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return
	}
	st.errs = append(st.errs, err)
	if r != nil && st.report == nil {
		st.report = r
	}
}

// Warn records a problem that does not fail the invocation (a housekeeping
// step that failed, say): the invocation's line carries it in "warning"
// ("msg: err", secrets redacted; several are joined by "; ") and is written
// at Warn level unless it is an Error. It is neither logged as the error nor
// reported: RecordError is for the cause of a 5xx. Outside an invocation it
// logs a line at Warn level with the default logger.
func Warn(ctx context.Context, msg string, err error) {
	text := msg
	if err != nil {
		text += ": " + err.Error()
	}
	text = RedactText(text)
	st := stateFrom(ctx)
	if st == nil {
		Default().log.WarnContext(ctx, msg, slog.String("warning", text))
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.done {
		st.warnings = append(st.warnings, text)
	}
}

// newID returns a random UUID (version 4) for invocations without a request
// id (direct invocations, tests).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
