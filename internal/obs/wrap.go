package obs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/getsentry/sentry-go"
)

// Handler is the type of every API handler: a plain function of the API
// Gateway proxy event.
type Handler = func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// AuthorizerHandler is the type of the API Gateway REQUEST authorizer.
type AuthorizerHandler = func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// serverErrorBody is the contract's answer to a server fault.
const serverErrorBody = `{"detail":"A server error occurred."}`

// unauthorized is the error message that makes API Gateway answer 401.
const unauthorized = "Unauthorized"

func serverError() events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{
		StatusCode: http.StatusInternalServerError,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       serverErrorBody,
	}
}

// Wrap wraps h with the per-invocation observability of the process's
// default Obs (see Default; it is looked up at each call, so Wrap may run
// before Init).
func Wrap(function, route string, h Handler) Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return Default().Wrap(function, route, h)(ctx, req)
	}
}

// WrapAuthorizer wraps the authorizer h with the default Obs (see
// (*Obs).WrapAuthorizer).
func WrapAuthorizer(h AuthorizerHandler) AuthorizerHandler {
	return func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		return Default().WrapAuthorizer(h)(ctx, req)
	}
}

// Wrap returns h with, for each invocation: a request id and a
// request-scoped logger in ctx; panics and handler errors turned into
// 500 {"detail":"A server error occurred."}; every 5xx reported to Sentry
// (flushed before returning); one "request" log line; EMF metrics (Requests,
// Latency, 4xx, 5xx by Function, plus those recorded with Count and Metric).
// function names the Lambda function (empty: the Config's); route is the
// API Gateway resource path (empty: req.Resource). The returned error is
// always nil.
func (o *Obs) Wrap(function, route string, h Handler) Handler {
	if function == "" {
		function = o.function
	}
	return func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		start := time.Now()
		method := req.HTTPMethod
		if method == "" {
			method = req.RequestContext.HTTPMethod
		}
		r := route
		if r == "" {
			r = req.Resource
		}
		ctx, st := o.begin(ctx, invocation{
			function:  function,
			route:     r,
			method:    method,
			path:      req.Path,
			requestID: req.RequestContext.RequestID,
			userID:    principalString(req.RequestContext.Authorizer["user_id"]),
		})

		resp, err, p := callHandler(ctx, st, h, req)
		switch {
		case p != nil:
			resp = serverError()
		case err != nil:
			resp = serverError()
		case resp.StatusCode == 0:
			err = errors.New("obs: handler returned no status code")
			resp = serverError()
		}
		st.finish(ctx, start, resp.StatusCode, err, p, "request")
		return resp, nil
	}
}

// WrapAuthorizer returns h with panic recovery, Sentry reports, one
// "authorize" log line and EMF metrics (with the same names as Wrap's:
// a deny or "Unauthorized" counts as 4xx, a panic or any other error as
// 5xx). A panic is reported and answered with an error (API Gateway:
// AUTHORIZER_FAILURE, a 5xx; never a 401 that blames the token). An "Unauthorized" error is a normal answer, not a
// fault; any other error is reported and returned as is (API Gateway: 500).
func (o *Obs) WrapAuthorizer(h AuthorizerHandler) AuthorizerHandler {
	// The authorizer is its own function, also where one process serves
	// everything (the local gateway).
	function := "authorizer"
	return func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		start := time.Now()
		method := req.HTTPMethod
		if method == "" {
			method = req.RequestContext.HTTPMethod
		}
		route := req.Resource
		if route == "" {
			route = req.RequestContext.ResourcePath
		}
		ctx, st := o.begin(ctx, invocation{
			function:  function,
			route:     route,
			method:    method,
			path:      req.Path,
			requestID: req.RequestContext.RequestID,
		})

		var (
			resp events.APIGatewayCustomAuthorizerResponse
			err  error
			p    *panicInfo
		)
		func() {
			defer func() {
				if r := recover(); r != nil {
					p = st.recovered(r)
				}
			}()
			resp, err = h(ctx, req)
		}()

		var status int
		var effect string
		switch {
		case p != nil:
			// A bug is no bad token: fail the authorization (API Gateway's
			// AUTHORIZER_FAILURE, a 5xx) rather than deny it.
			resp, err = events.APIGatewayCustomAuthorizerResponse{}, errors.New("authorizer panicked")
			status = http.StatusInternalServerError
		case err != nil && err.Error() == unauthorized:
			status, effect = http.StatusUnauthorized, "unauthorized"
		case err != nil:
			status = http.StatusInternalServerError
		default:
			effect = policyEffect(resp)
			status = http.StatusOK
			if effect != "Allow" {
				status = http.StatusForbidden
			}
			if id := principalString(resp.Context["user_id"]); id != "" {
				SetUser(ctx, id)
			}
		}
		var fault error
		if status >= 500 && p == nil {
			fault = err
		}
		var extra []slog.Attr
		if effect != "" {
			extra = append(extra, slog.String("effect", effect))
		}
		st.finish(ctx, start, status, fault, p, "authorize", extra...)
		return resp, err
	}
}

