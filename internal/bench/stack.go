package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/api"
	"wallets/internal/app"
	"wallets/internal/config"
	"wallets/internal/gateway"
	"wallets/internal/obs"
	"wallets/internal/passhash"
	"wallets/internal/relayenv"
	"wallets/internal/route"
)

// AuthorizerFunction names the authorizer in the meters.
const AuthorizerFunction = "authorizer"

// AuthorizerMemoryMB is the authorizer's memory in the CDK app
// (infra/functions.go), which the route table does not hold.
const AuthorizerMemoryMB = 256

// Counter counts the bytes and lines written to it and discards them,
// the authorizer's lines (its "authorize" message) apart from the rest.
type Counter struct {
	bytes, lines           atomic.Int64
	authzBytes, authzLines atomic.Int64
}

// authorizerLine marks the authorizer's invocation line (obs writes each
// line in one Write).
var authorizerLine = []byte(`"msg":"authorize"`)

// Write counts p.
func (c *Counter) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		c.bytes.Add(int64(len(line)))
		if line[len(line)-1] == '\n' {
			c.lines.Add(1)
		}
		if bytes.Contains(line, authorizerLine) {
			c.authzBytes.Add(int64(len(line)))
			c.authzLines.Add(1)
		}
	}
	return len(p), nil
}

// Bytes and Lines are the totals so far.
func (c *Counter) Bytes() int64 { return c.bytes.Load() }

// Lines is the number of lines written so far.
func (c *Counter) Lines() int64 { return c.lines.Load() }

// meter counts one function's invocations and their billed milliseconds.
type meter struct {
	count, billedMS atomic.Int64
}

func (m *meter) observe(d time.Duration) {
	m.count.Add(1)
	m.billedMS.Add(int64((d + time.Millisecond - 1) / time.Millisecond))
}

// Stack is the API served in-process on a loopback port, as `make run`
// serves it, with its log output counted instead of printed and every
// handler's and the authorizer's invocations metered.
type Stack struct {
	// BaseURL is the API's base, http://127.0.0.1:port/api/v1.
	BaseURL string
	// Logs counts the functions' and the authorizer's log output; Access the
	// local gateway's access log (API Gateway's access logging).
	Logs, Access *Counter

	env *app.Env
	// events is the relay and the delivery worker, running as in `make run`
	// (the money workloads pay for the relay publishing their events).
	events *relayenv.Local
	srv    *http.Server
	served chan error
	meters map[string]*meter
	memory map[string]int
}

// StartStack serves the API over the database at dbURL on a free loopback
// port, with jwtKey signing tokens and a pool of maxConns.
func StartStack(ctx context.Context, dbURL string, jwtKey []byte, maxConns int) (*Stack, error) {
	ring, err := config.StaticKeys(jwtKey, append([]byte("bench cursor key: "), jwtKey...))
	if err != nil {
		return nil, fmt.Errorf("bench stack: %w", err)
	}
	cfg := config.Config{
		DatabaseURL:      dbURL,
		Keys:             ring,
		Environment:      "bench",
		StatementTimeout: 5 * time.Second,
		MaxConns:         int32(maxConns),
		// The delivery workload receives on a loopback port.
		WebhookAllowLocal: true,
	}
	e, err := app.NewEnv(ctx, cfg, "wallets-local")
	if err != nil {
		return nil, fmt.Errorf("bench stack: %w", err)
	}
	s := &Stack{Logs: &Counter{}, Access: &Counter{}, env: e, meters: map[string]*meter{}, memory: map[string]int{}}
	// The process's observability, as NewEnv built it, but writing to the
	// counter: installed as the default too, so that slog's default logger
	// (used by code logging with a context) is counted as well.
	e.Obs = obs.Init(ctx, obs.Config{Function: "wallets-local", Output: s.Logs})

	routes := route.Routes()
	for _, rt := range routes {
		s.meters[rt.Function] = &meter{}
		s.memory[rt.Function] = rt.Memory()
	}
	s.meters[AuthorizerFunction] = &meter{}
	s.memory[AuthorizerFunction] = AuthorizerMemoryMB

	svc := e.All(passhash.Argon2id{})
	access := slog.New(slog.NewJSONHandler(s.Access, nil))
	gw := gateway.New(routes, s.metered(e.Bind(svc)), s.meteredAuthorizer(e.Authorizer(svc.Users)), gateway.Options{Logger: access})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("bench stack: listen: %w", err)
	}
	s.BaseURL = "http://" + ln.Addr().String() + route.Prefix
	s.srv = &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	s.events = relayenv.Start(e, relayenv.Options{})
	s.served = make(chan error, 1)
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

