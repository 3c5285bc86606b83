package api

// The API Gateway adapters of observability: each invocation of a handler or
// of the authorizer becomes an obs span (one log line, metrics, error
// reports), and a panic or a fault becomes the contract's 500.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/apperr"
	"wallets/internal/obs"
)

// unauthorized is the error message that makes API Gateway answer 401.
const unauthorized = "Unauthorized"

// serverErrorBody is the contract's answer to a server fault:
// {"detail":"A server error occurred."}, encoded at the first fault rather
// than at every cold start.
var serverErrorBody = sync.OnceValue(func() string {
	b, _ := json.Marshal(struct {
		Detail string `json:"detail"`
	}{apperr.ErrFault.Detail})
	return string(b)
})

func serverError() events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{
		StatusCode: http.StatusInternalServerError,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       serverErrorBody(),
	}
}

// Observe returns h with, for each invocation: a request id and a
// request-scoped logger in ctx (see obs.Begin); panics and handler errors
// turned into 500 {"detail":"A server error occurred."}, as is a response
// without a status code; every 5xx reported (flushed before returning); one
// "request" log line, which is also its EMF document (Requests, Latency, 4xx
// or 5xx by Function, plus what obs.Count and obs.Metric recorded; see
// obs.(*Span).Finish). function names the Lambda function (empty: the
// Obs's); route is the API Gateway resource path (empty: req.Resource), for
// the error reports. A nil o means obs.Default(), looked up at each
// call (so Observe may run before obs.Init). The returned error is always
// nil.
func Observe(o *obs.Obs, function, route string, h Handler) Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		method := req.HTTPMethod
		if method == "" {
			method = req.RequestContext.HTTPMethod
		}
		r := route
		if r == "" {
			r = req.Resource
		}
		ctx, span := o.Begin(ctx, obs.Invocation{
			Function:  function,
			Route:     r,
			Method:    method,
			Path:      req.Path,
			RequestID: req.RequestContext.RequestID,
			UserID:    principalString(req.RequestContext.Authorizer["user_id"]),
		})

		resp, err, panicked := callHandler(ctx, span, h, req)
		switch {
		case panicked:
			resp = serverError()
		case err != nil:
			resp = serverError()
		case resp.StatusCode == 0:
			err = errors.New("obs: handler returned no status code")
			resp = serverError()
		}
		span.Finish(ctx, resp.StatusCode, err, "request")
		return resp, nil
	}
}

// callHandler runs h, recovering a panic into span.
func callHandler(ctx context.Context, span *obs.Span, h Handler, req events.APIGatewayProxyRequest) (resp events.APIGatewayProxyResponse, err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			span.Recovered(r)
			panicked = true
		}
	}()
	resp, err = h(ctx, req)
	return resp, err, false
}

// ObserveAuthorizer returns h with panic recovery, error reports, and one
// "authorize" log line (with "effect": Allow, Deny or unauthorized) that is
// also its EMF document, with the same metrics as Observe's and Function
// "authorizer": an allow counts as 200, a deny as 403, "Unauthorized" as
// 401, a panic or any other error as 500. The line names the route by
// method and path; the route goes to the error reports. A panic is reported
// and answered with an error (API Gateway: AUTHORIZER_FAILURE, a 5xx; never
// a 401 that blames the token). An "Unauthorized" error is a normal answer,
// not a fault; any other error is reported and returned as is (API Gateway:
// 500). An allow's context["user_id"] becomes the invocation's user. A nil o
// means obs.Default(), looked up at each call.
func ObserveAuthorizer(o *obs.Obs, h AuthorizerHandler) AuthorizerHandler {
	// The authorizer is its own function, also where one process serves
	// everything (the local gateway).
	const function = "authorizer"
	return func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		method := req.HTTPMethod
		if method == "" {
			method = req.RequestContext.HTTPMethod
		}
		route := req.Resource
		if route == "" {
			route = req.RequestContext.ResourcePath
		}
		ctx, span := o.Begin(ctx, obs.Invocation{
			Function:  function,
			Route:     route,
			Method:    method,
			Path:      req.Path,
			RequestID: req.RequestContext.RequestID,
		})

		var (
			resp     events.APIGatewayCustomAuthorizerResponse
			err      error
			panicked bool
		)
		func() {
			defer func() {
				if r := recover(); r != nil {
					span.Recovered(r)
					panicked = true
				}
			}()
			resp, err = h(ctx, req)
		}()

		var status int
		var effect string
		switch {
		case panicked:
			// A bug is no bad token: fail the authorization (API Gateway's
			// AUTHORIZER_FAILURE, a 5xx) rather than deny it.
			resp, err = events.APIGatewayCustomAuthorizerResponse{}, errors.New("authorizer panicked")
			status = http.StatusInternalServerError
		case err != nil && err.Error() == unauthorized:
			status, effect = http.StatusUnauthorized, "unauthorized"
		case err != nil:
			status = http.StatusInternalServerError
		default:
			effect = policyEffect(resp)
			status = http.StatusOK
			if effect != "Allow" {
				status = http.StatusForbidden
			}
			if id := principalString(resp.Context["user_id"]); id != "" {
				obs.SetUser(ctx, id)
			}
		}
		var fault error
		if status >= 500 && !panicked {
			fault = err
		}
		var extra []slog.Attr
		if effect != "" {
			extra = append(extra, slog.String("effect", effect))
		}
		span.Finish(ctx, status, fault, "authorize", extra...)
		return resp, err
	}
}

// policyEffect returns "Allow" only if every statement allows.
func policyEffect(resp events.APIGatewayCustomAuthorizerResponse) string {
	if len(resp.PolicyDocument.Statement) == 0 {
		return "Deny"
	}
	for _, s := range resp.PolicyDocument.Statement {
		if s.Effect != "Allow" {
			return "Deny"
		}
	}
	return "Allow"
}

// principalString renders an authorizer context value (API Gateway passes
// strings, numbers and booleans) as a string.
func principalString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}
