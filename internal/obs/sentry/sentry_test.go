package sentryreport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/getsentry/sentry-go"

	"wallets/internal/obs"
	sentryreport "wallets/internal/obs/sentry"
)

// fakeSentry stands in for sentry.io: it records every envelope posted to
// /api/1/envelope/ and decodes its event items.
type fakeSentry struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	raw    [][]byte
	events []map[string]any
	hits   int
}

func newFakeSentry(t *testing.T) *fakeSentry {
	t.Helper()
	f := &fakeSentry{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("fake sentry: read body: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.hits++
		if r.URL.Path != "/api/1/envelope/" {
			t.Errorf("fake sentry: unexpected path %q", r.URL.Path)
		}
		f.raw = append(f.raw, body)
		// An envelope is a header line, then item header / payload line pairs.
		lines := bytes.Split(bytes.TrimRight(body, "\n"), []byte("\n"))
		for i := 1; i+1 < len(lines); i += 2 {
			var hdr struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(lines[i], &hdr); err != nil {
				t.Errorf("fake sentry: item header %q: %v", lines[i], err)
				continue
			}
			if hdr.Type != "event" {
				continue
			}
			var ev map[string]any
			if err := json.Unmarshal(lines[i+1], &ev); err != nil {
				t.Errorf("fake sentry: event payload: %v", err)
				continue
			}
			f.events = append(f.events, ev)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// dsn is e.g. http://public@127.0.0.1:PORT/1.
func (f *fakeSentry) dsn() string {
	return strings.Replace(f.srv.URL, "http://", "http://public@", 1) + "/1"
}

// received returns the events delivered so far.
func (f *fakeSentry) received() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.events...)
}

// waitEvents waits until n events arrived (Finish flushes before returning,
// so this should not have to wait at all).
func (f *fakeSentry) waitEvents(n int) []map[string]any {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := f.received()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				f.t.Fatalf("sentry received %d events, want %d", len(got), n)
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *fakeSentry) allRaw() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(bytes.Join(f.raw, []byte("\n")))
}

// newTestObs returns an Obs writing to a buffer and reporting to f.
func newTestObs(t *testing.T, f *fakeSentry) (*obs.Obs, *bytes.Buffer) {
	t.Helper()
	rep, err := sentryreport.New(sentryreport.Options{DSN: f.dsn(), Release: "test-release", Environment: "test"})
	if err != nil || rep == nil {
		t.Fatalf("New: %v, %v", rep, err)
	}
	var buf bytes.Buffer
	o := obs.New(obs.Config{Function: "wallets-test", Output: &buf, Reporter: rep})
	t.Cleanup(func() { o.Close(time.Second) })
	return o, &buf
}

// invoke runs h as an event source's adapter does: Begin, h under a deferred
// recover that calls Recovered, Finish. A handler error means a 500.
func invoke(ctx context.Context, o *obs.Obs, inv obs.Invocation, h func(ctx context.Context) (int, error)) {
	ctx, span := o.Begin(ctx, inv)
	var (
		status int
		err    error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				span.Recovered(r)
				status = 500
			}
		}()
		status, err = h(ctx)
	}()
	if err != nil {
		status = 500
	}
	span.Finish(ctx, status, err, "request")
}

// requestLog returns the one "request" log line.
func requestLog(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var found []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, sc.Text())
		}
		if m["msg"] == "request" {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d request log lines, want 1:\n%s", len(found), buf)
	}
	return found[0]
}

func depositInvocation() obs.Invocation {
	return obs.Invocation{
		Function:  "wallets-deposit",
		Route:     "/api/v1/wallets/customers/wallets/{uuid}",
		Method:    http.MethodPost,
		Path:      "/api/v1/wallets/customers/wallets/3f2a",
		RequestID: "req-123",
		UserID:    "42",
	}
}

func assertNoSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{"hunter2", "eyJhbGciOiJIUzI1NiJ9", "c2lnbmF0dXJl", "Bearer", "Authorization", "Cookie"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains %q:\n%s", where, secret, s)
		}
	}
}

