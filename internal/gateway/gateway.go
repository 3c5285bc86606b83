// Package gateway is a local API Gateway: an http.Handler that does for a
// developer's machine and for tests what the deployed REST API does in AWS.
// It resolves the route, runs the REQUEST authorizer on protected routes,
// turns the HTTP request into the events.APIGatewayProxyRequest of a Lambda
// proxy integration, calls the route's handler with the function's timeout,
// and writes the proxy response back. Where API Gateway answers by itself
// (unknown route, refusal, authorizer failure, timeout) it answers with the
// gateway responses the CDK app configures (route.GatewayResponses).
//
// Every event goes through JSON on its way in and out, as it does between
// API Gateway and Lambda, so handlers see exactly the types they would see
// in AWS (strings for authorizer context values, nil maps for absent fields).
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	fastjson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"wallets/internal/api"
	"wallets/internal/route"
)

// Identifiers of the local API, where AWS would put the real ones.
const (
	AccountID = "000000000000"
	APIID     = "local"
	Region    = "local"
	// DefaultStage is the stage name when Options.Stage is empty.
	DefaultStage = "local"
)

// MaxBodyBytes is API Gateway's payload limit (10 MiB). Larger bodies get
// the REQUEST_TOO_LARGE gateway response; the handlers enforce the
// contract's own, smaller limit (api.MaxBody).
const MaxBodyBytes = 10 << 20

// Defaults of Options.
const (
	DefaultAuthorizerTimeout = 10 * time.Second
	// timeoutGrace is how long past a function's timeout the gateway waits
	// for its goroutine to return before answering INTEGRATION_TIMEOUT
	// anyway. A result produced after the deadline is never used: Lambda
	// would have stopped the function.
	timeoutGrace = 200 * time.Millisecond
)

// BinaryMediaTypes are the content types whose request bodies are passed to
// handlers base64-encoded (isBase64Encoded=true): route.BinaryMediaTypes,
// which the CDK app declares as the REST API's binaryMediaTypes. A body that
// is not valid UTF-8 is base64-encoded whatever its type (API Gateway would
// pass it as text with its invalid bytes replaced: either way the handler
// answers 400).
var BinaryMediaTypes = route.BinaryMediaTypes()

// Options tune the gateway. The zero value is ready to use.
type Options struct {
	// Stage is the stage name in events and method ARNs; empty means
	// DefaultStage.
	Stage string
	// Logger, when set, receives one access-log line per request (like API
	// Gateway's access logs), including requests answered by the gateway
	// itself.
	Logger *slog.Logger
	// BinaryMediaTypes overrides the package's BinaryMediaTypes; entries may
	// end in "/*".
	BinaryMediaTypes []string
	// AuthorizerTimeout bounds each authorizer call; 0 means
	// DefaultAuthorizerTimeout.
	AuthorizerTimeout time.Duration
}

type gateway struct {
	routes     []route.Route
	handlers   map[string]api.Handler
	authorizer api.AuthorizerHandler
	opts       Options
}

// New returns a gateway over routes: handler(route) is the Lambda handler of
// each route (called once per route, here), authorizer the REQUEST
// authorizer of the routes whose Access is Authorized. authorizer may be nil
// only if no route needs it.
func New(routes []route.Route, handler func(route.Route) api.Handler, authorizer api.AuthorizerHandler, opts Options) http.Handler {
	if opts.Stage == "" {
		opts.Stage = DefaultStage
	}
	if opts.BinaryMediaTypes == nil {
		opts.BinaryMediaTypes = BinaryMediaTypes
	}
	if opts.AuthorizerTimeout <= 0 {
		opts.AuthorizerTimeout = DefaultAuthorizerTimeout
	}
	g := &gateway{
		routes:     append([]route.Route(nil), routes...),
		handlers:   make(map[string]api.Handler, len(routes)),
		authorizer: authorizer,
		opts:       opts,
	}
	for _, r := range g.routes {
		g.handlers[routeKey(r)] = handler(r)
	}
	return g
}

func routeKey(r route.Route) string {
	return r.Path + " " + strings.Join(r.Methods, ",")
}

// reply is what the gateway sends back.
type reply struct {
	status int
	header http.Header
	body   []byte
	// gatewayType names the gateway response when the gateway answered
	// itself ("" when the handler's response is sent).
	gatewayType string
	// note explains a gateway-made 5xx in the access log.
	note string
}

// call is one request's identity as API Gateway assigns it.
type call struct {
	requestID  string
	extendedID string
	traceID    string
	start      time.Time
	route      route.Route
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{
		requestID:  uuid.NewString(),
		extendedID: extendedRequestID(),
		traceID:    traceID(r),
		start:      time.Now(),
	}
	rep := g.serve(r, c)

	h := w.Header()
	for k, vs := range rep.header {
		h[k] = vs
	}
	// API Gateway's own response headers.
	h.Set("X-Amzn-Requestid", c.requestID)
	h.Set("X-Amz-Apigw-Id", c.extendedID)
	h.Set("X-Amzn-Trace-Id", c.traceID)
	if len(rep.body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)

	g.accessLog(r, c, rep)
}

