package obs

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

	"github.com/aws/aws-lambda-go/events"
	"github.com/getsentry/sentry-go"
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

// waitEvents waits until n events arrived (Wrap flushes before returning, so
// this should not have to wait at all).
func (f *fakeSentry) waitEvents(n int) []map[string]any {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		got := append([]map[string]any(nil), f.events...)
		f.mu.Unlock()
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

// newTestObs returns an Obs writing to a buffer, reporting to f if non-nil.
func newTestObs(t *testing.T, f *fakeSentry) (*Obs, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	cfg := Config{Function: "wallets-test", Release: "test-release", Environment: "test", Output: &buf}
	if f != nil {
		cfg.SentryDSN = f.dsn()
	}
	o, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { o.Close(time.Second) })
	return o, &buf
}

// lines splits the output into log lines and EMF documents.
func lines(t *testing.T, buf *bytes.Buffer) (logs, emf []map[string]any) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, sc.Text())
		}
		if _, ok := m["_aws"]; ok {
			emf = append(emf, m)
		} else {
			logs = append(logs, m)
		}
	}
	return logs, emf
}

// requestLog returns the one "request" (or "authorize") log line.
func requestLog(t *testing.T, logs []map[string]any, msg string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range logs {
		if l["msg"] == msg {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %q log lines, want 1: %v", len(found), msg, logs)
	}
	return found[0]
}

// checkEMF asserts the EMF specification's shape and returns the directive's
// dimension keys and metric names.
func checkEMF(t *testing.T, doc map[string]any) (dims []string, metrics map[string]string) {
	t.Helper()
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("_aws is not an object: %v", doc)
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || ts < float64(time.Now().Add(-time.Hour).UnixMilli()) {
		t.Errorf("_aws.Timestamp = %v, want ms epoch", aws["Timestamp"])
	}
	cwm, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(cwm) != 1 {
		t.Fatalf("_aws.CloudWatchMetrics = %v", aws["CloudWatchMetrics"])
	}
	dir := cwm[0].(map[string]any)
	if dir["Namespace"] != "Wallets" {
		t.Errorf("Namespace = %v", dir["Namespace"])
	}
	sets, ok := dir["Dimensions"].([]any)
	if !ok || len(sets) != 1 {
		t.Fatalf("Dimensions = %v", dir["Dimensions"])
	}
	for _, k := range sets[0].([]any) {
		key := k.(string)
		if _, ok := doc[key].(string); !ok {
			t.Errorf("dimension %q has no top-level string value: %v", key, doc[key])
		}
		dims = append(dims, key)
	}
	metrics = map[string]string{}
	for _, m := range dir["Metrics"].([]any) {
		def := m.(map[string]any)
		name := def["Name"].(string)
		unit, _ := def["Unit"].(string)
		metrics[name] = unit
		switch v := doc[name].(type) {
		case float64:
		case []any:
			for _, x := range v {
				if _, ok := x.(float64); !ok {
					t.Errorf("metric %q value %v is not numeric", name, x)
				}
			}
		default:
			t.Errorf("metric %q has no top-level numeric value: %v", name, doc[name])
		}
	}
	return dims, metrics
}

// requestEMF returns the request document (dimension set [Function]).
func requestEMF(t *testing.T, emf []map[string]any) map[string]any {
	t.Helper()
	for _, doc := range emf {
		if _, m := checkEMF(t, doc); m[MetricRequests] != "" {
			return doc
		}
	}
	t.Fatalf("no request EMF document in %v", emf)
	return nil
}

// secretRequest carries everything that must never be reported.
func secretRequest() events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{
		Resource:   "/api/v1/wallets/customers/wallets/{uuid}",
		Path:       "/api/v1/wallets/customers/wallets/3f2a",
		HTTPMethod: http.MethodPost,
		Headers: map[string]string{
			"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl",
			"Cookie":        "jwt=cookie-jwt-value",
		},
		QueryStringParameters: map[string]string{"token": "query-token-value"},
		Body:                  `{"password":"hunter2","amount":"10.00"}`,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID:  "req-123",
			HTTPMethod: http.MethodPost,
			Authorizer: map[string]any{"user_id": float64(42), "user_type": float64(1)},
		},
	}
}

func assertNoSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{"hunter2", "eyJhbGciOiJIUzI1NiJ9", "c2lnbmF0dXJl", "cookie-jwt-value", "query-token-value", "Bearer", "Authorization", "Cookie", "amount"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains %q:\n%s", where, secret, s)
		}
	}
}

