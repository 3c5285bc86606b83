package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"wallets/internal/apperr"
	"wallets/internal/auth"
	"wallets/internal/obs"
	"wallets/internal/postgres"
	"wallets/internal/user"
)

// handlerFunc is a route's logic. It returns a Response for every answer the
// contract names (errors included, when work must still commit), or an error:
// an *apperr.Error for an expected refusal, anything else for a fault. The
// request's transaction commits only with a Response.
type handlerFunc func(s *Server, ctx context.Context, r *Request) (Response, error)

// keyClaim is the Idempotency-Key a request holds.
type keyClaim struct {
	user  int64
	key   string
	token uuid.UUID
}

// answerMargin is kept free before the invocation's deadline to answer.
const answerMargin = time.Second

// Handler returns the Lambda handler of route rt.
func (s *Server) Handler(rt Route) Handler {
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		// Leave time to answer before Lambda's own deadline: a request
		// waiting on an unreachable database gets a clean 503, not a kill.
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-answerMargin))
			defer cancel()
		}
		resp, err := s.serve(ctx, rt, ev)
		if err != nil {
			obs.RecordError(ctx, err)
			resp = faultResponse()
			if postgres.Unavailable(err) {
				resp = unavailableResponse()
			}
		}
		out, _ := resp.encode()
		return out, nil
	}
}

// serve answers one request; a returned error is a fault.
func (s *Server) serve(ctx context.Context, rt Route, ev events.APIGatewayProxyRequest) (Response, error) {
	r := &Request{Event: ev, Route: rt, server: s}
	if resp, done := s.admit(r); done {
		return resp, nil
	}
	if p, ok := principalFrom(ev.RequestContext.Authorizer); ok {
		r.Principal = p
		obs.SetUser(ctx, strconv.FormatInt(p.UserID, 10))
	}
	if err := checkAccess(rt.Access, r.Principal); err != nil {
		return errorResponse(err), nil
	}

	if rt.Mutates() {
		if keys, present := headerValues(ev, "Idempotency-Key"); present {
			key := ""
			if len(keys) > 0 {
				key = keys[0]
			}
			resp, replay, err := s.claim(ctx, r, key)
			if err != nil || replay {
				return resp, err
			}
		}
	}

	resp, err := rt.handle(s, ctx, r)
	resp, err = s.finish(ctx, r, resp, err)
	if rt.Mutates() && rand.IntN(purgeEvery) == 0 {
		s.purge(ctx)
	}
	return resp, err
}

// Housekeeping: about one mutating request in purgeEvery also deletes up
// to purgeLimit expired idempotency keys and stale login attempts, so the
// tables stay small without a scheduler.
const (
	purgeEvery = 100
	purgeLimit = 500
)

func (s *Server) purge(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := postgres.PurgeExpired(ctx, s.db, user.LoginWindow, purgeLimit); err != nil {
		obs.Logger(ctx).Warn("purge expired rows", "error", err.Error())
	}
}

// admit checks what can be checked before the handler runs: the method and
// the body's size and encoding.
func (s *Server) admit(r *Request) (Response, bool) {
	if !hasMethod(r.Route, r.Event.HTTPMethod) {
		return methodNotAllowed(r.Event.HTTPMethod, r.Route.Methods), true
	}
	body, err := decodeBody(r.Event)
	if err != nil {
		return errorResponse(err.(*apperr.Error)), true
	}
	if len(body) > MaxBody {
		return errorResponse(apperr.New(apperr.TooLarge, "Request body is larger than 64 KiB.")), true
	}
	// A body the API cannot read is refused on every route, not only on
	// those whose handler reads it: a request is never half-understood.
	if len(bytes.TrimSpace(body)) > 0 {
		if mt, _, _ := mime.ParseMediaType(r.Header("Content-Type")); !readableMedia(mt) {
			return errorResponse(unsupportedMedia(mt).(*apperr.Error)), true
		}
	}
	r.body = body
	return Response{}, false
}

