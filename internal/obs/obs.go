// Package obs is the service's observability: one JSON log line (log/slog)
// per invocation, with its request id, that is also its CloudWatch metrics
// document in the Embedded Metric Format, and error reports for every panic
// and every 5xx answer through a Reporter (Sentry's is in
// wallets/internal/obs/sentry).
//
// obs knows no transport and no error tracker. A Lambda's main calls Init
// once per container (cold start); the adapter of its event source (API
// Gateway's is Observe) brackets every invocation with Begin and
// (*Span).Finish, which writes the line. Inside an invocation, RecordError,
// Warn, SetUser, Count, Metric and Logger reach its state through the
// context; outside one they fall back to the process logger or do nothing.
package obs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"wallets/internal/obs/metricname"
)

// Version is the build's release, set at link time:
//
//	go build -ldflags "-X wallets/internal/obs.Version=$(git describe --always)"
var Version = "dev"

// Namespace is the CloudWatch namespace of every metric this package emits.
const Namespace = metricname.Namespace

// flushTimeout bounds the wait for the Reporter at the end of an invocation
// that reported something: Lambda freezes background goroutines once the
// handler returns, so queued reports must be sent before.
const flushTimeout = 2 * time.Second

// Config configures Init and New.
type Config struct {
	// Function names the Lambda function (e.g. "wallets-deposit"); empty means
	// $AWS_LAMBDA_FUNCTION_NAME. An Invocation's Function overrides it.
	Function string
	// Reporter receives error reports (every panic and every 5xx); nil turns
	// reporting off. Init calls its Install method, if it has one.
	Reporter Reporter
	// Output receives log lines and EMF documents, one JSON object per line;
	// nil means os.Stdout. Writes are serialized, so any writer will do.
	Output io.Writer
	// LogLevel is the minimum level logged (default Info).
	LogLevel slog.Level
}

// Obs holds the process's logger, metric writer and Reporter. It is safe for
// concurrent use by any number of invocations.
type Obs struct {
	function string

	out  *lockedWriter
	root *slog.Logger // no attributes; request loggers derive from it
	log  *slog.Logger // root with the process's function

	rep Reporter // nil when reporting is off
}

// New builds an Obs without touching process-wide state.
func New(cfg Config) *Obs {
	o := &Obs{function: cfg.Function, rep: cfg.Reporter}
	if o.function == "" {
		o.function = os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	}
	w := cfg.Output
	if w == nil {
		w = os.Stdout
	}
	o.out = &lockedWriter{w: w}
	o.root = slog.New(slog.NewJSONHandler(o.out, &slog.HandlerOptions{
		Level:       cfg.LogLevel,
		ReplaceAttr: redactAttr,
	}))
	// The process logger tags its lines with the process's Function, or
	// those logged with an invocation's context (slog.InfoContext(ctx, ...)
	// through slog's default) with the invocation's attributes.
	o.log = slog.New(ctxHandler{o.root.Handler(), o.function})
	return o
}

var defaultObs atomic.Pointer[Obs]

// fallback serves Default before Init: stdout logs, no reporting.
var fallback = sync.OnceValue(func() *Obs { return New(Config{}) })

// Init builds the process's Obs (see New) and installs it: as Default (used
// by Logger and RecordError outside an invocation, and by adapters given no
// Obs), as slog's default logger, and, if the Reporter has an Install method
// (Sentry's binds its global hub), calls it. Call it once per Lambda
// container and once in the local gateway.
func Init(_ context.Context, cfg Config) *Obs {
	o := New(cfg)
	defaultObs.Store(o)
	slog.SetDefault(o.log)
	if in, ok := o.rep.(interface{ Install() }); ok {
		in.Install()
	}
	return o
}

// Default returns the Obs installed by Init, or a stdout-only one before Init.
func Default() *Obs {
	if o := defaultObs.Load(); o != nil {
		return o
	}
	return fallback()
}

// Logger returns the process logger (JSON, with the configured Function).
func (o *Obs) Logger() *slog.Logger { return o.log }

// ReportingEnabled reports whether errors are reported (Config.Reporter).
func (o *Obs) ReportingEnabled() bool { return o.rep != nil }

// Flush waits up to timeout for queued error reports to be sent. It reports
// false on timeout and true when reporting is off.
func (o *Obs) Flush(timeout time.Duration) bool {
	if o.rep == nil {
		return true
	}
	return o.rep.Flush(timeout)
}

// Close flushes the Reporter (up to timeout) and stops it; for the local
// gateway's shutdown and tests. The Obs must not report afterwards.
func (o *Obs) Close(timeout time.Duration) {
	if o.rep == nil {
		return
	}
	o.rep.Close(timeout)
}

// ctxHandler adds the invocation's request_id, Function, method and
// user_id to records logged with its context, and the process's Function
// to the others. (Request loggers from Logger(ctx) carry them already and
// do not use it.)
type ctxHandler struct {
	slog.Handler
	function string
}

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if st := stateFrom(ctx); st != nil {
		r = r.Clone()
		st.mu.Lock()
		r.AddAttrs(st.requestAttrs()...)
		st.mu.Unlock()
	} else if h.function != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("Function", h.function))
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(as), h.function}
}

func (h ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{h.Handler.WithGroup(name), h.function}
}

// lockedWriter serializes writes so that log lines and EMF documents of
// concurrent invocations never interleave. Every line is one Write call.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