// policyEffect returns "Allow" only if every statement allows.
func policyEffect(resp events.APIGatewayCustomAuthorizerResponse) string {
	if len(resp.PolicyDocument.Statement) == 0 {
		return "Deny"
	}
	for _, s := range resp.PolicyDocument.Statement {
		if s.Effect != "Allow" {
			return "Deny"
		}
	}
	return "Allow"
}

// callHandler runs h, recovering a panic into p.
func callHandler(ctx context.Context, st *reqState, h Handler, req events.APIGatewayProxyRequest) (resp events.APIGatewayProxyResponse, err error, p *panicInfo) {
	defer func() {
		if r := recover(); r != nil {
			p = st.recovered(r)
		}
	}()
	resp, err = h(ctx, req)
	return resp, err, p
}

// invocation describes one request.
type invocation struct {
	function, route, method, path, requestID, userID string
}

// reqState is the per-invocation state reached through the context.
type reqState struct {
	o *Obs
	invocation
	awsRequestID string
	hub          *sentry.Hub // a clone of o.hub; nil when Sentry is off

	mu      sync.Mutex
	logger  *slog.Logger
	errs    []error
	event   *sentry.Event // built by the first RecordError, with its stack
	metrics []point
	done    bool
}

type ctxKey struct{}

func stateFrom(ctx context.Context) *reqState {
	if ctx == nil {
		return nil
	}
	st, _ := ctx.Value(ctxKey{}).(*reqState)
	return st
}

func (o *Obs) begin(ctx context.Context, inv invocation) (context.Context, *reqState) {
	if inv.requestID == "" {
		inv.requestID = newID()
	}
	st := &reqState{o: o, invocation: inv}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		st.awsRequestID = lc.AwsRequestID
	}
	st.logger = st.newLogger()
	if o.hub != nil {
		st.hub = o.hub.Clone()
		st.hub.ConfigureScope(func(s *sentry.Scope) {
			s.SetTags(map[string]string{
				"function":   inv.function,
				"route":      inv.route,
				"method":     inv.method,
				"request_id": inv.requestID,
			})
			if st.awsRequestID != "" {
				s.SetTag("aws_request_id", st.awsRequestID)
			}
			if inv.userID != "" {
				s.SetUser(sentry.User{ID: inv.userID})
			}
		})
		ctx = sentry.SetHubOnContext(ctx, st.hub)
	}
	return context.WithValue(ctx, ctxKey{}, st), st
}

// newLogger must be called with st.mu held or before st is shared.
func (st *reqState) newLogger() *slog.Logger {
	attrs := []any{
		slog.String("request_id", st.requestID),
		slog.String("function", st.function),
		slog.String("route", st.route),
		slog.String("method", st.method),
	}
	if st.userID != "" {
		attrs = append(attrs, slog.String("user_id", st.userID))
	}
	return st.o.root.With(attrs...)
}

// panicInfo is a recovered panic.
type panicInfo struct {
	err     error
	stack   []byte
	eventID string
}

// recovered records a panic. It must run in the deferred function that
// called recover, so that the stack still shows where the panic happened.
func (st *reqState) recovered(r any) *panicInfo {
	p := &panicInfo{stack: debug.Stack()}
	var isErr bool
	if e, ok := r.(error); ok {
		p.err, isErr = fmt.Errorf("panic: %w", e), true
	} else {
		p.err = fmt.Errorf("panic: %v", r)
	}
	if st.hub != nil {
		var ev *sentry.Event
		if isErr {
			ev = st.hub.Client().EventFromException(r.(error), sentry.LevelFatal)
		} else {
			ev = st.hub.Client().EventFromException(errors.New(fmt.Sprint(r)), sentry.LevelFatal)
			ev.Exception[len(ev.Exception)-1].Type = "panic"
		}
		top := &ev.Exception[len(ev.Exception)-1]
		if top.Mechanism == nil {
			top.Mechanism = &sentry.Mechanism{}
		}
		top.Mechanism.Type = "panic"
		top.Mechanism.SetUnhandled()
		st.hub.ConfigureScope(func(s *sentry.Scope) { s.SetTag("panic", "true") })
		p.eventID = st.capture(ev, http.StatusInternalServerError)
	}
	return p
}

// capture sends ev through the invocation's hub with the request's details
// (never headers, cookies or body) and returns its id ("" if dropped).
func (st *reqState) capture(ev *sentry.Event, status int) string {
	st.hub.ConfigureScope(func(s *sentry.Scope) { s.SetTag("status", strconv.Itoa(status)) })
	ev.Transaction = st.method + " " + st.route
	ev.Request = &sentry.Request{URL: st.path, Method: st.method}
	id := st.hub.CaptureEvent(ev)
	if id == nil {
		return ""
	}
	return string(*id)
}