// serve answers one request.
func (g *gateway) serve(r *http.Request, c *call) reply {
	rt, params, allowed, ok := route.Match(g.routes, r.Method, r.URL.Path)
	if !ok {
		if len(allowed) == 0 {
			return gatewayReply(route.GatewayResponseOf("MISSING_AUTHENTICATION_TOKEN"), nil, c, "")
		}
		refusal := route.MethodNotAllowedFor(r.Method)
		status, _ := route.StatusOf(refusal.Code)
		return fromEvent(api.JSONResponse(status, api.Detail{Detail: refusal.Detail},
			map[string]string{"Allow": strings.Join(unique(allowed), ", ")}), "METHOD_NOT_ALLOWED")
	}
	c.route = rt

	body, err := readBody(r)
	switch {
	case errors.Is(err, errTooLarge):
		return gatewayReply(route.GatewayResponseOf("REQUEST_TOO_LARGE"), nil, c, "")
	case err != nil:
		return fromEvent(api.JSONResponse(http.StatusBadRequest,
			api.Detail{Detail: "Could not read the request body."}, nil), "BAD_REQUEST_BODY")
	}

	ev := g.proxyEvent(r, c, params, body)
	if rt.Access.Authorized() {
		authCtx, refusal := g.authorize(r.Context(), c, ev)
		if refusal != nil {
			return *refusal
		}
		ev.RequestContext.Authorizer = authCtx
	}
	return g.invoke(r.Context(), c, ev)
}

// invoke calls the route's handler as Lambda would: with the function's
// timeout as the context's deadline, the event and response through JSON.
func (g *gateway) invoke(parent context.Context, c *call, ev events.APIGatewayProxyRequest) reply {
	// The body is valid UTF-8 or base64 (see proxyEvent), so JSON would
	// leave it as it is: spare it the trip.
	body := ev.Body
	ev.Body = ""
	in, err := roundTrip(ev)
	in.Body = body
	if err != nil {
		return gatewayReply(route.GatewayResponseOf("INTEGRATION_FAILURE"), nil, c, "encode event: "+err.Error())
	}
	h := g.handlers[routeKey(c.route)]
	timeout := time.Duration(c.route.Timeout()) * time.Second

	// A client hanging up does not stop a Lambda invocation: only the
	// timeout does.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), timeout)
	deadline, _ := ctx.Deadline()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       uuid.NewString(),
		InvokedFunctionArn: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Region, AccountID, c.route.Function),
	})

	type result struct {
		resp events.APIGatewayProxyResponse
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	go func() {
		defer cancel()
		var res result
		defer func() {
			if p := recover(); p != nil {
				res = result{err: fmt.Errorf("handler panic: %v", p)}
			}
			res.at = time.Now()
			done <- res
		}()
		res.resp, res.err = h(ctx, in)
	}()

	timer := time.NewTimer(time.Until(deadline) + timeoutGrace)
	defer timer.Stop()
	var res result
	select {
	case res = <-done:
	case <-timer.C:
		return gatewayReply(route.GatewayResponseOf("INTEGRATION_TIMEOUT"), nil, c,
			fmt.Sprintf("%s did not return within its %s timeout", c.route.Function, timeout))
	}
	if res.at.After(deadline) {
		return gatewayReply(route.GatewayResponseOf("INTEGRATION_TIMEOUT"), nil, c,
			fmt.Sprintf("%s returned after its %s timeout", c.route.Function, timeout))
	}
	if res.err != nil {
		// Lambda reports an unhandled error; API Gateway answers 502.
		return gatewayReply(route.GatewayResponseOf("INTEGRATION_FAILURE"), nil, c, "handler error: "+res.err.Error())
	}
	out, err := roundTrip(res.resp)
	if err != nil {
		return gatewayReply(route.GatewayResponseOf("INTEGRATION_FAILURE"), nil, c, "encode response: "+err.Error())
	}
	rep, err := proxyReply(out)
	if err != nil {
		return gatewayReply(route.GatewayResponseOf("INTEGRATION_FAILURE"), nil, c, "malformed Lambda proxy response: "+err.Error())
	}
	return rep
}

// roundTrip passes v through JSON, as every event does between API Gateway
// and Lambda (whose Go runtime decodes numbers in maps of any as float64).
// It encodes with encoding/json and decodes with github.com/goccy/go-json,
// which decodes as encoding/json does (roundtrip_test.go checks it) in a
// third of the time: under load (make bench) the round trips were a fifth
// of the whole process's CPU, for work API Gateway and the Lambda runtime
// do on their own machines.
func roundTrip[T any](v T) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	err = fastjson.Unmarshal(b, &out)
	return out, err
}

func unique(xs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func (g *gateway) accessLog(r *http.Request, c *call, rep reply) {
	if g.opts.Logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", c.requestID),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("resource", c.route.Path),
		slog.Int("status", rep.status),
		slog.Int("response_length", len(rep.body)),
		slog.Float64("latency_ms", float64(time.Since(c.start).Microseconds())/1000),
		slog.String("ip", sourceIP(r)),
	}
	if rep.gatewayType != "" {
		attrs = append(attrs, slog.String("response_type", rep.gatewayType))
	}
	if rep.note != "" {
		attrs = append(attrs, slog.String("error", rep.note))
	}
	level := slog.LevelInfo
	if rep.status >= 500 {
		level = slog.LevelError
	}
	g.opts.Logger.LogAttrs(context.Background(), level, "gateway", attrs...)
}