// readableMedia reports whether Form can decode a body of media type mt
// ("" when absent, taken as JSON).
func readableMedia(mt string) bool {
	return mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

// checkAccess enforces the route's audience on the principal the authorizer
// passed. The authorizer already refused bad tokens; this is the handler's
// own guard, so a misconfigured route never serves an anonymous caller.
func checkAccess(a Access, p auth.Principal) *apperr.Error {
	if a == Public || a == Optional {
		return nil
	}
	if p.UserID == 0 {
		return apperr.New(apperr.Unauthenticated, auth.ErrNoCredentials.Error())
	}
	if (a == Customer && p.Type != auth.CustomerType) || (a == Business && p.Type != auth.BusinessType) {
		return apperr.New(apperr.Forbidden, "You do not have permission to perform this action.")
	}
	return nil
}

// validKey reports whether key is 1–255 printable ASCII characters.
func validKey(key string) bool {
	if len(key) < 1 || len(key) > 255 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestHash identifies "the same request" for an Idempotency-Key: the
// method, the path (without a trailing slash) and the body — a JSON body in
// canonical form, so key order and spacing do not make a request different.
func requestHash(r *Request) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", r.Event.HTTPMethod, strings.TrimRight(r.Event.Path, "/"))
	h.Write(canonicalJSON(r.body))
	return h.Sum(nil)
}

// canonicalJSON re-encodes a JSON body with sorted keys and no spacing
// (numbers kept as written); anything else is returned as is.
func canonicalJSON(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

// claim takes the request's Idempotency-Key. It returns replay=true with the
// response to send when the key is not the caller's to run.
func (s *Server) claim(ctx context.Context, r *Request, key string) (Response, bool, error) {
	if !validKey(key) {
		return errorResponse(apperr.New(apperr.Invalid, "Idempotency-Key must be 1 to 255 printable ASCII characters.")), true, nil
	}
	hash := requestHash(r)
	if !r.Authenticated() {
		// Anonymous callers (sign-up, login) share no user to scope keys
		// by: scope each key by its request too, so one client's key never
		// answers, or refuses, another client's request.
		key = key + "#" + hex.EncodeToString(hash)
	}
	c, err := postgres.ClaimKey(ctx, s.db, r.Principal.UserID, key, hash)
	if err != nil {
		return Response{}, true, err
	}
	switch c.State {
	case postgres.Done:
		obs.Count(ctx, obs.MetricIdempotentReplays, 1)
		stored := c.Response
		resp := Response{Status: stored.Status, Headers: map[string]string{"Idempotent-Replayed": "true"}, Cookies: stored.Headers["Set-Cookie"]}
		if len(stored.Body) > 0 {
			resp.Body = json.RawMessage(stored.Body)
		}
		for k, v := range stored.Headers {
			if k != "Set-Cookie" && len(v) > 0 {
				resp.Headers[k] = v[0]
			}
		}
		return resp, true, nil
	case postgres.InProgress:
		return errorResponse(apperr.New(apperr.Conflict, "A request with this Idempotency-Key is still in progress.")), true, nil
	case postgres.Mismatch:
		return errorResponse(apperr.New(apperr.Unprocessable, "Idempotency-Key reused with a different request.")), true, nil
	}
	r.claim = &keyClaim{user: r.Principal.UserID, key: key, token: c.Token}
	return Response{}, false, nil
}

// finish ends the request's transaction and its key claim: a Response
// commits (with the response stored on the key), an application error rolls
// back (and its answer is stored on the key, since nothing changed), a fault
// rolls back and releases the key so a retry can run.
func (s *Server) finish(ctx context.Context, r *Request, resp Response, err error) (Response, error) {
	var appErr *apperr.Error
	if errors.Is(err, postgres.ErrClaimLost) {
		err = apperr.New(apperr.Conflict, "A request with this Idempotency-Key is still in progress.")
	}
	if err != nil {
		if r.tx != nil {
			_ = r.tx.Rollback(context.WithoutCancel(ctx))
			r.tx = nil
		}
		var ok bool
		if appErr, ok = apperr.As(err); !ok {
			s.releaseKey(ctx, r)
			return Response{}, err
		}
		resp = errorResponse(appErr)
	}
	if resp.Status >= http.StatusInternalServerError {
		if r.tx != nil {
			_ = r.tx.Rollback(context.WithoutCancel(ctx))
		}
		s.releaseKey(ctx, r)
		return resp, nil
	}
	if r.claim != nil {
		stored := storedResponse(resp)
		if r.tx != nil {
			err = postgres.CompleteKey(ctx, r.tx, r.claim.user, r.claim.key, r.claim.token, stored)
		} else {
			err = postgres.CompleteKey(ctx, s.db, r.claim.user, r.claim.key, r.claim.token, stored)
		}
		if err != nil {
			if r.tx != nil {
				_ = r.tx.Rollback(context.WithoutCancel(ctx))
			}
			s.releaseKey(ctx, r)
			return Response{}, fmt.Errorf("store idempotent response: %w", err)
		}
	}
	if r.tx != nil {
		if err := r.tx.Commit(ctx); err != nil {
			s.releaseKey(ctx, r)
			return Response{}, fmt.Errorf("commit: %w", err)
		}
	}
	return resp, nil
}

// storedResponse is what an Idempotency-Key keeps of resp to replay it: the
// status, the body, and the headers the handler set (cookies included).
func storedResponse(resp Response) postgres.StoredResponse {
	_, body := resp.encode()
	out := postgres.StoredResponse{Status: resp.Status, Body: body}
	if len(resp.Headers) > 0 || len(resp.Cookies) > 0 {
		out.Headers = map[string][]string{}
		for k, v := range resp.Headers {
			out.Headers[k] = []string{v}
		}
		if len(resp.Cookies) > 0 {
			out.Headers["Set-Cookie"] = resp.Cookies
		}
	}
	return out
}

// releaseKey drops the request's claim after a fault, best effort: a claim
// left behind is taken over once stale.
func (s *Server) releaseKey(ctx context.Context, r *Request) {
	if r.claim == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2e9)
	defer cancel()
	if err := postgres.ReleaseKey(ctx, s.db, r.claim.user, r.claim.key, r.claim.token); err != nil {
		obs.Logger(ctx).Warn("release idempotency key", "error", err.Error())
	}
}
