package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/obs"
)

// fakeReporter records the invocations and reports obs hands to its
// Reporter.
type fakeReporter struct {
	mu    sync.Mutex
	begun []obs.Invocation
	sent  []sent
}

type sent struct {
	kind   string // "error", "panic" or "message"
	err    error
	value  any
	stack  string
	status int
	inv    obs.Invocation
	user   string
}

type fakeScope struct {
	r    *fakeReporter
	inv  obs.Invocation
	mu   sync.Mutex
	user string
}

type fakeReport struct {
	s *fakeScope
	sent
}

func (r *fakeReporter) Begin(ctx context.Context, inv obs.Invocation) (context.Context, obs.ReportScope) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.begun = append(r.begun, inv)
	return ctx, &fakeScope{r: r, inv: inv, user: inv.UserID}
}
func (r *fakeReporter) Flush(time.Duration) bool { return true }
func (r *fakeReporter) Close(time.Duration)      {}

func (r *fakeReporter) reports() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.sent...)
}

func (s *fakeScope) SetUser(id string)        { s.mu.Lock(); s.user = id; s.mu.Unlock() }
func (s *fakeScope) Flush(time.Duration) bool { return true }
func (s *fakeScope) Error(err error) obs.Report {
	return &fakeReport{s, sent{kind: "error", err: err}}
}
func (s *fakeScope) Panic(v any) obs.Report {
	return &fakeReport{s, sent{kind: "panic", value: v, stack: string(debug.Stack())}}
}
func (s *fakeScope) Message(string) obs.Report { return &fakeReport{s, sent{kind: "message"}} }

func (r *fakeReport) Send(status int) string {
	s := r.s
	s.mu.Lock()
	user := s.user
	s.mu.Unlock()
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	v := r.sent
	v.status, v.inv, v.user = status, s.inv, user
	s.r.sent = append(s.r.sent, v)
	return fmt.Sprintf("ev%d", len(s.r.sent))
}

func newTestObs(t *testing.T, function string) (*obs.Obs, *fakeReporter, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	rep := &fakeReporter{}
	o := obs.New(obs.Config{Function: function, Output: &buf, Reporter: rep})
	return o, rep, &buf
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
		// The invocation's log line is also its EMF document.
		if _, ok := m["_aws"]; ok {
			emf = append(emf, m)
		}
		if _, ok := m["msg"]; ok {
			logs = append(logs, m)
		}
	}
	return logs, emf
}

// requestLog returns the one log line with message msg.
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

// secretRequest carries everything that must never be logged or reported.
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
		t.Fatalf("observed handler returned error %v", err)
	}
	if resp.StatusCode != 500 || resp.Body != `{"detail":"A server error occurred."}` || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("response = %d %v %s, want the contract's 500", resp.StatusCode, resp.Headers, resp.Body)
	}
}

func TestHandlerErrorIsA500(t *testing.T) {
	o, rep, buf := newTestObs(t, "wallets-test")
	route := "/api/v1/wallets/customers/wallets/{uuid}"
	cause := errors.New("connection refused")
	h := Observe(o, "wallets-deposit", route, func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		if obs.RequestID(ctx) != "req-123" {
			t.Errorf("RequestID = %q", obs.RequestID(ctx))
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, fmt.Errorf("deposit: lock wallet (token=abc123): %w", cause)
	})
	resp, err := h(context.Background(), secretRequest())
	assertServerError(t, resp, err)

	want := obs.Invocation{Function: "wallets-deposit", Route: route, Method: "POST", Path: "/api/v1/wallets/customers/wallets/3f2a", RequestID: "req-123", UserID: "42"}
	if len(rep.begun) != 1 || rep.begun[0] != want {
		t.Errorf("invocation = %+v, want %+v", rep.begun, want)
	}
	assertNoSecrets(t, "invocation", fmt.Sprintf("%+v", rep.begun))
	sent := rep.reports()
	if len(sent) != 1 || sent[0].kind != "error" || !errors.Is(sent[0].err, cause) || sent[0].status != 500 || sent[0].user != "42" {
		t.Fatalf("reports = %+v", sent)
	}

	logs, emf := lines(t, buf)
	l := requestLog(t, logs, "request")
	for k, want := range map[string]any{"request_id": "req-123", "Function": "wallets-deposit", "method": "POST",
		"path": "/api/v1/wallets/customers/wallets/3f2a", "status": float64(500), "user_id": "42", "level": "ERROR", "sentry_event_id": "ev1"} {
		if l[k] != want {
			t.Errorf("log %s = %v, want %v", k, l[k], want)
		}
	}
	if e, _ := l["error"].(string); !strings.Contains(e, "deposit: lock wallet") || !strings.Contains(e, "connection refused") || strings.Contains(e, "abc123") {
		t.Errorf("log error = %q", e)
	}
	assertNoSecrets(t, "output", buf.String())
	// One line: the log line is the EMF document.
	if len(emf) != 1 || len(logs) != 1 || emf[0]["Function"] != "wallets-deposit" || emf[0]["5xx"] != float64(1) || emf[0]["4xx"] != nil {
		t.Errorf("emf = %v", emf)
	}
}