func tags(ev map[string]any) map[string]any {
	m, _ := ev["tags"].(map[string]any)
	return m
}

// frames returns the top exception's stack frames, outermost first.
func frames(t *testing.T, ev map[string]any) []map[string]any {
	t.Helper()
	excs, _ := ev["exception"].([]any)
	if len(excs) == 0 {
		t.Fatalf("no exception in %v", ev)
	}
	st, _ := excs[len(excs)-1].(map[string]any)["stacktrace"].(map[string]any)
	fs, _ := st["frames"].([]any)
	out := make([]map[string]any, len(fs))
	for i, f := range fs {
		out[i] = f.(map[string]any)
	}
	return out
}

// leakSecrets puts secrets where a careless handler could: on the scope of
// the invocation's hub, and in its error. (Away from the test functions, so
// that the source context of their frames in events does not show them.)
func leakSecrets(ctx context.Context) error {
	sentry.GetHubFromContext(ctx).ConfigureScope(func(s *sentry.Scope) {
		s.SetTag("session_token", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl")
		s.SetContext("db", sentry.Context{"user": "app", "password": "hunter2"})
	})
	return fmt.Errorf("deposit: lock wallet (token=abc123): %w", errors.New("connection refused"))
}

func TestFaultIsReportedAndFlushed(t *testing.T) {
	f := newFakeSentry(t)
	o, buf := newTestObs(t, f)
	inv := depositInvocation()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-9"})
	var onCtx *sentry.Hub
	invoke(ctx, o, inv, func(ctx context.Context) (int, error) {
		onCtx = sentry.GetHubFromContext(ctx)
		return 200, leakSecrets(ctx)
	})
	if onCtx == nil {
		t.Error("no Sentry hub on the invocation's context")
	}
	// Finish flushed before returning: the event is already there.
	if n := len(f.received()); n != 1 {
		t.Fatalf("%d events delivered when the invocation returned, want 1", n)
	}

	ev := f.waitEvents(1)[0]
	tg := tags(ev)
	for k, want := range map[string]string{"function": "wallets-deposit", "request_id": "req-123", "route": inv.Route, "method": "POST", "status": "500", "aws_request_id": "aws-9"} {
		if tg[k] != want {
			t.Errorf("tag %s = %v, want %q", k, tg[k], want)
		}
	}
	if tg["session_token"] != "[Filtered]" {
		t.Errorf("tag session_token = %v", tg["session_token"])
	}
	if _, ok := tg["panic"]; ok {
		t.Errorf("panic tag on a fault: %v", tg)
	}
	if u, _ := ev["user"].(map[string]any); u["id"] != "42" {
		t.Errorf("user = %v, want id 42", ev["user"])
	}
	if ev["release"] != "test-release" || ev["environment"] != "test" || ev["level"] != "error" {
		t.Errorf("release/environment/level = %v/%v/%v", ev["release"], ev["environment"], ev["level"])
	}
	if ev["transaction"] != "POST "+inv.Route {
		t.Errorf("transaction = %v", ev["transaction"])
	}
	if req, _ := ev["request"].(map[string]any); req["url"] != inv.Path || req["method"] != "POST" {
		t.Errorf("request = %v", ev["request"])
	}
	exc, _ := json.Marshal(ev["exception"])
	if !strings.Contains(string(exc), "connection refused") {
		t.Errorf("exception lacks the cause chain: %s", exc)
	}
	excs := ev["exception"].([]any)
	if v := excs[len(excs)-1].(map[string]any)["value"]; v != "deposit: lock wallet (token=[Filtered]): connection refused" {
		t.Errorf("exception value not scrubbed: %v", v)
	}
	assertNoSecrets(t, "sentry envelope", f.allRaw())

	l := requestLog(t, buf)
	if l["sentry_event_id"] != ev["event_id"] || l["status"] != float64(500) {
		t.Errorf("log sentry_event_id = %v, event id %v", l["sentry_event_id"], ev["event_id"])
	}
	if strings.Contains(buf.String(), "abc123") {
		t.Errorf("output contains the token:\n%s", buf)
	}
}

func TestPanicIsReported(t *testing.T) {
	f := newFakeSentry(t)
	o, buf := newTestObs(t, f)
	invoke(context.Background(), o, depositInvocation(), func(ctx context.Context) (int, error) {
		var m map[string]int
		//lint:ignore SA5000 the runtime panic is the point
		m["boom"]++
		return 200, nil
	})

	ev := f.waitEvents(1)[0]
	if ev["level"] != "fatal" {
		t.Errorf("level = %v", ev["level"])
	}
	tg := tags(ev)
	if tg["function"] != "wallets-deposit" || tg["request_id"] != "req-123" || tg["panic"] != "true" || tg["status"] != "500" {
		t.Errorf("tags = %v", tg)
	}
	excs, _ := ev["exception"].([]any)
	if len(excs) == 0 {
		t.Fatalf("no exception in %v", ev)
	}
	top := excs[len(excs)-1].(map[string]any)
	if mech, _ := top["mechanism"].(map[string]any); mech["handled"] != false || mech["type"] != "panic" {
		t.Errorf("mechanism = %v", top["mechanism"])
	}
	if !strings.Contains(fmt.Sprint(top["value"]), "nil map") {
		t.Errorf("exception = %v", top)
	}
	st, _ := json.Marshal(top["stacktrace"])
	if !strings.Contains(string(st), "TestPanicIsReported") {
		t.Errorf("stack trace does not show the panicking handler: %s", st)
	}
	// The innermost frame is obs's, not this package's.
	fs := frames(t, ev)
	if last := fs[len(fs)-1]; last["module"] != "wallets/internal/obs" || last["function"] != "(*Span).Recovered" {
		t.Errorf("innermost frame = %v", last)
	}
	if l := requestLog(t, buf); l["sentry_event_id"] != ev["event_id"] || l["panic"] != true {
		t.Errorf("log = %v", l)
	}

	// A non-error panic value.
	invoke(context.Background(), o, obs.Invocation{Route: "/r"}, func(ctx context.Context) (int, error) {
		panic("invariant broken")
	})
	ev = f.waitEvents(2)[1]
	excs, _ = ev["exception"].([]any)
	if top := excs[len(excs)-1].(map[string]any); top["type"] != "panic" || top["value"] != "invariant broken" {
		t.Errorf("exception = %v", top)
	}
	if tags(ev)["panic"] != "true" || ev["level"] != "fatal" {
		t.Errorf("event = %v", ev)
	}
}

func TestRecordErrorAttachesCauseOf5xx(t *testing.T) {
	f := newFakeSentry(t)
	o, _ := newTestObs(t, f)
	invoke(context.Background(), o, depositInvocation(), func(ctx context.Context) (int, error) {
		obs.RecordError(ctx, fmt.Errorf("charge: insert ledger row: %w", errors.New("deadlock detected")))
		return 503, nil
	})
	ev := f.waitEvents(1)[0]
	if tags(ev)["status"] != "503" || ev["level"] != "error" {
		t.Errorf("status tag = %v, level %v", tags(ev)["status"], ev["level"])
	}
	exc, _ := json.Marshal(ev["exception"])
	if !strings.Contains(string(exc), "deadlock detected") || !strings.Contains(string(exc), "charge: insert ledger row") {
		t.Errorf("exception = %s", exc)
	}
	// The stack is the one of the RecordError call, in the handler.
	if !strings.Contains(string(exc), "TestRecordErrorAttachesCauseOf5xx") {
		t.Errorf("stack does not show the handler: %s", exc)
	}
	fs := frames(t, ev)
	if last := fs[len(fs)-1]; last["module"] != "wallets/internal/obs" || last["function"] != "RecordError" {
		t.Errorf("innermost frame = %v", last)
	}

	// A bare 5xx without a recorded error is still reported, as a message.
	invoke(context.Background(), o, obs.Invocation{Route: "/r", Method: "GET"}, func(ctx context.Context) (int, error) {
		return 502, nil
	})
	if ev := f.waitEvents(2)[1]; ev["message"] != "GET /r answered 502" || tags(ev)["status"] != "502" || ev["level"] != "error" {
		t.Errorf("message = %v, tags %v", ev["message"], tags(ev))
	}
}

func TestClientErrorsAndSuccessAreNotReported(t *testing.T) {
	f := newFakeSentry(t)
	o, _ := newTestObs(t, f)
	for _, status := range []int{404, 201} {
		invoke(context.Background(), o, obs.Invocation{Route: "/r", Method: "GET"}, func(ctx context.Context) (int, error) {
			obs.RecordError(ctx, errors.New("not a fault"))
			return status, nil
		})
	}
	o.Flush(time.Second)
	time.Sleep(50 * time.Millisecond)
	if got := f.waitEvents(0); len(got) != 0 {
		t.Fatalf("events = %v", got)
	}
}

func TestNoDSNMeansNoSentryAndNoNetwork(t *testing.T) {
	f := newFakeSentry(t)
	t.Setenv("SENTRY_DSN", f.dsn()) // must be ignored
	rep, err := sentryreport.New(sentryreport.Options{Environment: "test"})
	if err != nil || rep != nil {
		t.Fatalf("New without DSN = %v, %v; want nil, nil", rep, err)
	}
	var buf bytes.Buffer
	o := obs.New(obs.Config{Function: "wallets-test", Output: &buf, Reporter: rep})
	if o.ReportingEnabled() {
		t.Fatal("reporting enabled without a DSN")
	}
	invoke(context.Background(), o, obs.Invocation{Route: "/r"}, func(ctx context.Context) (int, error) {
		obs.RecordError(ctx, errors.New("recorded"))
		panic("boom")
	})
	o.Flush(time.Second)
	o.Close(time.Second)
	time.Sleep(100 * time.Millisecond)
	f.mu.Lock()
	hits := f.hits
	f.mu.Unlock()
	if hits != 0 {
		t.Fatalf("sentry endpoint hit %d times without a DSN", hits)
	}
	if l := requestLog(t, &buf); l["status"] != float64(500) || l["sentry_event_id"] != nil {
		t.Errorf("log = %v", l)
	}

	if rep, err := sentryreport.New(sentryreport.Options{DSN: "::not a dsn"}); err == nil || rep != nil {
		t.Errorf("New accepted an invalid DSN: %v, %v", rep, err)
	}
}

func TestConcurrentInvocationsHaveTheirOwnScope(t *testing.T) {
	f := newFakeSentry(t)
	o, _ := newTestObs(t, f)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("u%d", i)
			invoke(context.Background(), o, obs.Invocation{Route: "/r", RequestID: fmt.Sprintf("r%d", i)}, func(ctx context.Context) (int, error) {
				obs.SetUser(ctx, user)
				if strings.HasSuffix(user, "7") {
					return 0, errors.New("fault " + user)
				}
				return 200, nil
			})
		}()
	}
	wg.Wait()
	evs := f.waitEvents(4) // u7, u17, u27, u37
	for _, ev := range evs {
		tg := tags(ev)
		u, _ := ev["user"].(map[string]any)
		if "u"+strings.TrimPrefix(fmt.Sprint(tg["request_id"]), "r") != u["id"] {
			t.Errorf("event scope mixed up: tags %v user %v", tg, u)
		}
	}
}

func TestInitInstallsTheGlobalHub(t *testing.T) {
	f := newFakeSentry(t)
	rep, err := sentryreport.New(sentryreport.Options{DSN: f.dsn()})
	if err != nil {
		t.Fatal(err)
	}
	prevLog, prevClient := slog.Default(), sentry.CurrentHub().Client()
	t.Cleanup(func() {
		slog.SetDefault(prevLog)
		sentry.CurrentHub().BindClient(prevClient)
	})
	o := obs.Init(context.Background(), obs.Config{Output: io.Discard, Reporter: rep})
	t.Cleanup(func() { o.Close(time.Second) })
	sentry.CaptureMessage("outside any invocation")
	if !sentry.Flush(2 * time.Second) {
		t.Fatal("global hub flush timed out")
	}
	ev := f.waitEvents(1)[0]
	if ev["message"] != "outside any invocation" || ev["release"] != obs.Version {
		t.Errorf("event = %v", ev)
	}
}
