package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/apperr"
	"wallets/internal/auth"
	"wallets/internal/route"
	"wallets/internal/user"
)

// AuthorizerHandler is the Lambda REQUEST authorizer's handler type.
type AuthorizerHandler = func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Authorize is the REQUEST authorizer. It takes the token from the
// Authorization header ("JWT <token>" or "Bearer <token>") or the jwt cookie,
// verifies its signature and expiry, and checks the user is active and the
// token's version is the user's current one (logout, a password change and
// deactivation bump it). It allows with the principal in the context, or
// denies with the 401 detail in the context. Routes of Optional access also
// admit callers without a valid token, anonymously.
//
// An error (the database unreachable) makes API Gateway answer with its
// AUTHORIZER_FAILURE response.
func (s *Server) Authorize(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	optional := false
	path := req.Resource
	if path == "" {
		path = req.Path
	}
	if rt, _, _, found := route.Match(route.Routes(), req.HTTPMethod, path); found {
		optional = rt.Access == route.Optional
	}
	p, err := s.authenticate(ctx, req)
	var refusal refusalErr
	switch {
	case errors.As(err, &refusal) && optional:
		return policy("anonymous", "Allow", req.MethodArn, nil), nil
	case errors.As(err, &refusal):
		return policy("anonymous", "Deny", req.MethodArn, map[string]any{route.CtxDetail: refusal.e.Detail}), nil
	case err != nil:
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	return policy(strconv.FormatInt(p.UserID, 10), "Allow", wildcardArn(req.MethodArn), map[string]any{
		route.CtxUserID:       strconv.FormatInt(p.UserID, 10),
		route.CtxUserType:     strconv.Itoa(int(p.Type)),
		route.CtxTokenVersion: strconv.Itoa(p.TokenVersion),
	}), nil
}

// refusalErr is a 401 reason, as opposed to a fault.
type refusalErr struct{ e *apperr.Error }

func (r refusalErr) Error() string { return r.e.Detail }

func (s *Server) authenticate(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (auth.Principal, error) {
	token := tokenFrom(req)
	if token == "" {
		return auth.Principal{}, refusalErr{apperr.ErrNoCredentials}
	}
	p, err := s.tokens.Verify(ctx, token)
	if err != nil {
		e, ok := apperr.As(err)
		if !ok {
			e = apperr.ErrInvalidToken
		}
		return auth.Principal{}, refusalErr{e}
	}
	u, err := s.users.User(ctx, p.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return auth.Principal{}, refusalErr{apperr.ErrInvalidToken}
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("authorize: %w", err)
	}
	if !u.IsActive || u.TokenVersion != p.TokenVersion || u.Type != p.Type {
		return auth.Principal{}, refusalErr{apperr.ErrInvalidToken}
	}
	return p, nil
}

// tokenFrom finds the presented token: the Authorization header with the JWT
// or Bearer scheme first, else the jwt cookie.
func tokenFrom(req events.APIGatewayCustomAuthorizerRequestTypeRequest) string {
	ev := events.APIGatewayProxyRequest{Headers: req.Headers, MultiValueHeaders: req.MultiValueHeaders}
	if h := strings.TrimSpace(header(ev, "Authorization")); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "JWT") || strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
	}
	// net/http's cookie reading skips the pairs it cannot read (another
	// application's cookie on the same domain, a stray ";") rather than
	// the whole header, as browsers do.
	lines, _ := headerValues(ev, "Cookie")
	r := http.Request{Header: http.Header{"Cookie": lines}}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value
	}
	return ""
}

func policy(principal, effect, resource string, context map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   effect,
				Resource: []string{resource},
			}},
		},
		Context: context,
	}
}

// wildcardArn widens a method ARN (arn:…:api-id/stage/METHOD/path) to every
// method and path of the stage, so a cached Allow serves the caller's other
// routes too (each handler still checks the caller's account type).
func wildcardArn(methodArn string) string {
	parts := strings.SplitN(methodArn, "/", 3)
	if len(parts) < 2 {
		return methodArn
	}
	return parts[0] + "/" + parts[1] + "/*"
}

// principalFrom reads the principal from requestContext.authorizer; API
// Gateway passes the context values as strings, the local gateway may pass
// numbers.
func principalFrom(m map[string]any) (auth.Principal, bool) {
	id, ok1 := intValue(m[route.CtxUserID])
	typ, ok2 := intValue(m[route.CtxUserType])
	ver, ok3 := intValue(m[route.CtxTokenVersion])
	if !ok1 || !ok2 || !ok3 || id <= 0 {
		return auth.Principal{}, false
	}
	return auth.Principal{UserID: id, Type: user.Type(typ), TokenVersion: int(ver)}, true
}

func intValue(v any) (int64, bool) {
	switch t := v.(type) {
	case string:
		n, err := strconv.ParseInt(t, 10, 64)
		return n, err == nil
	case float64:
		return int64(t), t == float64(int64(t))
	case int:
		return int64(t), true
	case int64:
		return t, true
	case json.Number:
		n, err := t.Int64()
		return n, err == nil
	}
	return 0, false
}