// finish reports, logs and emits metrics for the invocation. err is the
// fault (a handler error) if any; p a recovered panic.
func (st *reqState) finish(ctx context.Context, start time.Time, status int, err error, p *panicInfo, msg string, extra ...slog.Attr) {
	elapsed := time.Since(start)

	st.mu.Lock()
	st.done = true
	logger, recorded, recEvent, business := st.logger, st.errs, st.event, st.metrics
	st.mu.Unlock()

	// The error chain to log: the panic, or the handler's error, then
	// whatever the handler recorded.
	var chain []error
	if p != nil {
		chain = append(chain, p.err)
	} else if err != nil {
		chain = append(chain, err)
	}
	chain = append(chain, recorded...)
	logErr := errors.Join(chain...)

	eventID := ""
	if p != nil {
		eventID = p.eventID
	} else if status >= 500 && st.hub != nil {
		var ev *sentry.Event
		switch {
		case recEvent != nil:
			ev = recEvent
		case err != nil:
			ev = st.hub.Client().EventFromException(err, sentry.LevelError)
		default:
			ev = sentry.NewEvent()
			ev.Level = sentry.LevelError
			ev.Message = fmt.Sprintf("%s %s answered %d", st.method, st.route, status)
		}
		eventID = st.capture(ev, status)
	}
	if eventID != "" {
		st.hub.Flush(flushTimeout)
	}

	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("path", st.path),
		slog.Int("status", status),
		slog.Float64("duration_ms", ms(elapsed)),
	}
	if st.awsRequestID != "" {
		attrs = append(attrs, slog.String("aws_request_id", st.awsRequestID))
	}
	attrs = append(attrs, extra...)
	if logErr != nil {
		attrs = append(attrs, slog.String("error", redactText(logErr.Error())))
	}
	if p != nil {
		attrs = append(attrs, slog.Bool("panic", true), slog.String("stack", string(p.stack)))
	}
	if eventID != "" {
		attrs = append(attrs, slog.String("sentry_event_id", eventID))
	}
	logger.LogAttrs(ctx, level, msg, attrs...)

	is4xx, is5xx := 0.0, 0.0
	if status >= 400 && status < 500 {
		is4xx = 1
	}
	if status >= 500 {
		is5xx = 1
	}
	request := []point{
		{name: MetricRequests, unit: UnitCount, value: 1},
		{name: MetricLatency, unit: UnitMilliseconds, value: ms(elapsed)},
		{name: Metric4xx, unit: UnitCount, value: is4xx},
		{name: Metric5xx, unit: UnitCount, value: is5xx},
	}
	props := map[string]any{"request_id": st.requestID, "route": st.route}
	st.o.writeEMF(time.Now(), st.function, request, business, props)
}

// ms converts d to fractional milliseconds (microsecond precision).
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Logger returns the invocation's logger (with request_id, function, route,
// method and user_id), or the default Obs's logger outside Wrap.
func Logger(ctx context.Context) *slog.Logger {
	if st := stateFrom(ctx); st != nil {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.logger
	}
	return Default().log
}

// RequestID returns the invocation's request id, or "" outside Wrap.
func RequestID(ctx context.Context) string {
	if st := stateFrom(ctx); st != nil {
		return st.requestID
	}
	return ""
}

// SetUser sets the invocation's user id (for the log line, later Logger
// calls and Sentry) when the authorizer's context did not carry it.
func SetUser(ctx context.Context, id string) {
	st := stateFrom(ctx)
	if st == nil || id == "" {
		return
	}
	st.mu.Lock()
	st.userID = id
	st.logger = st.newLogger()
	st.mu.Unlock()
	if st.hub != nil {
		st.hub.ConfigureScope(func(s *sentry.Scope) { s.SetUser(sentry.User{ID: id}) })
	}
}

// RecordError attaches err as the cause of the 5xx the handler is about to
// answer: it appears in the request's log line and, if the answer is a 5xx,
// in the Sentry event, with the stack of this call. Call it where the fault
// is turned into a response. Outside Wrap it logs err with the default
// logger.
func RecordError(ctx context.Context, err error) {
	if err == nil {
		return
	}
	st := stateFrom(ctx)
	if st == nil {
		Default().log.ErrorContext(ctx, "error outside a request", slog.String("error", redactText(err.Error())))
		return
	}
	var ev *sentry.Event
	if st.hub != nil {
		st.mu.Lock()
		first := st.event == nil && !st.done
		st.mu.Unlock()
		if first {
			// Built here so that the stack shows the caller.
			ev = st.hub.Client().EventFromException(err, sentry.LevelError)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return
	}
	st.errs = append(st.errs, err)
	if ev != nil && st.event == nil {
		st.event = ev
	}
}

// principalString renders an authorizer context value (API Gateway passes
// strings, numbers and booleans) as a string.
func principalString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// newID returns a random UUID (version 4) for invocations without an API
// Gateway request id (direct invocations, tests).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