func TestPanicIsA500(t *testing.T) {
	o, rep, buf := newTestObs(t, "wallets-test")
	h := Observe(o, "wallets-deposit", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		var m map[string]int
		//lint:ignore SA5000 the runtime panic is the point
		m["boom"]++
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	})
	resp, err := h(context.Background(), secretRequest())
	assertServerError(t, resp, err)
	sent := rep.reports()
	if len(sent) != 1 || sent[0].kind != "panic" || sent[0].status != 500 || !strings.Contains(sent[0].stack, "TestPanicIsA500") {
		t.Fatalf("reports = %+v", sent)
	}
	logs, emf := lines(t, buf)
	l := requestLog(t, logs, "request")
	if l["status"] != float64(500) || l["panic"] != true || !strings.Contains(l["stack"].(string), "TestPanicIsA500") {
		t.Errorf("log = %v", l)
	}
	if e, _ := l["error"].(string); !strings.Contains(e, "nil map") {
		t.Errorf("log error = %q", e)
	}
	if len(emf) != 1 || emf[0]["5xx"] != float64(1) {
		t.Errorf("emf = %v", emf)
	}

	// A non-error panic value.
	h2 := Observe(o, "wallets-deposit", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		panic("invariant broken")
	})
	resp, err = h2(context.Background(), events.APIGatewayProxyRequest{})
	assertServerError(t, resp, err)
	if sent := rep.reports(); len(sent) != 2 || sent[1].value != "invariant broken" {
		t.Errorf("reports = %+v", sent)
	}
}

func TestZeroStatusIsAFault(t *testing.T) {
	o, rep, buf := newTestObs(t, "f")
	h := Observe(o, "f", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{}, nil
	})
	resp, err := h(context.Background(), events.APIGatewayProxyRequest{})
	assertServerError(t, resp, err)
	if sent := rep.reports(); len(sent) != 1 || sent[0].kind != "error" || sent[0].err.Error() != "obs: handler returned no status code" {
		t.Errorf("reports = %+v", sent)
	}
	logs, _ := lines(t, buf)
	if l := requestLog(t, logs, "request"); l["error"] != "obs: handler returned no status code" {
		t.Errorf("log = %v", l)
	}
}

func TestHandlerAnswersPassThrough(t *testing.T) {
	o, rep, buf := newTestObs(t, "wallets-test")
	h := Observe(o, "", "", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		switch req.Path {
		case "/missing":
			return events.APIGatewayProxyResponse{StatusCode: 404, Body: `{"detail":"Not found."}`}, nil
		case "/busy":
			obs.RecordError(ctx, errors.New("deadlock detected"))
			return events.APIGatewayProxyResponse{StatusCode: 503, Body: `{"detail":"Service unavailable."}`}, nil
		}
		return events.APIGatewayProxyResponse{StatusCode: 201}, nil
	})
	for path, status := range map[string]int{"/missing": 404, "/busy": 503, "/ok": 201} {
		req := events.APIGatewayProxyRequest{Path: path, Resource: "/res", RequestContext: events.APIGatewayProxyRequestContext{HTTPMethod: "GET"}}
		resp, err := h(context.Background(), req)
		if err != nil || resp.StatusCode != status {
			t.Errorf("%s: %d, %v; want the handler's %d", path, resp.StatusCode, err, status)
		}
	}
	// The route defaults to req.Resource.
	if len(rep.begun) != 3 || rep.begun[0].Route != "/res" {
		t.Errorf("invocations = %+v", rep.begun)
	}
	// Only the 503 is reported, with the recorded error.
	if sent := rep.reports(); len(sent) != 1 || sent[0].status != 503 || sent[0].kind != "error" || sent[0].err.Error() != "deadlock detected" {
		t.Errorf("reports = %+v", sent)
	}
	logs, _ := lines(t, buf)
	if len(logs) != 3 {
		t.Fatalf("logs = %v", logs)
	}
	for _, l := range logs {
		// Function and method default to the Obs's and the request
		// context's method; no authorizer, no user.
		if l["Function"] != "wallets-test" || l["method"] != "GET" || l["user_id"] != nil {
			t.Errorf("log = %v", l)
		}
	}
}

