package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/api"
	"wallets/internal/gateway"
	"wallets/internal/route"
)

// fake records the events the gateway sends and answers as told.
type fake struct {
	mu        sync.Mutex
	events    []events.APIGatewayProxyRequest
	authCalls []events.APIGatewayCustomAuthorizerRequestTypeRequest
	// respond overrides the handlers' answer (default: 200 with the
	// function name).
	respond func(ctx context.Context, rt route.Route, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
}

func (f *fake) handler(rt route.Route) api.Handler {
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		f.mu.Lock()
		f.events = append(f.events, ev)
		respond := f.respond
		f.mu.Unlock()
		if respond != nil {
			return respond(ctx, rt, ev)
		}
		return api.JSONResponse(200, map[string]string{"function": rt.Function}, nil), nil
	}
}

func (f *fake) lastEvent(t *testing.T) events.APIGatewayProxyRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		t.Fatal("the handler was not called")
	}
	return f.events[len(f.events)-1]
}

func (f *fake) calls() (handler, authorizer int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events), len(f.authCalls)
}

// authorize decides by the Authorization header.
func (f *fake) authorize(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	f.mu.Lock()
	f.authCalls = append(f.authCalls, req)
	f.mu.Unlock()
	policy := func(effect, resource string, c map[string]any) events.APIGatewayCustomAuthorizerResponse {
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID: "7",
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
				Version: "2012-10-17",
				Statement: []events.IAMPolicyStatement{
					{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource}},
				},
			},
			Context: c,
		}
	}
	stageWide := strings.SplitN(req.MethodArn, "/", 3)[0] + "/local/*"
	h := req.Headers["Authorization"]
	switch {
	case h == "allow":
		return policy("Allow", stageWide, map[string]any{"user_id": "7", "user_type": 1, "admin": false, "ratio": 1.5}), nil
	case h == "deny":
		return policy("Deny", req.MethodArn, map[string]any{"detail": `Signature has "expired".`}), nil
	case h == "error":
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("database unreachable")
	case h == "unauthorized":
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	case h == "panic":
		panic("authorizer bug")
	case h == "nested":
		return policy("Allow", stageWide, map[string]any{"x": map[string]any{"y": 1}}), nil
	case h == "allow+deny":
		p := policy("Allow", "*", nil)
		p.PolicyDocument.Statement = append(p.PolicyDocument.Statement, events.IAMPolicyStatement{
			Action: []string{"execute-api:*"}, Effect: "Deny", Resource: []string{req.MethodArn},
		})
		return p, nil
	case strings.HasPrefix(h, "policy "):
		return policy("Allow", strings.TrimPrefix(h, "policy "), map[string]any{"detail": "not covered"}), nil
	}
	return policy("Deny", req.MethodArn, map[string]any{"detail": "Authentication credentials were not provided."}), nil
}

// testRoutes is the real route table plus a route with a 1-second timeout.
func testRoutes() []route.Route {
	return append(route.Routes(), route.Route{
		Function: "slow", Methods: []string{http.MethodGet}, Path: route.Prefix + "/slow",
		Access: route.Public, TimeoutSeconds: 1,
	})
}

