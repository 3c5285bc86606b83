package gateway_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/gateway"
	"wallets/internal/route"
	"wallets/internal/syncbuf"
)

// TestAccessLog checks the one access-log line per request: what was asked,
// what was answered, and, for the gateway's own answers, their type and why,
// at error level for a 5xx.
func TestAccessLog(t *testing.T) {
	f := &fake{}
	f.respond = func(_ context.Context, rt route.Route, _ events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		if rt.Function == "users-me-get" {
			return events.APIGatewayProxyResponse{}, errors.New("boom")
		}
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: `{"ok":true}`}, nil
	}
	var out syncbuf.Buffer
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	srv := httptest.NewServer(gateway.New(testRoutes(), f.handler, f.authorize, gateway.Options{Logger: logger}))
	defer srv.Close()

	cases := []struct {
		name, method, path, auth string
		status                   int
		level, resource, typ     string
		withError                bool
	}{
		{"a handler's answer", "GET", "/health?x=1", "", 200, "INFO", route.Prefix + "/health", "", false},
		{"a path of a parameter route", "GET", "/wallets/customers/wallets/" + walletID, "allow", 200, "INFO", route.Prefix + "/wallets/customers/wallets/{uuid}", "", false},
		{"the authorizer's refusal", "GET", "/users/me", "deny", 401, "INFO", route.Prefix + "/users/me", "ACCESS_DENIED", false},
		{"the authorizer's Unauthorized", "GET", "/users/me", "unauthorized", 401, "INFO", route.Prefix + "/users/me", "UNAUTHORIZED", false},
		{"a failing authorizer", "GET", "/users/me", "error", 503, "ERROR", route.Prefix + "/users/me", "AUTHORIZER_FAILURE", true},
		{"a failing handler", "GET", "/users/me", "allow", 502, "ERROR", route.Prefix + "/users/me", "INTEGRATION_FAILURE", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(out.String())
			h := http.Header{}
			if c.auth != "" {
				h.Set("Authorization", c.auth)
			}
			r := do(t, c.method, srv.URL+route.Prefix+c.path, nil, h)
			if r.status != c.status {
				t.Fatalf("status %d, want %d (body %s)", r.status, c.status, r.body)
			}
			lines := jsonLines(t, out.String()[before:])
			if len(lines) != 1 {
				t.Fatalf("%d access-log lines, want one: %v", len(lines), lines)
			}
			l := lines[0]
			path, _, _ := strings.Cut(route.Prefix+c.path, "?")
			want := map[string]any{
				"level": c.level, "msg": "gateway", "method": c.method, "path": path,
				"resource": c.resource, "status": float64(c.status), "ip": "127.0.0.1",
				"response_length": float64(len(r.body)),
			}
			for k, v := range want {
				if l[k] != v {
					t.Errorf("%s = %#v, want %#v (line %v)", k, l[k], v, l)
				}
			}
			if id, _ := l["request_id"].(string); id == "" {
				t.Errorf("no request_id in %v", l)
			}
			if ms, ok := l["latency_ms"].(float64); !ok || ms < 0 {
				t.Errorf("latency_ms %v", l["latency_ms"])
			}
			if typ, _ := l["response_type"].(string); typ != c.typ {
				t.Errorf("response_type %q, want %q", typ, c.typ)
			}
			if _, has := l["error"]; has != c.withError {
				t.Errorf("error field present %v, want %v (line %v)", has, c.withError, l)
			}
		})
	}
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("access log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// Served without a listener (ServeHTTP called directly, as a test or an
// embedding would), the event's X-Forwarded-Port comes from the Host, else
// from the scheme, and the source IP is the RemoteAddr as it is.
func TestForwardedPortWithoutAListener(t *testing.T) {
	cases := []struct {
		name, host, remote, xfp string
		tls                     bool
		wantPort, wantIP        string
	}{
		{"port in the Host", "api.example.com:8443", "192.0.2.7:5555", "", false, "8443", "192.0.2.7"},
		{"plain HTTP", "api.example.com", "192.0.2.7:5555", "", false, "80", "192.0.2.7"},
		{"HTTPS", "api.example.com", "192.0.2.7:5555", "", true, "443", "192.0.2.7"},
		{"a RemoteAddr without a port", "api.example.com", "pipe", "", false, "80", "pipe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fake{}
			gw := gateway.New(testRoutes(), f.handler, f.authorize, gateway.Options{})
			req := httptest.NewRequest("GET", "http://"+c.host+route.Prefix+"/health", nil)
			req.Host, req.RemoteAddr = c.host, c.remote
			if c.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			gw.ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			ev := f.lastEvent(t)
			if got := ev.Headers["X-Forwarded-Port"]; got != c.wantPort {
				t.Errorf("X-Forwarded-Port %q, want %q", got, c.wantPort)
			}
			if got := ev.RequestContext.Identity.SourceIP; got != c.wantIP {
				t.Errorf("source IP %q, want %q", got, c.wantIP)
			}
		})
	}
}