func assertServerError(t *testing.T, resp events.APIGatewayProxyResponse, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("wrapped handler returned error %v", err)
	}
	if resp.StatusCode != 500 || resp.Body != `{"detail":"A server error occurred."}` || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("response = %d %v %s, want the contract's 500", resp.StatusCode, resp.Headers, resp.Body)
	}
}

func tags(ev map[string]any) map[string]any {
	m, _ := ev["tags"].(map[string]any)
	return m
}

func TestHandlerErrorIsReportedAs500(t *testing.T) {
	f := newFakeSentry(t)
	o, buf := newTestObs(t, f)
	route := "/api/v1/wallets/customers/wallets/{uuid}"
	cause := errors.New("connection refused")
	h := o.Wrap("wallets-deposit", route, func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200}, fmt.Errorf("deposit: lock wallet (token=abc123): %w", cause)
	})
	resp, err := h(context.Background(), secretRequest())
	assertServerError(t, resp, err)
	// Wrap flushed before returning: the event is already there.
	f.mu.Lock()
	n := len(f.events)
	f.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d events delivered when the invocation returned, want 1", n)
	}

	evs := f.waitEvents(1)
	ev := evs[0]
	tg := tags(ev)
	for k, want := range map[string]string{"function": "wallets-deposit", "request_id": "req-123", "route": route, "method": "POST", "status": "500"} {
		if tg[k] != want {
			t.Errorf("tag %s = %v, want %q", k, tg[k], want)
		}
	}
	if u, _ := ev["user"].(map[string]any); u["id"] != "42" {
		t.Errorf("user = %v, want id 42", ev["user"])
	}
	if ev["release"] != "test-release" || ev["environment"] != "test" {
		t.Errorf("release/environment = %v/%v", ev["release"], ev["environment"])
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

	logs, emf := lines(t, buf)
	l := requestLog(t, logs, "request")
	for k, want := range map[string]any{"request_id": "req-123", "function": "wallets-deposit", "method": "POST", "route": route,
		"path": "/api/v1/wallets/customers/wallets/3f2a", "status": float64(500), "user_id": "42", "level": "ERROR"} {
		if l[k] != want {
			t.Errorf("log %s = %v, want %v", k, l[k], want)
		}
	}
	if _, ok := l["duration_ms"].(float64); !ok {
		t.Errorf("log duration_ms = %v", l["duration_ms"])
	}
	if e, _ := l["error"].(string); !strings.Contains(e, "deposit: lock wallet") || !strings.Contains(e, "connection refused") || strings.Contains(e, "abc123") {
		t.Errorf("log error = %q", e)
	}
	if l["sentry_event_id"] != ev["event_id"] {
		t.Errorf("log sentry_event_id = %v, event id %v", l["sentry_event_id"], ev["event_id"])
	}
	assertNoSecrets(t, "output", buf.String())

	doc := requestEMF(t, emf)
	dims, metrics := checkEMF(t, doc)
	if len(dims) != 1 || dims[0] != "Function" || doc["Function"] != "wallets-deposit" {
		t.Errorf("request EMF dimensions = %v (%v)", dims, doc["Function"])
	}
	want := map[string]string{"Requests": "Count", "Latency": "Milliseconds", "4xx": "Count", "5xx": "Count"}
	for name, unit := range want {
		if metrics[name] != unit {
			t.Errorf("metric %s unit = %q, want %q", name, metrics[name], unit)
		}
	}
	if doc["5xx"] != float64(1) || doc["4xx"] != float64(0) || doc["Requests"] != float64(1) {
		t.Errorf("request EMF values: %v", doc)
	}
}

