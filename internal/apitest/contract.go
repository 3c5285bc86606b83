package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"wallets/internal/api"
	"wallets/internal/route"
)

// Every exchange Do makes is checked against the OpenAPI document the API
// serves (api.OpenAPIJSON, what GET /openapi.json answers), with
// kin-openapi's openapi3filter:
//
//   - the response must have a status the operation lists and match its
//     schema (headers the document marks required included), else the test
//     fails;
//   - a request the document refuses is fine when the server refuses it too
//     (tests send invalid requests on purpose), but a request the document
//     refuses that the server accepts (2xx) fails the test: the document
//     and the server disagree;
//   - a path no route matches must answer the documented 404 or 405
//     (a Detail body).
//
// Unchecked turns the check off for one call.

// Document returns the served OpenAPI document, loaded and validated once.
func Document() (*openapi3.T, error) {
	contractDoc.once.Do(func() {
		b, err := api.OpenAPIJSON()
		if err != nil {
			contractDoc.err = err
			return
		}
		doc, err := openapi3.NewLoader().LoadFromData(b)
		if err == nil {
			err = doc.Validate(context.Background())
		}
		contractDoc.doc, contractDoc.err = doc, err
	})
	return contractDoc.doc, contractDoc.err
}

// The docs page is the one text/html answer; its body is checked as a string.
func init() {
	if openapi3filter.RegisteredBodyDecoder("text/html") == nil {
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder)
	}
}

var contractDoc struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

type uncheckedKey struct{}

// Unchecked sends the request without checking the exchange against the
// OpenAPI document (for a test that steps outside the contract on purpose,
// a client-side fault say).
func Unchecked() Opt {
	return func(r *http.Request) {
		*r = *r.WithContext(context.WithValue(r.Context(), uncheckedKey{}, true))
	}
}

func unchecked(r *http.Request) bool {
	v, _ := r.Context().Value(uncheckedKey{}).(bool)
	return v
}

// Exchange is one request and its response, as CheckExchange takes them.
type Exchange struct {
	Request     *http.Request
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte
}

// CheckExchange checks one exchange against the document and returns the
// disagreements (none when the exchange is as documented). The request's
// path includes route.Prefix.
func CheckExchange(ctx context.Context, x Exchange) []string {
	doc, err := Document()
	if err != nil {
		return []string{fmt.Sprintf("the OpenAPI document does not load: %v", err)}
	}
	req := x.Request
	path := req.URL.Path
	if !strings.HasPrefix(path, route.Prefix+"/") {
		return nil
	}
	rt, params, allowed, ok := route.Match(route.Routes(), req.Method, path)
	if !ok {
		want := http.StatusNotFound
		if len(allowed) > 0 {
			want = http.StatusMethodNotAllowed
		}
		// The gateway's own answers, documented as the NotFound and
		// MethodNotAllowed responses.
		if x.Status != want && x.Status < 500 {
			return []string{fmt.Sprintf("%s %s: status %d, want the documented %d", req.Method, path, x.Status, want)}
		}
		return checkSchema(doc, "Detail", x.Body, fmt.Sprintf("%s %s: %d", req.Method, path, x.Status))
	}
	template := strings.TrimPrefix(rt.Path, route.Prefix)
	item := doc.Paths.Value(template)
	var op *openapi3.Operation
	if item != nil {
		op = item.GetOperation(req.Method)
	}
	if op == nil {
		return []string{fmt.Sprintf("%s %s: route %s has no operation in the document", req.Method, template, rt.Function)}
	}
	name := fmt.Sprintf("%s (%s %s) answered %d", op.OperationID, req.Method, template, x.Status)
	var server *openapi3.Server
	if len(doc.Servers) > 0 {
		server = doc.Servers[0]
	}
	r := &routers.Route{Spec: doc, Server: server, Path: template, PathItem: item, Method: req.Method, Operation: op}
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	in := &openapi3filter.RequestValidationInput{
		Request:    vreq,
		PathParams: params,
		Route:      r,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         true,
		},
	}
	var problems []string
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && x.Status < 300 {
		problems = append(problems, fmt.Sprintf("%s, but the document refuses the request: %v\nrequest body: %s",
			name, err, clip(x.RequestBody)))
	}
	// The response is checked whatever the request was.
	in.Request = req.Clone(ctx)
	in.Request.Body = http.NoBody
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.Header,
		Body:                   io.NopCloser(bytes.NewReader(x.Body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		problems = append(problems, fmt.Sprintf("%s, not as documented: %v\nresponse body: %s", name, err, clip(x.Body)))
	}
	return problems
}

// checkSchema validates a JSON body against a components schema.
func checkSchema(doc *openapi3.T, schema string, body []byte, name string) []string {
	s := doc.Components.Schemas[schema]
	if s == nil {
		return []string{fmt.Sprintf("%s: no schema %s in the document", name, schema)}
	}
	var v any
	if err := jsonUnmarshal(body, &v); err != nil {
		return []string{fmt.Sprintf("%s: body is not JSON (%v): %s", name, err, clip(body))}
	}
	if err := s.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return []string{fmt.Sprintf("%s: body is not a %s: %v", name, schema, err)}
	}
	return nil
}

func clip(b []byte) string {
	const max = 600
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// checkContract reports the disagreements of one exchange of Do.
func checkContract(t testing.TB, x Exchange) {
	t.Helper()
	if unchecked(x.Request) {
		return
	}
	for _, p := range CheckExchange(context.Background(), x) {
		t.Errorf("apitest: contract: %s", p)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
