// Package sentryreport is obs's Reporter for Sentry (sentry-go): one hub
// per process, cloned for every invocation and tagged with its function,
// route, method, request_id and aws_request_id; events scrubbed of secrets
// before they leave; a synchronous transport flushed before the invocation
// returns, since Lambda freezes the process after that.
//
//	rep, err := sentryreport.New(sentryreport.Options{DSN: dsn, Environment: env})
//	o := obs.Init(ctx, obs.Config{Function: fn, Reporter: rep})
package sentryreport

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/getsentry/sentry-go"

	"wallets/internal/obs"
)

// Options configures New.
type Options struct {
	// DSN is the Sentry DSN; empty turns reporting off ($SENTRY_DSN is
	// ignored).
	DSN string
	// Environment is e.g. "local" or "prod".
	Environment string
	// Release is the build version; empty means obs.Version.
	Release string
}

// Reporter reports to Sentry. It implements obs.Reporter.
type Reporter struct {
	// hub is the template each invocation clones.
	hub *sentry.Hub
}

var _ obs.Reporter = (*Reporter)(nil)

// New returns the Sentry Reporter for opts, or nil (reporting off, no
// client, no network) when opts.DSN is empty. The result is an obs.Reporter
// so that nil is a nil interface, ready for obs.Config.Reporter. An invalid
// DSN is an error (and a nil Reporter): log it and carry on without.
func New(opts Options) (obs.Reporter, error) {
	if opts.DSN == "" {
		return nil, nil
	}
	if opts.Release == "" {
		opts.Release = obs.Version
	}
	// The classic HTTPTransport, not v0.46's default telemetry buffer: its
	// Flush can return while the scheduler goroutine still holds an event it
	// has taken from the buffer but not yet queued for sending, which in
	// Lambda (frozen after the handler returns) loses the event. The classic
	// transport queues in the capturing goroutine, so Flush waits for it.
	transport := sentry.NewHTTPTransport()
	transport.Timeout = 5 * time.Second
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:                    opts.DSN,
		Transport:              transport,
		DisableTelemetryBuffer: true,
		DisableMetrics:         true,
		Release:                opts.Release,
		Environment:            opts.Environment,
		SendDefaultPII:         false,
		BeforeSend:             scrubEvent,
		// Breadcrumbs are not used; make sure none are kept across
		// invocations of a reused container.
		MaxBreadcrumbs: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("sentry: %w", err)
	}
	return &Reporter{hub: sentry.NewHub(client, sentry.NewScope())}, nil
}

// Install makes r's client the one of sentry-go's global hub (obs.Init
// calls it), for whatever reports through sentry.CurrentHub().
func (r *Reporter) Install() {
	sentry.CurrentHub().BindClient(r.hub.Client())
}

// Flush waits up to timeout for queued events to be sent.
func (r *Reporter) Flush(timeout time.Duration) bool { return r.hub.Flush(timeout) }

// Close flushes (up to timeout) and stops the client's background sender.
func (r *Reporter) Close(timeout time.Duration) {
	r.hub.Flush(timeout)
	r.hub.Client().Close()
}

// Begin clones the hub for the invocation, tags its scope and puts the
// clone on the context (sentry.GetHubFromContext).
func (r *Reporter) Begin(ctx context.Context, inv obs.Invocation) (context.Context, obs.ReportScope) {
	hub := r.hub.Clone()
	hub.ConfigureScope(func(s *sentry.Scope) {
		s.SetTags(map[string]string{
			"function":   inv.Function,
			"route":      inv.Route,
			"method":     inv.Method,
			"request_id": inv.RequestID,
		})
		if inv.AWSRequestID != "" {
			s.SetTag("aws_request_id", inv.AWSRequestID)
		}
		if inv.UserID != "" {
			s.SetUser(sentry.User{ID: inv.UserID})
		}
	})
	return sentry.SetHubOnContext(ctx, hub), &scope{hub: hub, route: inv.Route, method: inv.Method, path: inv.Path}
}

// scope is one invocation's hub.
type scope struct {
	hub                 *sentry.Hub
	route, method, path string
}

func (s *scope) SetUser(id string) {
	s.hub.ConfigureScope(func(sc *sentry.Scope) { sc.SetUser(sentry.User{ID: id}) })
}

func (s *scope) Flush(timeout time.Duration) bool { return s.hub.Flush(timeout) }

func (s *scope) Error(err error) obs.Report {
	ev := s.hub.Client().EventFromException(err, sentry.LevelError)
	trimOwnFrames(ev)
	return &report{s: s, ev: ev}
}

func (s *scope) Panic(value any) obs.Report {
	var ev *sentry.Event
	if e, ok := value.(error); ok {
		ev = s.hub.Client().EventFromException(e, sentry.LevelFatal)
	} else {
		ev = s.hub.Client().EventFromException(errors.New(fmt.Sprint(value)), sentry.LevelFatal)
		ev.Exception[len(ev.Exception)-1].Type = "panic"
	}
	trimOwnFrames(ev)
	top := &ev.Exception[len(ev.Exception)-1]
	if top.Mechanism == nil {
		top.Mechanism = &sentry.Mechanism{}
	}
	top.Mechanism.Type = "panic"
	top.Mechanism.SetUnhandled()
	s.hub.ConfigureScope(func(sc *sentry.Scope) { sc.SetTag("panic", "true") })
	return &report{s: s, ev: ev}
}

func (s *scope) Message(msg string) obs.Report {
	ev := sentry.NewEvent()
	ev.Level = sentry.LevelError
	ev.Message = msg
	return &report{s: s, ev: ev}
}

// report is a built event, sent by Send.
type report struct {
	s  *scope
	ev *sentry.Event
}

// Send captures the event through the invocation's hub with the status tag
// and the request's route, method and path (never headers, cookies or
// body), and returns its id ("" if dropped).
func (r *report) Send(status int) string {
	s := r.s
	s.hub.ConfigureScope(func(sc *sentry.Scope) { sc.SetTag("status", strconv.Itoa(status)) })
	r.ev.Transaction = s.method + " " + s.route
	r.ev.Request = &sentry.Request{URL: s.path, Method: s.method}
	id := s.hub.CaptureEvent(r.ev)
	if id == nil {
		return ""
	}
	return string(*id)
}

// pkgPath is this package's import path, as in stack frames' Module.
var pkgPath = reflect.TypeFor[scope]().PkgPath()

// trimOwnFrames drops this package's frames from the innermost end of the
// stack traces sentry-go attached where the event was built, so that the
// innermost frame is obs's caller (RecordError, Recovered), as when obs
// built events itself.
func trimOwnFrames(ev *sentry.Event) {
	for i := range ev.Exception {
		st := ev.Exception[i].Stacktrace
		if st == nil {
			continue
		}
		n := len(st.Frames)
		for n > 0 && st.Frames[n-1].Module == pkgPath {
			n--
		}
		st.Frames = st.Frames[:n]
	}
}
