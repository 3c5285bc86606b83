// Package obs is the service's observability: JSON logs (log/slog) with the
// request id on every line, CloudWatch metrics in the Embedded Metric Format,
// and error reports to Sentry for every panic and every 5xx answer.
//
// A Lambda's main calls Init once per container (cold start) and wraps its
// handler with Wrap; the local gateway does the same once per process and
// wraps every route. Inside a wrapped handler, Logger, RecordError, SetUser,
// Count and Metric reach the invocation's state through the context; outside
// one they fall back to the process logger or do nothing.
package obs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getsentry/sentry-go"
)

// Version is the build's release, set at link time:
//
//	go build -ldflags "-X wallets/internal/obs.Version=$(git describe --always)"
var Version = "dev"

// Namespace is the CloudWatch namespace of every metric this package emits.
const Namespace = "Wallets"

// flushTimeout bounds the wait for Sentry at the end of an invocation that
// reported something: Lambda freezes background goroutines once the handler
// returns, so queued events must be sent before.
const flushTimeout = 2 * time.Second

// Config configures Init and New.
type Config struct {
	// Function names the Lambda function (e.g. "wallets-deposit"); empty means
	// $AWS_LAMBDA_FUNCTION_NAME. Wrap's own function argument overrides it
	// per route.
	Function string
	// Release is the build version; empty means Version.
	Release string
	// Environment is e.g. "local" or "prod".
	Environment string
	// SentryDSN enables Sentry; empty disables it (no client, no network,
	// $SENTRY_DSN is ignored).
	SentryDSN string
	// Output receives log lines and EMF documents, one JSON object per line;
	// nil means os.Stdout. Writes are serialized, so any writer will do.
	Output io.Writer
	// LogLevel is the minimum level logged (default Info).
	LogLevel slog.Level
}

// Obs holds the process's logger, metric writer and Sentry hub. It is safe
// for concurrent use by any number of invocations.
type Obs struct {
	function string
	release  string

	out  *lockedWriter
	root *slog.Logger // no attributes; request loggers derive from it
	log  *slog.Logger // root with the process's function

	// hub is the template each invocation clones; nil when Sentry is off.
	hub *sentry.Hub
}

// New builds an Obs without touching process-wide state. If the DSN is
// invalid it returns the error together with a working Obs whose Sentry
// reporting is disabled, so a caller may log the error and carry on.
func New(cfg Config) (*Obs, error) {
	o := &Obs{function: cfg.Function, release: cfg.Release}
	if o.function == "" {
		o.function = os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	}
	if o.release == "" {
		o.release = Version
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
	// The process logger also tags lines logged with a wrapped invocation's
	// context (slog.InfoContext(ctx, ...) through slog's default).
	o.log = slog.New(ctxHandler{o.root.Handler()})
	if o.function != "" {
		o.log = o.log.With(slog.String("function", o.function))
	}

	if cfg.SentryDSN == "" {
		return o, nil
	}
	// The classic HTTPTransport, not v0.46's default telemetry buffer: its
	// Flush can return while the scheduler goroutine still holds an event it
	// has taken from the buffer but not yet queued for sending, which in
	// Lambda (frozen after the handler returns) loses the event. The classic
	// transport queues in the capturing goroutine, so Flush waits for it.
	transport := sentry.NewHTTPTransport()
	transport.Timeout = 5 * time.Second
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:                    cfg.SentryDSN,
		Transport:              transport,
		DisableTelemetryBuffer: true,
		DisableMetrics:         true,
		Release:                o.release,
		Environment:            cfg.Environment,
		SendDefaultPII:         false,
		BeforeSend:             scrubEvent,
		// Breadcrumbs are not used; make sure none are kept across
		// invocations of a reused container.
		MaxBreadcrumbs: -1,
	})
	if err != nil {
		return o, fmt.Errorf("obs: sentry: %w", err)
	}
	scope := sentry.NewScope()
	if o.function != "" {
		scope.SetTag("function", o.function)
	}
	o.hub = sentry.NewHub(client, scope)
	return o, nil
}

var defaultObs atomic.Pointer[Obs]

// fallback serves Default before Init: stdout logs, no Sentry.
var fallback = sync.OnceValue(func() *Obs {
	o, _ := New(Config{})
	return o
})

// Init builds the process's Obs (see New) and installs it: as Default (used
// by the package-level Wrap, WrapAuthorizer and Logger), as slog's default
// logger, and as the client of Sentry's global hub. Call it once per Lambda
// container and once in the local gateway. Like New, it returns a working Obs
// even when it also returns an error.
func Init(_ context.Context, cfg Config) (*Obs, error) {
	o, err := New(cfg)
	defaultObs.Store(o)
	slog.SetDefault(o.log)
	if o.hub != nil {
		sentry.CurrentHub().BindClient(o.hub.Client())
	}
	return o, err
}

// Default returns the Obs installed by Init, or a stdout-only one before Init.
func Default() *Obs {
	if o := defaultObs.Load(); o != nil {
		return o
	}
	return fallback()
}

// Logger returns the process logger (JSON, with the configured function).
func (o *Obs) Logger() *slog.Logger { return o.log }

// SentryEnabled reports whether errors are sent to Sentry.
func (o *Obs) SentryEnabled() bool { return o.hub != nil }

// Flush waits up to timeout for queued Sentry events to be sent. It reports
// false on timeout and true when Sentry is disabled.
func (o *Obs) Flush(timeout time.Duration) bool {
	if o.hub == nil {
		return true
	}
	return o.hub.Flush(timeout)
}

// Close flushes Sentry (up to timeout) and stops its background sender; for
// the local gateway's shutdown. The Obs must not report afterwards.
func (o *Obs) Close(timeout time.Duration) {
	if o.hub == nil {
		return
	}
	o.hub.Flush(timeout)
	o.hub.Client().Close()
}

// ctxHandler adds the invocation's request_id, route, method and user_id to
// records logged with its context. (Request loggers from Logger(ctx) carry
// them already and do not use it.)
type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if st := stateFrom(ctx); st != nil {
		r = r.Clone()
		r.AddAttrs(
			slog.String("request_id", st.requestID),
			slog.String("route", st.route),
			slog.String("method", st.method),
		)
		st.mu.Lock()
		user := st.userID
		st.mu.Unlock()
		if user != "" {
			r.AddAttrs(slog.String("user_id", user))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(as)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{h.Handler.WithGroup(name)}
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
