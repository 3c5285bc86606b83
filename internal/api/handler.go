package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/apperr"
	"wallets/internal/auth"
	"wallets/internal/idempotency"
	"wallets/internal/obs"
	"wallets/internal/route"
	"wallets/internal/user"
)

// HandlerFunc is a route's logic. It returns a Response, or an error: an
// *apperr.Error for a refusal the contract names (answered in the contract's
// shape), anything else for a fault (answered 500, reported).
type HandlerFunc func(s *Server, ctx context.Context, r *Request) (Response, error)

// Handlers binds each route of route.Routes to its logic: the one place
// where the route table meets code. Each Lambda function's main names only
// its own handler, so links only its own code: `make functions` writes the
// mains from this map and the route table (see internal/mains). The local
// gateway and the tests bind them all.
func Handlers() map[string]HandlerFunc {
	return map[string]HandlerFunc{
		"users-sign-up":          (*Server).SignUp,
		"users-login":            (*Server).LogIn,
		"users-logout":           (*Server).LogOut,
		"users-me-get":           (*Server).Me,
		"users-me-update":        (*Server).UpdateMe,
		"users-change-password":  (*Server).ChangePassword,
		"users-delete-account":   (*Server).DeleteAccount,
		"wallets-list":           (*Server).ListWallets,
		"wallets-create":         (*Server).OpenWallet,
		"wallets-get":            (*Server).Wallet,
		"wallets-deposit":        (*Server).Deposit,
		"wallets-retire":         (*Server).Withdraw,
		"wallets-transactions":   (*Server).WalletTransactions,
		"charges-create":         (*Server).OpenCharge,
		"charges-list":           (*Server).ListCharges,
		"business-list":          (*Server).ListBusinesses,
		"business-wallet-create": (*Server).OpenBusinessWallet,
		"business-wallet-get":    (*Server).BusinessWallet,
		"business-transactions":  (*Server).BusinessTransactions,
		"business-debit":         (*Server).Collect,
		"events-list":            (*Server).ListEvents,
		"webhooks-create":        (*Server).CreateWebhook,
		"webhooks-list":          (*Server).ListWebhooks,
		"webhooks-delete":        (*Server).DeleteWebhook,
		"webhooks-dead-letters":  (*Server).WebhookDeadLetters,
		"health":                 (*Server).Health,
		"openapi":                (*Server).OpenAPI,
		"docs":                   (*Server).Docs,
	}
}

// answerMargin is kept free before the invocation's deadline to answer.
const answerMargin = time.Second

// Handler returns the Lambda handler of route rt running h.
func (s *Server) Handler(rt route.Route, h HandlerFunc) Handler {
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		// Leave time to answer before Lambda's own deadline: a request
		// waiting on an unreachable database gets a clean 503, not a kill.
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-answerMargin))
			defer cancel()
		}
		resp, err := s.serve(ctx, rt, h, ev)
		if err != nil {
			resp = s.failure(ctx, err)
		}
		out, _ := resp.encode()
		return out, nil
	}
}

// isFault reports whether err is a fault rather than a refusal: not an
// application error, or one that stands for a fault (the database out of
// reach).
func isFault(err error) bool {
	e, refusal := apperr.As(err)
	return !refusal || e.Code == apperr.Internal || e.Code == apperr.Unavailable
}

// failure is the answer to an error a handler returned: a refusal in the
// contract's shape, or a fault, recorded for the logs and the error tracker
// and answered without internals (503 when the database is out of reach).
func (s *Server) failure(ctx context.Context, err error) Response {
	e, _ := apperr.As(err)
	if isFault(err) {
		obs.RecordError(ctx, err)
		if e == nil || e.Code != apperr.Unavailable {
			e = apperr.ErrFault // a fault's own words never reach the client
		}
	}
	return refusalResponse(err, e)
}

