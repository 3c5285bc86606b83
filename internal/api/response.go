package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/apperr"
)

// Response is what a handler answers: a status, a JSON body and extra
// headers.
type Response struct {
	Status  int
	Body    any // marshalled as JSON; nil means no body
	Headers map[string]string
	Cookies []string // Set-Cookie values
}

// ok returns a 200 response.
func ok(body any) Response { return Response{Status: http.StatusOK, Body: body} }

// created returns a 201 response.
func created(body any) Response { return Response{Status: http.StatusCreated, Body: body} }

// Detail is the body of every non-validation error.
type Detail struct {
	Detail string `json:"detail"`
}

// ServerFault is the one answer to a fault: no internals.
const ServerFault = "A server error occurred."

var statusOf = map[apperr.Code]int{
	apperr.Invalid:          http.StatusBadRequest,
	apperr.Unauthenticated:  http.StatusUnauthorized,
	apperr.Forbidden:        http.StatusForbidden,
	apperr.NotFound:         http.StatusNotFound,
	apperr.MethodNotAllowed: http.StatusMethodNotAllowed,
	apperr.Conflict:         http.StatusConflict,
	apperr.TooLarge:         http.StatusRequestEntityTooLarge,
	apperr.Unsupported:      http.StatusUnsupportedMediaType,
	apperr.Unprocessable:    http.StatusUnprocessableEntity,
	apperr.Throttled:        http.StatusTooManyRequests,
	apperr.Unavailable:      http.StatusServiceUnavailable,
}

// WWWAuthenticate is sent with every 401.
const WWWAuthenticate = `JWT realm="api"`

// errorResponse is the contract's answer to an application error.
func errorResponse(e *apperr.Error) Response {
	status, known := statusOf[e.Code]
	if !known {
		status = http.StatusInternalServerError
	}
	resp := Response{Status: status, Headers: map[string]string{}}
	if len(e.Fields) > 0 {
		resp.Body = e.Fields
	} else {
		resp.Body = Detail{e.Detail}
	}
	switch e.Code {
	case apperr.Unauthenticated:
		resp.Headers["WWW-Authenticate"] = WWWAuthenticate
	case apperr.Throttled:
		resp.Headers["Retry-After"] = strconv.Itoa(e.RetryAfter)
	}
	return resp
}

// faultResponse is the answer to a server fault.
func faultResponse() Response {
	return Response{Status: http.StatusInternalServerError, Body: Detail{ServerFault}}
}

// Unavailable is the answer when the database cannot be reached.
const Unavailable = "Service temporarily unavailable, try again later."

// unavailableResponse is the answer to a fault of the database's reach: the
// client may retry (with the same Idempotency-Key, safely).
func unavailableResponse() Response {
	return Response{Status: http.StatusServiceUnavailable, Body: Detail{Unavailable}, Headers: map[string]string{"Retry-After": "5"}}
}

// encode turns r into the proxy response event.
func (r Response) encode() (events.APIGatewayProxyResponse, []byte) {
	var body []byte
	if r.Body != nil {
		if raw, isRaw := r.Body.(json.RawMessage); isRaw {
			body = raw
		} else {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // links keep their "&" as is
			if err := enc.Encode(r.Body); err != nil {
				// Every body is a plain value built by this package.
				panic("api: cannot encode response: " + err.Error())
			}
			body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		}
	}
	out := events.APIGatewayProxyResponse{
		StatusCode: r.Status,
		Headers:    map[string]string{},
		Body:       string(body),
	}
	if body != nil {
		out.Headers["Content-Type"] = "application/json"
	}
	for k, v := range r.Headers {
		out.Headers[k] = v
	}
	if len(r.Cookies) > 0 {
		out.MultiValueHeaders = map[string][]string{"Set-Cookie": r.Cookies}
	}
	return out, body
}

// JSONResponse builds a JSON proxy response outside a handler (the local
// gateway's own 404, 405 and authorizer refusals use it).
func JSONResponse(status int, body any, headers map[string]string) events.APIGatewayProxyResponse {
	out, _ := Response{Status: status, Body: body, Headers: headers}.encode()
	return out
}

// methodNotAllowed is the 405 for a known path.
func methodNotAllowed(method string, allowed []string) Response {
	return Response{
		Status:  http.StatusMethodNotAllowed,
		Body:    Detail{"Method \"" + method + "\" not allowed."},
		Headers: map[string]string{"Allow": strings.Join(allowed, ", ")},
	}
}