func TestPanicIsRecoveredAndReported(t *testing.T) {
	f := newFakeSentry(t)
	o, buf := newTestObs(t, f)
	h := o.Wrap("wallets-deposit", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		var m map[string]int
		m["boom"]++ // nil map: runtime panic
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	})
	resp, err := h(context.Background(), secretRequest())
	assertServerError(t, resp, err)

	ev := f.waitEvents(1)[0]
	if ev["level"] != "fatal" {
		t.Errorf("level = %v", ev["level"])
	}
	tg := tags(ev)
	if tg["function"] != "wallets-deposit" || tg["request_id"] != "req-123" || tg["panic"] != "true" {
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
	st, _ := json.Marshal(top["stacktrace"])
	if !strings.Contains(string(st), "TestPanicIsRecoveredAndReported") {
		t.Errorf("stack trace does not show the panicking handler: %s", st)
	}
	assertNoSecrets(t, "sentry envelope", f.allRaw())

	logs, emf := lines(t, buf)
	l := requestLog(t, logs, "request")
	if l["status"] != float64(500) || l["panic"] != true || !strings.Contains(l["stack"].(string), "TestPanicIsRecoveredAndReported") {
		t.Errorf("log = %v", l)
	}
	if e, _ := l["error"].(string); !strings.Contains(e, "nil map") {
		t.Errorf("log error = %q", e)
	}
	if doc := requestEMF(t, emf); doc["5xx"] != float64(1) {
		t.Errorf("5xx = %v", doc["5xx"])
	}

	// A non-error panic value.
	h2 := o.Wrap("wallets-deposit", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		panic("invariant broken")
	})
	resp, err = h2(context.Background(), events.APIGatewayProxyRequest{})
	assertServerError(t, resp, err)
	ev = f.waitEvents(2)[1]
	excs, _ = ev["exception"].([]any)
	if top := excs[len(excs)-1].(map[string]any); top["type"] != "panic" || top["value"] != "invariant broken" {
		t.Errorf("exception = %v", top)
	}
}

func TestRecordErrorAttachesCauseOf5xx(t *testing.T) {
	f := newFakeSentry(t)
	o, buf := newTestObs(t, f)
	h := o.Wrap("wallets-charge", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		RecordError(ctx, fmt.Errorf("charge: insert ledger row: %w", errors.New("deadlock detected")))
		return events.APIGatewayProxyResponse{StatusCode: 503, Body: `{"detail":"Service unavailable."}`}, nil
	})
	resp, err := h(context.Background(), secretRequest())
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("response = %d, %v; want the handler's 503", resp.StatusCode, err)
	}
	ev := f.waitEvents(1)[0]
	if tags(ev)["status"] != "503" {
		t.Errorf("status tag = %v", tags(ev)["status"])
	}
	exc, _ := json.Marshal(ev["exception"])
	if !strings.Contains(string(exc), "deadlock detected") || !strings.Contains(string(exc), "charge: insert ledger row") {
		t.Errorf("exception = %s", exc)
	}
	// The stack is the one of the RecordError call, in the handler.
	if !strings.Contains(string(exc), "TestRecordErrorAttachesCauseOf5xx") {
		t.Errorf("stack does not show the handler: %s", exc)
	}
	logs, _ := lines(t, buf)
	if l := requestLog(t, logs, "request"); !strings.Contains(l["error"].(string), "deadlock detected") {
		t.Errorf("log = %v", l)
	}

	// A bare 5xx without a recorded error is still reported, as a message.
	h2 := o.Wrap("wallets-charge", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 502}, nil
	})
	if resp, _ := h2(context.Background(), secretRequest()); resp.StatusCode != 502 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if ev := f.waitEvents(2)[1]; !strings.Contains(fmt.Sprint(ev["message"]), "502") {
		t.Errorf("message = %v", ev["message"])
	}
}

func TestClientErrorsAndSuccessAreNotReported(t *testing.T) {
	f := newFakeSentry(t)
	o, buf := newTestObs(t, f)
	h := o.Wrap("wallets-deposit", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		if req.Path == "/missing" {
			return events.APIGatewayProxyResponse{StatusCode: 404, Body: `{"detail":"Not found."}`}, nil
		}
		return events.APIGatewayProxyResponse{StatusCode: 201}, nil
	})
	for _, path := range []string{"/missing", "/ok"} {
		if _, err := h(context.Background(), events.APIGatewayProxyRequest{Path: path, HTTPMethod: "GET"}); err != nil {
			t.Fatal(err)
		}
	}
	o.Flush(time.Second)
	time.Sleep(50 * time.Millisecond)
	if got := f.waitEvents(0); len(got) != 0 {
		t.Fatalf("events = %v", got)
	}
	logs, emf := lines(t, buf)
	if len(logs) != 2 || len(emf) != 2 {
		t.Fatalf("%d logs, %d EMF docs, want 2 and 2", len(logs), len(emf))
	}
	if logs[0]["status"] != float64(404) || logs[0]["level"] != "INFO" || logs[1]["status"] != float64(201) {
		t.Errorf("logs = %v", logs)
	}
	if emf[0]["4xx"] != float64(1) || emf[0]["5xx"] != float64(0) || emf[1]["4xx"] != float64(0) {
		t.Errorf("emf = %v", emf)
	}
	// No request id from API Gateway: one is generated.
	id, _ := logs[0]["request_id"].(string)
	if len(id) != 36 || id == logs[1]["request_id"] {
		t.Errorf("generated request ids %v, %v", logs[0]["request_id"], logs[1]["request_id"])
	}
	if _, ok := logs[0]["user_id"]; ok {
		t.Errorf("anonymous request logged a user_id: %v", logs[0])
	}
}