func (s *Stack) metered(bind func(route.Route) api.Handler) func(route.Route) api.Handler {
	return func(rt route.Route) api.Handler {
		h, m := bind(rt), s.meters[rt.Function]
		return func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			start := time.Now()
			defer func() { m.observe(time.Since(start)) }()
			return h(ctx, req)
		}
	}
}

func (s *Stack) meteredAuthorizer(h api.AuthorizerHandler) api.AuthorizerHandler {
	m := s.meters[AuthorizerFunction]
	return func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		start := time.Now()
		defer func() { m.observe(time.Since(start)) }()
		return h(ctx, req)
	}
}

// Usage is a snapshot of the meters and counters.
type Usage struct {
	Invocations           map[string]Invocations
	LogBytes, AccessBytes int64
	LogLines, AccessLines int64
	// AuthorizerLogBytes and AuthorizerLogLines are the authorizer's part
	// of LogBytes and LogLines.
	AuthorizerLogBytes, AuthorizerLogLines int64
}

// Usage returns the meters and counters now; Sub of two snapshots is what
// happened between them.
func (s *Stack) Usage() Usage {
	u := Usage{
		Invocations: map[string]Invocations{},
		LogBytes:    s.Logs.Bytes(), LogLines: s.Logs.Lines(),
		AccessBytes: s.Access.Bytes(), AccessLines: s.Access.Lines(),
		AuthorizerLogBytes: s.Logs.authzBytes.Load(), AuthorizerLogLines: s.Logs.authzLines.Load(),
	}
	for name, m := range s.meters {
		u.Invocations[name] = Invocations{MemoryMB: s.memory[name], Count: m.count.Load(), BilledMS: m.billedMS.Load()}
	}
	return u
}

// Sub is u minus an earlier snapshot.
func (u Usage) Sub(earlier Usage) Usage {
	d := Usage{
		Invocations: map[string]Invocations{},
		LogBytes:    u.LogBytes - earlier.LogBytes, LogLines: u.LogLines - earlier.LogLines,
		AccessBytes: u.AccessBytes - earlier.AccessBytes, AccessLines: u.AccessLines - earlier.AccessLines,
		AuthorizerLogBytes: u.AuthorizerLogBytes - earlier.AuthorizerLogBytes,
		AuthorizerLogLines: u.AuthorizerLogLines - earlier.AuthorizerLogLines,
	}
	for name, v := range u.Invocations {
		e := earlier.Invocations[name]
		d.Invocations[name] = Invocations{MemoryMB: v.MemoryMB, Count: v.Count - e.Count, BilledMS: v.BilledMS - e.BilledMS}
	}
	return d
}

// Close stops serving and closes the pools.
func (s *Stack) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if s.events != nil {
		err = errors.Join(err, s.events.Close(ctx))
	}
	s.env.Close()
	return err
}

// sync is used by the seeding's logins; kept here so the package has one
// place that fans work out.
type fanOut struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (f *fanOut) Go(fn func() error) {
	f.wg.Go(func() {
		if err := fn(); err != nil {
			f.mu.Lock()
			f.errs = append(f.errs, err)
			f.mu.Unlock()
		}
	})
}

func (f *fanOut) Wait() error {
	f.wg.Wait()
	return errors.Join(f.errs...)
}
