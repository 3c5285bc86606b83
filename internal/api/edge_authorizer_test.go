package api_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"wallets/internal/auth"
	"wallets/internal/route"
	"wallets/internal/user"
)

const methodArnBase = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod"

// authRequest is the authorizer's event for a call of route fn.
func authRequest(t *testing.T, fn string, headers map[string]string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	t.Helper()
	rt, ok := route.ByFunction(fn)
	if !ok {
		t.Fatalf("no route %q", fn)
	}
	return events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:       "REQUEST",
		MethodArn:  methodArnBase + "/" + rt.Methods[0] + rt.Path,
		Resource:   rt.Path,
		Path:       rt.Path,
		HTTPMethod: rt.Methods[0],
		Headers:    headers,
	}
}

// signed returns a token with the given claims, signed with key.
func signed(t *testing.T, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEdgeAuthorizer(t *testing.T) {
	e0 := newEdge(t)
	valid, err := e0.tokens.Issue(context.Background(), auth.Principal{UserID: customerID, Type: user.CustomerType, TokenVersion: tokenVersion})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := auth.StaticTokens([]byte("another-key-of-32-bytes-00000000"))
	forged, _ := otherKey.Issue(context.Background(), auth.Principal{UserID: customerID, Type: user.CustomerType, TokenVersion: tokenVersion})
	expired := signed(t, jwtKey, jwt.MapClaims{"sub": strconv.FormatInt(customerID, 10), "type": 1, "ver": tokenVersion,
		"iat": time.Now().Add(-8 * 24 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})

	active := func(u user.User) func(*testing.T, *edge) {
		return func(t *testing.T, e *edge) {
			e.users.UserFn = func(ctx context.Context, id int64) (user.User, error) {
				if id != u.ID {
					return user.User{}, user.ErrNotFound
				}
				return u, nil
			}
		}
	}
	inactive := pablo()
	inactive.IsActive = false
	stale := pablo()
	stale.TokenVersion = tokenVersion + 1
	retyped := pablo()
	retyped.Type = user.BusinessType

	const (
		noCreds = "Authentication credentials were not provided."
		invalid = "Invalid token."
	)
	deny := func(detail string) *events.APIGatewayCustomAuthorizerResponse {
		return &events.APIGatewayCustomAuthorizerResponse{PrincipalID: "anonymous", Context: map[string]any{route.CtxDetail: detail}}
	}
	allow := &events.APIGatewayCustomAuthorizerResponse{PrincipalID: "7", Context: map[string]any{
		route.CtxUserID: "7", route.CtxUserType: "1", route.CtxTokenVersion: "3"}}
	anonymous := &events.APIGatewayCustomAuthorizerResponse{PrincipalID: "anonymous"}

	fault := unavailable()
	jwtHeader := map[string]string{"Authorization": "JWT " + valid}
	cases := []struct {
		name    string
		fn      string
		headers map[string]string
		setup   func(*testing.T, *edge)
		effect  string
		want    *events.APIGatewayCustomAuthorizerResponse // PrincipalID and Context
		wantErr error
	}{
		{name: "no token", fn: "wallets-list", effect: "Deny", want: deny(noCreds)},
		{name: "an Authorization header of another scheme", fn: "wallets-list", headers: map[string]string{"Authorization": "Basic cGFibG86cHc="},
			effect: "Deny", want: deny(noCreds)},
		{name: "garbage token", fn: "wallets-list", headers: map[string]string{"Authorization": "JWT garbage"}, effect: "Deny", want: deny(invalid)},
		{name: "token signed with another key", fn: "wallets-list", headers: map[string]string{"Authorization": "JWT " + forged},
			effect: "Deny", want: deny(invalid)},
		{name: "expired token", fn: "wallets-list", headers: map[string]string{"Authorization": "JWT " + expired},
			effect: "Deny", want: deny("Signature has expired.")},
		{name: "valid token of an inactive user", fn: "wallets-list", headers: jwtHeader, setup: active(inactive),
			effect: "Deny", want: deny(invalid)},
		{name: "stale token version", fn: "wallets-list", headers: jwtHeader, setup: active(stale), effect: "Deny", want: deny(invalid)},
		{name: "account type changed", fn: "wallets-list", headers: jwtHeader, setup: active(retyped), effect: "Deny", want: deny(invalid)},
		{name: "user gone", fn: "wallets-list", headers: jwtHeader, setup: active(user.User{ID: 99}), effect: "Deny", want: deny(invalid)},
		{name: "a fault of the users service is an error", fn: "wallets-list", headers: jwtHeader,
			setup: func(t *testing.T, e *edge) {
				e.users.UserFn = func(context.Context, int64) (user.User, error) { return user.User{}, fault }
			},
			wantErr: fault},
		{name: "valid JWT header", fn: "wallets-list", headers: jwtHeader, setup: active(pablo()), effect: "Allow", want: allow},
		{name: "valid Bearer header, any case", fn: "wallets-list", headers: map[string]string{"authorization": "bearer " + valid},
			setup: active(pablo()), effect: "Allow", want: allow},
		{name: "valid jwt cookie", fn: "wallets-list", headers: map[string]string{"Cookie": "theme=dark; jwt=" + valid},
			setup: active(pablo()), effect: "Allow", want: allow},
		{name: "logout with a bad token is anonymous", fn: "users-logout", headers: map[string]string{"Authorization": "JWT garbage"},
			effect: "Allow", want: anonymous},
		{name: "logout with a stale token is anonymous", fn: "users-logout", headers: jwtHeader, setup: active(stale),
			effect: "Allow", want: anonymous},
		{name: "logout without a token is anonymous", fn: "users-logout", effect: "Allow", want: anonymous},
		{name: "logout with a valid token is the user", fn: "users-logout", headers: jwtHeader, setup: active(pablo()),
			effect: "Allow", want: allow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEdge(t) // UserFn unset unless set up: a bad token never reads the user
			if c.setup != nil {
				c.setup(t, e)
			}
			ar := authRequest(t, c.fn, c.headers)
			got, err := e.srv.Authorize(context.Background(), ar)
			if c.wantErr != nil {
				if err == nil || !errors.Is(err, c.wantErr) {
					t.Fatalf("Authorize error = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authorize error = %v", err)
			}
			st := got.PolicyDocument.Statement
			if len(st) != 1 || st[0].Effect != c.effect || !reflect.DeepEqual(st[0].Action, []string{"execute-api:Invoke"}) {
				t.Errorf("policy = %+v, want one %s statement", got.PolicyDocument, c.effect)
			}
			wantResource := ar.MethodArn
			if c.want.Context[route.CtxUserID] != nil {
				// An Allow of a user covers the stage, for the cache.
				wantResource = methodArnBase + "/*"
			}
			if len(st) == 1 && !reflect.DeepEqual(st[0].Resource, []string{wantResource}) {
				t.Errorf("resource = %q, want %q", st[0].Resource, wantResource)
			}
			if got.PrincipalID != c.want.PrincipalID || !reflect.DeepEqual(got.Context, c.want.Context) {
				t.Errorf("principal %q, context %v; want %q, %v", got.PrincipalID, got.Context, c.want.PrincipalID, c.want.Context)
			}
		})
	}
}

// TestEdgeAuthorizerToHandler runs an Allow's context through a handler: the
// principal the authorizer passes is the one the handler sees.
func TestEdgeAuthorizerToHandler(t *testing.T) {
	e := newEdge(t)
	token, _ := e.tokens.Issue(context.Background(), auth.Principal{UserID: customerID, Type: user.CustomerType, TokenVersion: tokenVersion})
	e.users.UserFn = func(context.Context, int64) (user.User, error) { return pablo(), nil }
	ar := authRequest(t, "users-me-get", map[string]string{"Authorization": "JWT " + token})
	pol, err := e.srv.Authorize(context.Background(), ar)
	if err != nil {
		t.Fatal(err)
	}
	resp := e.do(req{fn: "users-me-get", caller: pol.Context})
	checkStatus(t, resp, 200)
	checkBody(t, resp, pabloJSON)
}

// TestEdgeCookieHeaderWithOtherCookies: the jwt cookie authenticates even
// when the Cookie header also carries pairs Go's strict parser refuses — a
// valueless cookie, another application's JSON value, an empty pair, a
// trailing ";" — on protected routes and on logout (which must revoke it).
func TestEdgeCookieHeaderWithOtherCookies(t *testing.T) {
	e := newEdge(t)
	token, err := e.tokens.Issue(context.Background(), auth.Principal{UserID: customerID, Type: user.CustomerType, TokenVersion: tokenVersion})
	if err != nil {
		t.Fatal(err)
	}
	e.users.UserFn = func(context.Context, int64) (user.User, error) { return pablo(), nil }
	for _, fn := range []string{"wallets-list", "users-logout"} {
		for _, line := range []string{
			"flag; jwt=" + token,
			`theme={"dark":true}; jwt=` + token,
			"jwt=" + token + ";",
			"a=1;; jwt=" + token,
		} {
			name := strings.ReplaceAll(line, token, "<token>")
			t.Run(fn+" "+name, func(t *testing.T) {
				got, err := e.srv.Authorize(context.Background(), authRequest(t, fn, map[string]string{"Cookie": line}))
				if err != nil {
					t.Fatal(err)
				}
				if got.Context[route.CtxUserID] != "7" {
					t.Errorf("Cookie %q: principal %q, context %v; want user 7", name, got.PrincipalID, got.Context)
				}
			})
		}
	}
}