func start(t *testing.T, f *fake) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(gateway.New(testRoutes(), f.handler, f.authorize, gateway.Options{}))
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body io.Reader, header http.Header) result {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

func wantJSON(t *testing.T, r result, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	var got, want any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	if err := json.Unmarshal([]byte(body), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body %s, want %s", r.body, body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

const walletID = "e58bc9dc-1b2c-4d5e-8f90-123456789abc"

func TestProxyEvent(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	path := route.Prefix + "/wallets/customers/wallets/" + walletID + "/transactions"
	r := do(t, "GET", srv.URL+path+"?page=2&status=1&status=2&q=a%20b", nil, http.Header{
		"Authorization": {"allow"},
		"X-Multi":       {"one", "two"},
		"User-Agent":    {"gateway-test/1.0"},
		"Cookie":        {"jwt=abc"},
	})
	wantJSON(t, r, 200, `{"function": "wallets-transactions"}`)
	ev := f.lastEvent(t)

	if ev.Resource != route.Prefix+"/wallets/customers/wallets/{uuid}/transactions" || ev.Path != path || ev.HTTPMethod != "GET" {
		t.Errorf("resource %q path %q method %q", ev.Resource, ev.Path, ev.HTTPMethod)
	}
	if got := ev.Headers["X-Multi"]; got != "two" {
		t.Errorf("Headers[X-Multi] = %q, want the last value", got)
	}
	if got := ev.MultiValueHeaders["X-Multi"]; !reflect.DeepEqual(got, []string{"one", "two"}) {
		t.Errorf("MultiValueHeaders[X-Multi] = %q", got)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := net.SplitHostPort(host)
	for k, want := range map[string]string{
		"Host": host, "X-Forwarded-Proto": "http", "X-Forwarded-For": "127.0.0.1",
		"X-Forwarded-Port": port, "User-Agent": "gateway-test/1.0", "Cookie": "jwt=abc",
	} {
		if got := ev.Headers[k]; got != want {
			t.Errorf("Headers[%s] = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(ev.Headers["X-Amzn-Trace-Id"], "Root=1-") {
		t.Errorf("X-Amzn-Trace-Id = %q", ev.Headers["X-Amzn-Trace-Id"])
	}
	wantQS := map[string]string{"page": "2", "status": "2", "q": "a b"}
	if !reflect.DeepEqual(ev.QueryStringParameters, wantQS) {
		t.Errorf("QueryStringParameters = %v", ev.QueryStringParameters)
	}
	wantMQS := map[string][]string{"page": {"2"}, "status": {"1", "2"}, "q": {"a b"}}
	if !reflect.DeepEqual(ev.MultiValueQueryStringParameters, wantMQS) {
		t.Errorf("MultiValueQueryStringParameters = %v", ev.MultiValueQueryStringParameters)
	}
	if !reflect.DeepEqual(ev.PathParameters, map[string]string{"uuid": walletID}) {
		t.Errorf("PathParameters = %v", ev.PathParameters)
	}
	if ev.Body != "" || ev.IsBase64Encoded {
		t.Errorf("body %q base64 %v", ev.Body, ev.IsBase64Encoded)
	}

	rc := ev.RequestContext
	if rc.AccountID != gateway.AccountID || rc.APIID != "local" || rc.Stage != "local" ||
		rc.ResourcePath != ev.Resource || rc.HTTPMethod != "GET" || rc.Path != path ||
		rc.DomainName != host || rc.Protocol != "HTTP/1.1" || rc.ResourceID == "" {
		t.Errorf("request context %+v", rc)
	}
	if rc.RequestID == "" || rc.RequestID != r.header.Get("X-Amzn-Requestid") {
		t.Errorf("request id %q, response header %q", rc.RequestID, r.header.Get("X-Amzn-Requestid"))
	}
	if rc.ExtendedRequestID == "" || rc.ExtendedRequestID != r.header.Get("X-Amz-Apigw-Id") {
		t.Errorf("extended request id %q", rc.ExtendedRequestID)
	}
	if d := time.Since(time.UnixMilli(rc.RequestTimeEpoch)); d < 0 || d > time.Minute {
		t.Errorf("requestTimeEpoch %d", rc.RequestTimeEpoch)
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.RequestTime); err != nil {
		t.Errorf("requestTime %q: %v", rc.RequestTime, err)
	}
	if rc.Identity.SourceIP != "127.0.0.1" || rc.Identity.UserAgent != "gateway-test/1.0" {
		t.Errorf("identity %+v", rc.Identity)
	}
	// The authorizer's context, stringified as API Gateway does.
	for k, want := range map[string]string{"principalId": "7", "user_id": "7", "user_type": "1", "admin": "false", "ratio": "1.5"} {
		if got := rc.Authorizer[k]; got != want {
			t.Errorf("authorizer[%s] = %#v, want %q", k, got, want)
		}
	}
	if _, ok := rc.Authorizer["integrationLatency"].(float64); !ok {
		t.Errorf("authorizer[integrationLatency] = %#v", rc.Authorizer["integrationLatency"])
	}

	// The authorizer's event.
	f.mu.Lock()
	areq := f.authCalls[len(f.authCalls)-1]
	f.mu.Unlock()
	wantArn := "arn:aws:execute-api:local:000000000000:local/local/GET" + path
	if areq.Type != "REQUEST" || areq.MethodArn != wantArn || areq.Resource != ev.Resource ||
		areq.Path != path || areq.HTTPMethod != "GET" || areq.Headers["Authorization"] != "allow" ||
		!reflect.DeepEqual(areq.MultiValueQueryStringParameters, wantMQS) ||
		!reflect.DeepEqual(areq.PathParameters, ev.PathParameters) ||
		areq.RequestContext.RequestID != rc.RequestID || areq.RequestContext.Identity.SourceIP != "127.0.0.1" ||
		areq.RequestContext.ResourcePath != ev.Resource || areq.RequestContext.Stage != "local" {
		t.Errorf("authorizer event %+v", areq)
	}
}

func TestPublicRouteHasNilMaps(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	r := do(t, "GET", srv.URL+route.Prefix+"/health", nil, nil)
	wantJSON(t, r, 200, `{"function": "health"}`)
	ev := f.lastEvent(t)
	if ev.QueryStringParameters != nil || ev.MultiValueQueryStringParameters != nil || ev.PathParameters != nil ||
		ev.RequestContext.Authorizer != nil || ev.StageVariables != nil {
		t.Errorf("want nil maps: %+v", ev)
	}
	if _, n := f.calls(); n != 0 {
		t.Errorf("the authorizer ran %d times on a public route", n)
	}
}

func TestBody(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	url := srv.URL + route.Prefix + "/users/sign-up"
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		base64            bool
	}{
		{"json", "application/json", []byte(`{"username": "ñandú"}`), false},
		{"form", "application/x-www-form-urlencoded", []byte(`username=x&password=y`), false},
		{"not utf-8", "application/json", []byte{'{', 0xff, 0xfe, '}'}, true},
		{"binary type", "application/octet-stream", []byte("plain ascii"), true},
		{"image", "image/png; charset=binary", []byte("abc"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			do(t, "POST", url, bytes.NewReader(tc.body), http.Header{"Content-Type": {tc.contentType}})
			ev := f.lastEvent(t)
			if ev.IsBase64Encoded != tc.base64 {
				t.Fatalf("isBase64Encoded = %v", ev.IsBase64Encoded)
			}
			got := []byte(ev.Body)
			if tc.base64 {
				var err error
				if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, tc.body) {
				t.Errorf("body %q, want %q", got, tc.body)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	url := srv.URL + route.Prefix + "/users/sign-up"
	r := do(t, "POST", url, strings.NewReader(strings.Repeat("a", gateway.MaxBodyBytes+1)), nil)
	wantJSON(t, r, 413, `{"detail": "Request body is larger than 64 KiB."}`)
	// Exactly the limit is passed on; the handler enforces its own.
	r = do(t, "POST", url, strings.NewReader(strings.Repeat("a", gateway.MaxBodyBytes)), nil)
	if r.status != 200 {
		t.Errorf("10 MiB body: status %d", r.status)
	}
	if n, _ := f.calls(); n != 1 {
		t.Errorf("handler calls %d, want 1", n)
	}
}

func TestUnknownRoute(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	for _, p := range []string{"/", "/api/v1", "/api/v1/nope", "/api/v1/users/me/extra", "/api/v2/health"} {
		r := do(t, "GET", srv.URL+p, nil, http.Header{"Authorization": {"allow"}})
		wantJSON(t, r, 404, `{"detail": "Not found."}`)
	}
	if h, a := f.calls(); h != 0 || a != 0 {
		t.Errorf("handler calls %d, authorizer calls %d", h, a)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/users/me", "GET, PUT, PATCH"},
		{"POST", "/health", "GET"},
		{"HEAD", "/health", "GET"},
		{"OPTIONS", "/wallets/customers/wallets", "GET, POST"},
		{"GET", "/wallets/customers/wallets/" + walletID + "/deposit", "PUT, PATCH"},
		{"DELETE", "/wallets/business/transactions/" + walletID + "/debit/", "PUT, PATCH"},
	} {
		r := do(t, tc.method, srv.URL+route.Prefix+tc.path, nil, http.Header{"Authorization": {"allow"}})
		if r.status != 405 {
			t.Errorf("%s %s: status %d", tc.method, tc.path, r.status)
		}
		if tc.method != "HEAD" {
			wantJSON(t, r, 405, `{"detail": "Method \"`+tc.method+`\" not allowed."}`)
		}
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	if h, a := f.calls(); h != 0 || a != 0 {
		t.Errorf("handler calls %d, authorizer calls %d", h, a)
	}
}

func TestRouting(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	for _, tc := range []struct {
		method, path, function string
		params                 map[string]string
	}{
		{"GET", "/health/", "health", nil},
		{"POST", "/users/login/", "users-login", nil},
		{"PATCH", "/users/me", "users-me-update", nil},
		{"GET", "/users/me/", "users-me-get", nil},
		// A literal segment wins over a {param} at the same depth.
		{"PUT", "/wallets/business/transactions/" + walletID + "/debit", "business-debit", map[string]string{"uuid": walletID}},
		{"GET", "/wallets/business/42/customers/transactions", "charges-list", map[string]string{"business_id": "42"}},
		{"POST", "/wallets/business/42/customers/transactions/", "charges-create", map[string]string{"business_id": "42"}},
		{"GET", "/wallets/business/transactions", "business-transactions", nil},
		{"GET", "/wallets/business/wallet", "business-wallet-get", nil},
		{"POST", "/wallets/business/wallet", "business-wallet-create", nil},
		{"GET", "/wallets/business", "business-list", nil},
		{"GET", "/wallets/customers/wallets/" + walletID, "wallets-get", map[string]string{"uuid": walletID}},
	} {
		r := do(t, tc.method, srv.URL+route.Prefix+tc.path, nil, http.Header{"Authorization": {"allow"}})
		wantJSON(t, r, 200, `{"function": "`+tc.function+`"}`)
		ev := f.lastEvent(t)
		if !reflect.DeepEqual(ev.PathParameters, tc.params) {
			t.Errorf("%s %s: path parameters %v, want %v", tc.method, tc.path, ev.PathParameters, tc.params)
		}
		if ev.Path != route.Prefix+tc.path {
			t.Errorf("path %q", ev.Path)
		}
	}
}

func TestAuthorizerRefusals(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	url := srv.URL + route.Prefix + "/users/me"
	wwwAuth := route.WWWAuthenticate

	r := do(t, "GET", url, nil, http.Header{"Authorization": {"deny"}})
	wantJSON(t, r, 401, `{"detail": "Signature has \"expired\"."}`)
	if got := r.header.Get("WWW-Authenticate"); got != wwwAuth {
		t.Errorf("WWW-Authenticate %q", got)
	}

	r = do(t, "GET", url, nil, nil)
	wantJSON(t, r, 401, `{"detail": "Authentication credentials were not provided."}`)
	if got := r.header.Get("WWW-Authenticate"); got != wwwAuth {
		t.Errorf("WWW-Authenticate %q", got)
	}

	r = do(t, "GET", url, nil, http.Header{"Authorization": {"unauthorized"}})
	wantJSON(t, r, 401, `{"detail": "Authentication credentials were not provided."}`)

	for _, h := range []string{"error", "panic"} {
		r = do(t, "GET", url, nil, http.Header{"Authorization": {h}})
		wantJSON(t, r, 503, `{"detail": "Service temporarily unavailable, try again later."}`)
	}
	r = do(t, "GET", url, nil, http.Header{"Authorization": {"nested"}})
	if r.status != 503 {
		t.Errorf("object in the authorizer's context: status %d", r.status)
	}
	if n, _ := f.calls(); n != 0 {
		t.Errorf("the handler ran %d times", n)
	}
}

func TestPolicyEvaluation(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	const base = "arn:aws:execute-api:local:000000000000:local/local/"
	for _, tc := range []struct {
		auth, method, path string
		status             int
	}{
		{"policy " + base + "GET/api/v1/users/me", "GET", "/users/me", 200},
		{"policy " + base + "GET/api/v1/users/*", "GET", "/users/me", 200},
		{"policy " + base + "*/api/v1/users/me", "PUT", "/users/me", 200},
		{"policy " + base + "GET/api/v1/users/*", "PUT", "/users/me", 401},
		{"policy " + base + "GET/api/v1/users/m?", "GET", "/users/me", 200},
		{"policy arn:aws:execute-api:local:000000000000:local/prod/*", "GET", "/users/me", 401},
		{"policy *", "GET", "/users/me", 200},
		{"allow+deny", "GET", "/users/me", 401},
		// Optional routes run the authorizer too.
		{"deny", "POST", "/users/logout", 401},
		{"allow", "POST", "/users/logout", 200},
	} {
		r := do(t, tc.method, srv.URL+route.Prefix+tc.path, nil, http.Header{"Authorization": {tc.auth}})
		if r.status != tc.status {
			t.Errorf("%s %s with %q: status %d, want %d (%s)", tc.method, tc.path, tc.auth, r.status, tc.status, r.body)
		}
	}
}

func TestHandlerFailures(t *testing.T) {
	f := &fake{}
	srv := start(t, f)
	url := srv.URL + route.Prefix + "/health"
	for name, respond := range map[string]func() (events.APIGatewayProxyResponse, error){
		"error": func() (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{}, errors.New("boom")
		},
		"panic":     func() (events.APIGatewayProxyResponse, error) { panic("boom") },
		"no status": func() (events.APIGatewayProxyResponse, error) { return events.APIGatewayProxyResponse{Body: "{}"}, nil },
		"bad base64": func() (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: "!!", IsBase64Encoded: true}, nil
		},
		"status 1000": func() (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 1000}, nil
		},
		"status 100": func() (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 100}, nil
		},
		"status 0 err": func() (events.APIGatewayProxyResponse, error) { return events.APIGatewayProxyResponse{}, nil },
	} {
		t.Run(name, func(t *testing.T) {
			f.mu.Lock()
			f.respond = func(context.Context, route.Route, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
				return respond()
			}
			f.mu.Unlock()
			r := do(t, "GET", url, nil, nil)
			wantJSON(t, r, 502, `{"detail": "A server error occurred."}`)
		})
	}
}

func TestTimeout(t *testing.T) {
	f := &fake{}
	release := make(chan struct{})
	defer close(release)
	deadlines := make(chan time.Time, 1)
	f.respond = func(ctx context.Context, rt route.Route, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		d, _ := ctx.Deadline()
		deadlines <- d
		<-release // ignores ctx, like a stuck handler
		return api.JSONResponse(200, nil, nil), nil
	}
	srv := start(t, f)
	begin := time.Now()
	r := do(t, "GET", srv.URL+route.Prefix+"/slow", nil, nil)
	took := time.Since(begin)
	wantJSON(t, r, 504, `{"detail": "The server took too long to answer."}`)
	if took < time.Second || took > 2*time.Second {
		t.Errorf("answered after %s, want just after the 1s timeout", took)
	}
	if d := (<-deadlines).Sub(begin); d < 900*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("handler deadline %s after the request, want 1s", d)
	}
}

func TestTimeoutHonoured(t *testing.T) {
	// A handler that stops at its deadline still times out: Lambda would
	// have ended it.
	f := &fake{}
	f.respond = func(ctx context.Context, rt route.Route, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		<-ctx.Done()
		return api.JSONResponse(500, api.Detail{Detail: "canceled"}, nil), nil
	}
	srv := start(t, f)
	r := do(t, "GET", srv.URL+route.Prefix+"/slow", nil, nil)
	wantJSON(t, r, 504, `{"detail": "The server took too long to answer."}`)
}

func TestResponse(t *testing.T) {
	f := &fake{}
	f.respond = func(ctx context.Context, rt route.Route, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the handler's context has no deadline")
		}
		return events.APIGatewayProxyResponse{
			StatusCode: 201,
			Headers:    map[string]string{"Content-Type": "text/plain", "X-One": "1", "Set-Cookie": "ignored=1", "Content-Length": "999"},
			MultiValueHeaders: map[string][]string{
				"Set-Cookie": {"jwt=abc; Path=/; HttpOnly", "other=2; Path=/"},
			},
			Body:            base64.StdEncoding.EncodeToString([]byte("hello\x00")),
			IsBase64Encoded: true,
		}, nil
	}
	srv := start(t, f)
	r := do(t, "POST", srv.URL+route.Prefix+"/users/login", strings.NewReader(`{}`), nil)
	if r.status != 201 || string(r.body) != "hello\x00" {
		t.Errorf("status %d body %q", r.status, r.body)
	}
	if got := r.header.Values("Set-Cookie"); !reflect.DeepEqual(got, []string{"jwt=abc; Path=/; HttpOnly", "other=2; Path=/"}) {
		t.Errorf("Set-Cookie %q", got)
	}
	if r.header.Get("X-One") != "1" || r.header.Get("Content-Type") != "text/plain" {
		t.Errorf("headers %v", r.header)
	}
	if r.header.Get("X-Amzn-Requestid") == "" {
		t.Error("no X-Amzn-Requestid")
	}
}

func TestNoContent(t *testing.T) {
	f := &fake{}
	f.respond = func(context.Context, route.Route, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 204, MultiValueHeaders: map[string][]string{"Set-Cookie": {"jwt=; Max-Age=0"}}}, nil
	}
	srv := start(t, f)
	r := do(t, "POST", srv.URL+route.Prefix+"/users/logout", nil, http.Header{"Authorization": {"allow"}})
	if r.status != 204 || len(r.body) != 0 || r.header.Get("Set-Cookie") != "jwt=; Max-Age=0" {
		t.Errorf("status %d body %q headers %v", r.status, r.body, r.header)
	}
}

func TestStage(t *testing.T) {
	f := &fake{}
	srv := httptest.NewServer(gateway.New(testRoutes(), f.handler, f.authorize, gateway.Options{Stage: "dev"}))
	defer srv.Close()
	// The fake allows .../local/* only: another stage is denied.
	r := do(t, "GET", srv.URL+route.Prefix+"/users/me", nil, http.Header{"Authorization": {"allow"}})
	if r.status != 401 {
		t.Errorf("status %d", r.status)
	}
	f.mu.Lock()
	arn := f.authCalls[0].MethodArn
	f.mu.Unlock()
	if arn != gateway.MethodArn("dev", "GET", "/api/v1/users/me") || !strings.Contains(arn, "local/dev/GET/api/v1/users/me") {
		t.Errorf("method ARN %q", arn)
	}
	r = do(t, "GET", srv.URL+route.Prefix+"/health", nil, nil)
	if ev := f.lastEvent(t); r.status != 200 || ev.RequestContext.Stage != "dev" {
		t.Errorf("status %d stage %q", r.status, ev.RequestContext.Stage)
	}
}

// The event's sourceIp is the TCP peer's address without its port, as API
// Gateway's is: the headers a client writes (X-Forwarded-For, Forwarded,
// X-Real-Ip) never change it, since the login throttle counts by it. A
// forwarded-for chain the client sent is kept, with the peer appended, as
// API Gateway does.
func TestSourceIP(t *testing.T) {
	spoof := http.Header{
		"X-Forwarded-For": {"192.0.2.1, 192.0.2.2"},
		"Forwarded":       {"for=192.0.2.3"},
		"X-Real-Ip":       {"192.0.2.4"},
	}
	client := func(local net.IP) *http.Client {
		d := &net.Dialer{Timeout: 5 * time.Second}
		if local != nil {
			d.LocalAddr = &net.TCPAddr{IP: local}
		}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
	}
	call := func(t *testing.T, c *http.Client, url string) events.APIGatewayProxyRequest {
		t.Helper()
		f := &fake{}
		srv := httptest.NewUnstartedServer(gateway.New(testRoutes(), f.handler, f.authorize, gateway.Options{}))
		if url != "" {
			l, err := net.Listen("tcp", url)
			if err != nil {
				t.Skipf("cannot listen on %s: %v", url, err)
			}
			srv.Listener.Close()
			srv.Listener = l
		}
		srv.Start()
		t.Cleanup(srv.Close)
		req, _ := http.NewRequest("GET", srv.URL+route.Prefix+"/health", nil)
		for k, vs := range spoof {
			req.Header[k] = vs
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Skipf("cannot connect: %v", err)
		}
		resp.Body.Close()
		return f.lastEvent(t)
	}
	for _, tt := range []struct {
		name   string
		listen string // "" is httptest's 127.0.0.1
		local  net.IP
		want   string
	}{
		{"loopback", "", nil, "127.0.0.1"},
		{"another IPv4 address", "", net.ParseIP("127.0.0.2"), "127.0.0.2"},
		{"IPv6", "[::1]:0", nil, "::1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := call(t, client(tt.local), tt.listen)
			if got := ev.RequestContext.Identity.SourceIP; got != tt.want {
				t.Errorf("sourceIp %q, want %q (the socket's peer, no port)", got, tt.want)
			}
			if got := ev.Headers["X-Forwarded-For"]; got != "192.0.2.1, 192.0.2.2, "+tt.want {
				t.Errorf("X-Forwarded-For %q, want the client's chain and the peer", got)
			}
		})
	}
}
