package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/apperr"
	"wallets/internal/route"
)

// Response is what a handler answers: a status, a JSON body and extra
// headers.
type Response struct {
	Status  int
	Body    any // marshalled as JSON; nil means no body
	Headers map[string]string
	Cookies []string // Set-Cookie values
}

// htmlPage is a body sent as is, as text/html.
type htmlPage string

// ok returns a 200 response.
func ok(body any) Response { return Response{Status: http.StatusOK, Body: body} }

// created returns a 201 response.
func created(body any) Response { return Response{Status: http.StatusCreated, Body: body} }

// Detail is the body of every non-validation error.
type Detail struct {
	Detail string `json:"detail"`
}

// errorResponse is the contract's answer to an application error.
func errorResponse(e *apperr.Error) Response {
	status, known := route.StatusOf(e.Code)
	if !known {
		status, e = http.StatusInternalServerError, apperr.ErrFault
	}
	resp := Response{Status: status, Headers: map[string]string{}}
	if len(e.Fields) > 0 {
		resp.Body = e.Fields
	} else {
		resp.Body = Detail{e.Detail}
	}
	if e.Code == apperr.Unauthenticated {
		resp.Headers["WWW-Authenticate"] = route.WWWAuthenticate
	}
	if e.RetryAfter > 0 {
		resp.Headers["Retry-After"] = strconv.Itoa(e.RetryAfter)
	}
	return resp
}

// methodNotAllowed is the 405 refusal of a method the path does not serve,
// with the methods it does.
type methodNotAllowed struct {
	err     *apperr.Error
	allowed []string
}

func (m methodNotAllowed) Error() string { return m.err.Error() }
func (m methodNotAllowed) Unwrap() error { return m.err }

// refusalResponse is errorResponse of the application error in err's chain,
// with the headers its kind of refusal carries.
func refusalResponse(err error, e *apperr.Error) Response {
	resp := errorResponse(e)
	var m methodNotAllowed
	if errors.As(err, &m) {
		resp.Headers["Allow"] = strings.Join(m.allowed, ", ")
	}
	return resp
}

// encode turns r into the proxy response event.
func (r Response) encode() (events.APIGatewayProxyResponse, []byte) {
	var body []byte
	if r.Body != nil {
		if raw, isRaw := r.Body.(json.RawMessage); isRaw {
			body = raw
		} else if page, isPage := r.Body.(htmlPage); isPage {
			body = []byte(page)
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
	if _, isPage := r.Body.(htmlPage); isPage {
		out.Headers["Content-Type"] = "text/html; charset=utf-8"
	} else if body != nil {
		out.Headers["Content-Type"] = "application/json"
	}
	for k, v := range route.SecurityHeaders() {
		out.Headers[k] = v
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
