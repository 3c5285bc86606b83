package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"

	"wallets/internal/route"
)

// MethodArn returns the ARN API Gateway passes a REQUEST authorizer for a
// call of method on path.
func MethodArn(stage, method, path string) string {
	return fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s/%s",
		Region, AccountID, APIID, stage, method, strings.TrimPrefix(path, "/"))
}

// authorize runs the REQUEST authorizer for ev (its cache TTL is 0 here:
// it runs on every request). On Allow it returns requestContext.authorizer
// for the handler; otherwise the gateway's answer.
func (g *gateway) authorize(parent context.Context, c *call, ev events.APIGatewayProxyRequest) (map[string]any, *reply) {
	fail := func(typ, note string) (map[string]any, *reply) {
		rep := gatewayReply(route.GatewayResponseOf(typ), nil, c, note)
		return nil, &rep
	}
	if g.authorizer == nil {
		return fail("AUTHORIZER_CONFIGURATION_ERROR", "no authorizer configured")
	}
	arn := MethodArn(g.opts.Stage, ev.HTTPMethod, ev.Path)
	req, err := roundTrip(events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:                            "REQUEST",
		MethodArn:                       arn,
		Resource:                        ev.Resource,
		Path:                            ev.Path,
		HTTPMethod:                      ev.HTTPMethod,
		Headers:                         ev.Headers,
		MultiValueHeaders:               ev.MultiValueHeaders,
		QueryStringParameters:           ev.QueryStringParameters,
		MultiValueQueryStringParameters: ev.MultiValueQueryStringParameters,
		PathParameters:                  ev.PathParameters,
		StageVariables:                  ev.StageVariables,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			Path:         ev.RequestContext.Path,
			AccountID:    ev.RequestContext.AccountID,
			ResourceID:   ev.RequestContext.ResourceID,
			Stage:        ev.RequestContext.Stage,
			RequestID:    ev.RequestContext.RequestID,
			ResourcePath: ev.RequestContext.ResourcePath,
			HTTPMethod:   ev.RequestContext.HTTPMethod,
			APIID:        ev.RequestContext.APIID,
			Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{
				SourceIP: ev.RequestContext.Identity.SourceIP,
			},
		},
	})
	if err != nil {
		return fail("AUTHORIZER_FAILURE", "encode authorizer event: "+err.Error())
	}

	start := time.Now()
	resp, err := g.callAuthorizer(parent, req)
	latency := time.Since(start)
	switch {
	case err != nil && err.Error() == "Unauthorized":
		// The one error message API Gateway turns into a 401.
		return fail("UNAUTHORIZED", "")
	case err != nil:
		return fail("AUTHORIZER_FAILURE", "authorizer: "+err.Error())
	}

	authCtx, err := contextStrings(resp.Context)
	if err != nil {
		return fail("AUTHORIZER_CONFIGURATION_ERROR", "authorizer context: "+err.Error())
	}
	if !allows(resp.PolicyDocument, arn) {
		rep := gatewayReply(route.GatewayResponseOf("ACCESS_DENIED"), authCtx, c, "")
		return nil, &rep
	}
	out := make(map[string]any, len(authCtx)+2)
	for k, v := range authCtx {
		out[k] = v
	}
	out["principalId"] = resp.PrincipalID
	out["integrationLatency"] = latency.Milliseconds()
	return out, nil
}

// callAuthorizer invokes the authorizer like a Lambda function: with a
// deadline, its response through JSON (numbers kept as written).
func (g *gateway) callAuthorizer(parent context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), g.opts.AuthorizerTimeout)
	deadline, _ := ctx.Deadline()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       uuid.NewString(),
		InvokedFunctionArn: fmt.Sprintf("arn:aws:lambda:%s:%s:function:authorizer", Region, AccountID),
	})
	type result struct {
		resp events.APIGatewayCustomAuthorizerResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer cancel()
		var res result
		defer func() {
			if p := recover(); p != nil {
				res = result{err: fmt.Errorf("authorizer panic: %v", p)}
			}
			done <- res
		}()
		res.resp, res.err = g.authorizer(ctx, req)
	}()
	timer := time.NewTimer(time.Until(deadline) + timeoutGrace)
	defer timer.Stop()
	var res result
	select {
	case res = <-done:
	case <-timer.C:
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("authorizer timed out")
	}
	if res.err != nil {
		return res.resp, res.err
	}
	b, err := json.Marshal(res.resp)
	if err != nil {
		return res.resp, fmt.Errorf("encode authorizer response: %w", err)
	}
	var out events.APIGatewayCustomAuthorizerResponse
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return res.resp, fmt.Errorf("decode authorizer response: %w", err)
	}
	return out, nil
}

// contextStrings turns the authorizer's context into what API Gateway
// passes on: every value a string. Objects and arrays are not allowed.
func contextStrings(m map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			// Dropped.
		case string:
			out[k] = t
		case json.Number:
			out[k] = t.String()
		case float64:
			out[k] = strconv.FormatFloat(t, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(t)
		default:
			return nil, fmt.Errorf("value of %q is a %T; only strings, numbers and booleans are allowed", k, v)
		}
	}
	return out, nil
}

// allows evaluates the authorizer's policy for arn as API Gateway does: an
// explicit Deny of a matching statement wins, else a matching Allow admits,
// else the call is denied.
func allows(doc events.APIGatewayCustomAuthorizerPolicy, arn string) bool {
	allowed := false
	for _, st := range doc.Statement {
		if !anyMatch(st.Action, "execute-api:Invoke", true) || !anyMatch(st.Resource, arn, false) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against an IAM pattern: * is any run of
// characters (slashes included), ? any one character.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