func TestNoDSNMeansNoSentryAndNoNetwork(t *testing.T) {
	f := newFakeSentry(t)
	t.Setenv("SENTRY_DSN", f.dsn()) // must be ignored
	var buf bytes.Buffer
	o, err := New(Config{Function: "wallets-test", Output: &buf})
	if err != nil {
		t.Fatalf("New without DSN: %v", err)
	}
	if o.SentryEnabled() {
		t.Fatal("Sentry enabled without a DSN")
	}
	h := o.Wrap("", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		RecordError(ctx, errors.New("recorded"))
		panic("boom")
	})
	resp, err := h(context.Background(), events.APIGatewayProxyRequest{})
	assertServerError(t, resp, err)
	o.Flush(time.Second)
	o.Close(time.Second)
	time.Sleep(100 * time.Millisecond)
	f.mu.Lock()
	hits := f.hits
	f.mu.Unlock()
	if hits != 0 {
		t.Fatalf("sentry endpoint hit %d times without a DSN", hits)
	}
	logs, _ := lines(t, &buf)
	l := requestLog(t, logs, "request")
	if l["function"] != "wallets-test" || l["status"] != float64(500) {
		t.Errorf("log = %v", l)
	}
	if _, ok := l["sentry_event_id"]; ok {
		t.Errorf("sentry_event_id logged without Sentry: %v", l)
	}

	if _, err := New(Config{SentryDSN: "::not a dsn"}); err == nil {
		t.Error("New accepted an invalid DSN")
	}
}

func TestBusinessMetrics(t *testing.T) {
	o, buf := newTestObs(t, nil)
	h := o.Wrap("wallets-deposit", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		Count(ctx, MetricMoneyMovements, 1, "Operation", "deposit", "Outcome", "accepted")
		Metric(ctx, MetricAmountMoved, UnitNone, 10.5, map[string]string{"Operation": "deposit"})
		Metric(ctx, MetricAmountMoved, UnitNone, 2.25, map[string]string{"Operation": "deposit"})
		Count(ctx, MetricIdempotentReplays, 1)
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	})
	if _, err := h(context.Background(), events.APIGatewayProxyRequest{}); err != nil {
		t.Fatal(err)
	}
	_, emf := lines(t, buf)
	if len(emf) != 4 {
		t.Fatalf("%d EMF docs, want 4 (request, Operation+Outcome, Operation, Function): %v", len(emf), emf)
	}
	byDims := map[string]map[string]any{}
	for _, doc := range emf {
		dims, _ := checkEMF(t, doc)
		byDims[strings.Join(dims, ",")] = doc
	}
	if d := byDims["Operation,Outcome"]; d == nil || d["MoneyMovements"] != float64(1) || d["Operation"] != "deposit" || d["Outcome"] != "accepted" {
		t.Errorf("MoneyMovements doc = %v", d)
	}
	if d := byDims["Operation"]; d == nil || fmt.Sprint(d["AmountMoved"]) != "[10.5 2.25]" {
		t.Errorf("AmountMoved doc = %v", d)
	} else if _, m := checkEMF(t, d); m["AmountMoved"] != "None" {
		t.Errorf("AmountMoved unit = %q", m["AmountMoved"])
	}
	var replays map[string]any
	for _, doc := range emf {
		if _, ok := doc["IdempotentReplays"]; ok {
			replays = doc
		}
	}
	if replays == nil || replays["Function"] != "wallets-deposit" || replays["IdempotentReplays"] != float64(1) {
		t.Errorf("IdempotentReplays doc = %v", replays)
	}

	// Outside Wrap: no-ops, no panic.
	ctx := context.Background()
	Count(ctx, MetricLoginFailures, 1)
	Metric(ctx, MetricAmountMoved, UnitNone, 1, nil)
	SetUser(ctx, "1")
	if Logger(ctx) == nil || RequestID(ctx) != "" {
		t.Error("Logger/RequestID outside Wrap")
	}
}