// serve answers one request; a returned error is rendered by failure.
func (s *Server) serve(ctx context.Context, rt route.Route, h HandlerFunc, ev events.APIGatewayProxyRequest) (Response, error) {
	r := &Request{Event: ev, Route: rt}
	if err := admit(r); err != nil {
		return Response{}, err
	}
	if p, ok := principalFrom(ev.RequestContext.Authorizer); ok {
		r.Principal = p
		obs.SetUser(ctx, strconv.FormatInt(p.UserID, 10))
	}
	if err := checkAccess(rt.Access, r.Principal); err != nil {
		return Response{}, err
	}
	if !rt.Mutates() {
		return h(s, ctx, r)
	}
	var resp Response
	var err error
	if keys, present := headerValues(ev, "Idempotency-Key"); present {
		key := ""
		if len(keys) > 0 {
			key = keys[0]
		}
		var replayed bool
		if resp, replayed, err = s.idempotent(ctx, r, h, key); replayed || err != nil {
			return resp, err
		}
	} else {
		resp, err = h(s, ctx, r)
		if errors.Is(err, apperr.ErrOutcomeUnknown) {
			// The change may have been applied: no Retry-After, and the
			// answer says so (with a key, a retry would have been safe).
			err = fmt.Errorf("%w: %w", apperr.ErrOutcomeUnknown, err)
		}
	}
	if rand.IntN(purgeEvery) == 0 {
		s.purge(ctx)
	}
	return resp, err
}

// idempotent runs h under the request's Idempotency-Key, on the services
// the runner bound to the key's unit of work (Tx): the first request with a
// key does the work and its answer is kept; the same request again is
// answered as the first was (replayed true), without doing the work again.
func (s *Server) idempotent(ctx context.Context, r *Request, h HandlerFunc, key string) (Response, bool, error) {
	req, err := idempotency.NewRequest(r.Principal.UserID, key, requestHash(r))
	if err != nil {
		return Response{}, false, err
	}
	var resp Response
	answer, replayed, err := s.idem.Run(ctx, req, func(ctx context.Context, tx Tx) (idempotency.Answer, error) {
		var err error
		if resp, err = h(s.in(tx), ctx, r); err != nil {
			if isFault(err) {
				return idempotency.Answer{}, err // nothing is kept
			}
			resp = s.failure(ctx, err)
		}
		return req.Seal(answerOf(resp))
	})
	if err != nil {
		return Response{}, false, err
	}
	if replayed {
		if answer, err = req.Open(answer); err != nil {
			return Response{}, false, err
		}
		obs.Count(ctx, obs.MetricIdempotentReplays, 1)
		return replay(answer), true, nil
	}
	return resp, false, nil
}

// Housekeeping: about one mutating request in purgeEvery also deletes up
// to purgeLimit expired idempotency keys and stale login and change-password
// attempts (of each), so the
// tables stay small without a scheduler.
const (
	purgeEvery = 100
	purgeLimit = 500
)

func (s *Server) purge(ctx context.Context) {
	if s.housekeep == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := s.housekeep.Purge(ctx, purgeLimit); err != nil {
		obs.Warn(ctx, "purge expired rows", err)
	}
}

// admit checks what can be checked before the handler runs: the method and
// the body's size and encoding.
func admit(r *Request) error {
	if !route.HasMethod(r.Route, r.Event.HTTPMethod) {
		return methodNotAllowed{route.MethodNotAllowedFor(r.Event.HTTPMethod), r.Route.Methods}
	}
	body, err := decodeBody(r.Event)
	if err != nil {
		return err
	}
	if len(body) > MaxBody {
		return route.ErrBodyTooLarge
	}
	// A body the API cannot read is refused on every route, not only on
	// those whose handler reads it: a request is never half-understood.
	if len(bytes.TrimSpace(body)) > 0 {
		if mt, _, _ := mime.ParseMediaType(r.Header("Content-Type")); !readableMedia(mt) {
			return route.UnsupportedMedia(mt)
		}
	}
	r.body = body
	return nil
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
func checkAccess(a route.Access, p auth.Principal) error {
	if a == route.Public || a == route.Optional {
		return nil
	}
	if p.UserID == 0 {
		return apperr.ErrNoCredentials
	}
	if (a == route.Customer && p.Type != user.CustomerType) || (a == route.Business && p.Type != user.BusinessType) {
		return apperr.ErrForbidden
	}
	return nil
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

// answerOf is what an Idempotency-Key keeps of resp to replay it: the
// status, the body, and the headers the handler set (cookies included).
func answerOf(resp Response) idempotency.Answer {
	_, body := resp.encode()
	out := idempotency.Answer{Status: resp.Status, Body: body}
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

// replay is the response to a request answered before under its key.
func replay(a idempotency.Answer) Response {
	resp := Response{Status: a.Status, Headers: map[string]string{"Idempotent-Replayed": "true"}, Cookies: a.Headers["Set-Cookie"]}
	if len(a.Body) > 0 {
		resp.Body = json.RawMessage(a.Body)
	}
	for k, v := range a.Headers {
		if k != "Set-Cookie" && len(v) > 0 {
			resp.Headers[k] = v[0]
		}
	}
	return resp
}