func TestObserveAuthorizer(t *testing.T) {
	o, rep, buf := newTestObs(t, "wallets-authorizer")
	allow := func(id string) events.APIGatewayCustomAuthorizerResponse {
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID:    id,
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{"*"}}}},
			Context:        map[string]any{"user_id": id},
		}
	}
	h := ObserveAuthorizer(o, func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		switch req.Path {
		case "/panic":
			panic("authorizer bug")
		case "/anon":
			return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
		case "/deny":
			resp := allow("43")
			resp.PolicyDocument.Statement[0].Effect = "Deny"
			return resp, nil
		case "/broken":
			return events.APIGatewayCustomAuthorizerResponse{}, errors.New("key store unreachable")
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
	if _, err := h(context.Background(), req("/panic")); err == nil || err.Error() != "authorizer panicked" {
		t.Fatalf("panic: %v, want a failure that is not a 401", err)
	}
	if resp, err := h(context.Background(), req("/deny")); err != nil || resp.PolicyDocument.Statement[0].Effect != "Deny" {
		t.Fatalf("deny: %v %v", resp, err)
	}
	if _, err := h(context.Background(), req("/broken")); err == nil || err.Error() != "key store unreachable" {
		t.Fatalf("broken: %v, want the error as is", err)
	}
	// Route from the request context when there is no resource.
	r := req("/ok")
	r.Resource, r.HTTPMethod = "", ""
	r.RequestContext.ResourcePath, r.RequestContext.HTTPMethod = "/api/v1/y", "PUT"
	if _, err := h(context.Background(), r); err != nil {
		t.Fatal(err)
	}

	sent := rep.reports() // the panic and the other error
	if len(sent) != 2 {
		t.Fatalf("reports = %+v", sent)
	}
	if s := sent[0]; s.kind != "panic" || s.value != "authorizer bug" || s.status != 500 || s.inv.Function != "authorizer" || s.inv.RequestID != "a/panic" || s.inv.Route != "/api/v1/x" || s.inv.Method != "GET" {
		t.Errorf("panic report = %+v", s)
	}
	if s := sent[1]; s.kind != "error" || s.err.Error() != "key store unreachable" || s.status != 500 {
		t.Errorf("error report = %+v", s)
	}
	assertNoSecrets(t, "invocations", fmt.Sprintf("%+v", rep.begun))

	logs, emf := lines(t, buf)
	var got []string
	for _, l := range logs {
		if l["msg"] != "authorize" || l["Function"] != "authorizer" {
			t.Errorf("unexpected line %v", l)
		}
		got = append(got, fmt.Sprint(l["status"], " ", l["effect"], " ", l["user_id"], " ", l["path"], " ", l["method"]))
	}
	want := []string{
		"200 Allow 42 /ok GET",
		"401 unauthorized <nil> /anon GET",
		"500 <nil> <nil> /panic GET",
		"403 Deny 43 /deny GET",
		"500 <nil> <nil> /broken GET",
		"200 Allow 42 /ok PUT",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("authorize lines = %v, want %v", got, want)
	}
	if len(emf) != 6 || emf[1]["4xx"] != float64(1) || emf[2]["5xx"] != float64(1) || emf[3]["4xx"] != float64(1) || emf[0]["4xx"] != nil || emf[0]["Function"] != "authorizer" {
		t.Errorf("emf = %v", emf)
	}
	// The route goes to the reports; Function, method and path name it.
	if r := rep.begun[len(rep.begun)-1]; r.Route != "/api/v1/y" || r.Method != "PUT" {
		t.Errorf("invocation = %+v", r)
	}
	assertNoSecrets(t, "output", buf.String())
}

func TestNilObsIsTheDefaultAtCallTime(t *testing.T) {
	h := Observe(nil, "", "/r", func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		slog.InfoContext(ctx, "via slog default")
		return events.APIGatewayProxyResponse{StatusCode: 204}, nil
	})
	a := ObserveAuthorizer(nil, func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	})
	// Init after Observe.
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	var buf bytes.Buffer
	obs.Init(context.Background(), obs.Config{Function: "wallets-balance", Output: &buf})
	if _, err := h(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{}); err == nil {
		t.Fatal("authorizer error lost")
	}
	logs, emf := lines(t, &buf)
	if len(logs) != 3 || logs[0]["Function"] != "wallets-balance" || logs[1]["Function"] != "wallets-balance" || logs[2]["Function"] != "authorizer" || len(emf) != 2 {
		t.Fatalf("logs = %v, emf = %v", logs, emf)
	}
	if logs[0]["request_id"] == nil || logs[0]["request_id"] != logs[1]["request_id"] || logs[0]["method"] != "GET" {
		t.Errorf("slog default line lacks the request's attributes: %v", logs[0])
	}
}

func TestPrincipalString(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{{nil, ""}, {"7", "7"}, {float64(42), "42"}, {1.5, "1.5"}, {json.Number("9"), "9"}, {true, "true"}} {
		if got := principalString(c.in); got != c.want {
			t.Errorf("principalString(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}