func TestLoggerIsRequestScopedAndRedacts(t *testing.T) {
	o, buf := newTestObs(t, nil)
	h := o.Wrap("users-login", "/api/v1/users/login", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		Logger(ctx).Info("login attempt", "password", "hunter2", "jwt", "eyJx.eyJy.z", "username", "alice")
		SetUser(ctx, "7")
		Logger(ctx).Info("logged in")
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	})
	req := events.APIGatewayProxyRequest{HTTPMethod: "POST", RequestContext: events.APIGatewayProxyRequestContext{RequestID: "rid"}}
	if _, err := h(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	logs, _ := lines(t, buf)
	if len(logs) != 3 {
		t.Fatalf("logs = %v", logs)
	}
	for _, l := range logs {
		if l["request_id"] != "rid" || l["function"] != "users-login" || l["route"] != "/api/v1/users/login" || l["method"] != "POST" {
			t.Errorf("log line lacks request attributes: %v", l)
		}
	}
	if logs[0]["password"] != "[Filtered]" || logs[0]["jwt"] != "[Filtered]" || logs[0]["username"] != "alice" {
		t.Errorf("not redacted: %v", logs[0])
	}
	if logs[1]["user_id"] != "7" || logs[2]["user_id"] != "7" {
		t.Errorf("SetUser not applied: %v / %v", logs[1], logs[2])
	}
	if strings.Contains(buf.String(), "hunter2") {
		t.Error("password logged")
	}
}

func TestConcurrentInvocationsShareOneObs(t *testing.T) {
	f := newFakeSentry(t)
	o, buf := newTestObs(t, f)
	h := o.Wrap("wallets-deposit", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		SetUser(ctx, req.Path)
		Count(ctx, MetricMoneyMovements, 1, "Operation", "deposit", "Outcome", "accepted")
		Logger(ctx).Info("working")
		if strings.HasSuffix(req.Path, "7") {
			return events.APIGatewayProxyResponse{}, errors.New("fault " + req.Path)
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	})
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := events.APIGatewayProxyRequest{Path: fmt.Sprintf("u%d", i), RequestContext: events.APIGatewayProxyRequestContext{RequestID: fmt.Sprintf("r%d", i)}}
			if _, err := h(context.Background(), req); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	logs, emf := lines(t, buf)
	if len(logs) != 2*n || len(emf) != 2*n {
		t.Fatalf("%d logs, %d EMF, want %d each", len(logs), len(emf), 2*n)
	}
	for _, l := range logs {
		// Each invocation's lines carry its own ids.
		if want := "u" + strings.TrimPrefix(l["request_id"].(string), "r"); l["msg"] == "request" && l["user_id"] != want {
			t.Errorf("mixed-up state: %v", l)
		}
	}
	evs := f.waitEvents(4) // u7, u17, u27, u37
	for _, ev := range evs {
		tg := tags(ev)
		u, _ := ev["user"].(map[string]any)
		if "u"+strings.TrimPrefix(fmt.Sprint(tg["request_id"]), "r") != u["id"] {
			t.Errorf("event scope mixed up: tags %v user %v", tg, u)
		}
	}
}

func TestWrapAuthorizer(t *testing.T) {
	f := newFakeSentry(t)
	var buf bytes.Buffer
	o, err := New(Config{Function: "wallets-authorizer", SentryDSN: f.dsn(), Output: &buf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(time.Second) })
	allow := func(id string) events.APIGatewayCustomAuthorizerResponse {
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID:    id,
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{"*"}}}},
			Context:        map[string]any{"user_id": id},
		}
	}
	h := o.WrapAuthorizer(func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		switch req.Path {
		case "/panic":
			panic("authorizer bug")
		case "/anon":
			return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
		}
		return allow("42"), nil
	})
	req := func(path string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
		return events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Path: path, Resource: "/api/v1/x", HTTPMethod: "GET",
			Headers:        map[string]string{"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"},
			RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{RequestID: "a" + path},
		}
	}

	resp, err := h(context.Background(), req("/ok"))
	if err != nil || resp.PrincipalID != "42" {
		t.Fatalf("allow: %v %v", resp, err)
	}
	if _, err := h(context.Background(), req("/anon")); err == nil || err.Error() != "Unauthorized" {
		t.Fatalf("anon: %v", err)
	}
	if _, err := h(context.Background(), req("/panic")); err == nil || err.Error() == "Unauthorized" {
		t.Fatalf("panic: %v, want a failure that is not a 401", err)
	}
	ev := f.waitEvents(1)[0] // only the panic
	if tags(ev)["function"] != "authorizer" || tags(ev)["request_id"] != "a/panic" || ev["level"] != "fatal" {
		t.Errorf("event = %v", ev)
	}
	assertNoSecrets(t, "sentry envelope", f.allRaw())

	logs, emf := lines(t, &buf)
	var got []string
	for _, l := range logs {
		if l["msg"] != "authorize" {
			t.Errorf("unexpected line %v", l)
		}
		got = append(got, fmt.Sprint(l["status"], " ", l["effect"], " ", l["user_id"]))
	}
	if want := []string{"200 Allow 42", "401 unauthorized <nil>", "500 <nil> <nil>"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("authorize lines = %v, want %v", got, want)
	}
	if len(emf) != 3 || emf[1]["4xx"] != float64(1) || emf[2]["5xx"] != float64(1) {
		t.Errorf("emf = %v", emf)
	}
	assertNoSecrets(t, "output", buf.String())
}

func TestInitInstallsDefault(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() {
		slog.SetDefault(prev)
		defaultObs.Store(nil)
	})
	var buf bytes.Buffer
	o, err := Init(context.Background(), Config{Function: "wallets-balance", Output: &buf})
	if err != nil {
		t.Fatal(err)
	}
	if Default() != o {
		t.Fatal("Default is not the Obs from Init")
	}
	h := Wrap("", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		slog.InfoContext(ctx, "via slog default")
		return events.APIGatewayProxyResponse{StatusCode: 204}, nil
	})
	if _, err := h(context.Background(), events.APIGatewayProxyRequest{}); err != nil {
		t.Fatal(err)
	}
	logs, emf := lines(t, &buf)
	if len(logs) != 2 || logs[0]["function"] != "wallets-balance" || logs[1]["function"] != "wallets-balance" || len(emf) != 1 {
		t.Fatalf("logs = %v, emf = %v", logs, emf)
	}
	if logs[0]["request_id"] == nil || logs[0]["request_id"] != logs[1]["request_id"] || logs[0]["route"] != "/r" {
		t.Errorf("slog default line lacks the request's attributes: %v", logs[0])
	}
}

func TestZeroStatusIsAFault(t *testing.T) {
	o, _ := newTestObs(t, nil)
	h := o.Wrap("f", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{}, nil
	})
	resp, err := h(context.Background(), events.APIGatewayProxyRequest{})
	assertServerError(t, resp, err)
}

func TestScrubEvent(t *testing.T) {
	ev := sentry.NewEvent()
	ev.Request = &sentry.Request{
		URL:         "https://user:pw@example.com/x?token=abc&page=2",
		Data:        `{"password":"hunter2"}`,
		Cookies:     "jwt=abc",
		QueryString: "token=abc&page=2",
		Headers:     map[string]string{"Authorization": "Bearer x", "Cookie": "jwt=abc", "Set-Cookie": "jwt=abc", "X-Api-Key": "k", "Accept": "application/json"},
		Env:         map[string]string{"REMOTE_ADDR": "1.2.3.4"},
	}
	ev.Tags["session_token"] = "abc"
	ev.Contexts["db"] = map[string]any{"user": "app", "password": "pw", "nested": map[string]any{"client_secret": "s"}}
	ev.Message = "login failed for password=hunter2 with Bearer abc.def"
	ev.Exception = []sentry.Exception{{Value: "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2ln"}}
	ev.User = sentry.User{ID: "1", Email: "a@b.c", IPAddress: "1.2.3.4"}

	out := scrubEvent(ev, nil)
	b, _ := json.Marshal(out)
	s := string(b)
	for _, bad := range []string{"hunter2", "Bearer x", "jwt=abc", "eyJhbGci", "a@b.c", "1.2.3.4", `"k"`, "token=abc", "user:pw", `"pw"`, `"s"`} {
		if strings.Contains(s, bad) {
			t.Errorf("scrubbed event contains %q: %s", bad, s)
		}
	}
	if out.Request.Headers["Accept"] != "application/json" || !strings.Contains(out.Request.QueryString, "page=2") || out.User.ID != "1" {
		t.Errorf("scrubbing removed harmless data: %s", s)
	}
}
