package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"wallets/internal/apperr"
	"wallets/internal/auth"
	"wallets/internal/money"
	"wallets/internal/route"
)

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

// Request is one call of a route, as handlers see it.
type Request struct {
	Event events.APIGatewayProxyRequest
	Route route.Route
	// Principal is the caller; UserID 0 means anonymous.
	Principal auth.Principal
	body      []byte
}

// Authenticated reports whether the caller presented a valid token.
func (r *Request) Authenticated() bool { return r.Principal.UserID != 0 }

// SourceIP is the caller's address as API Gateway saw it
// (requestContext.identity.sourceIp: the TCP peer of its edge, no port), or
// "" when the event has none. It is not any header the caller could write,
// such as X-Forwarded-For.
func (r *Request) SourceIP() string { return r.Event.RequestContext.Identity.SourceIP }

// Param returns a path parameter.
func (r *Request) Param(name string) string { return r.Event.PathParameters[name] }

// UUIDParam returns a path parameter that must be a uuid; a malformed one is a
// 404, since no such resource can exist.
func (r *Request) UUIDParam(name string) (uuid.UUID, error) {
	id, err := parseUUID(r.Param(name))
	if err != nil {
		return uuid.Nil, apperr.ErrNotFound
	}
	return id, nil
}

// IDParam returns a path parameter that must be a positive integer id; a
// malformed one is a 404.
func (r *Request) IDParam(name string) (int64, error) {
	s := r.Param(name)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, apperr.ErrNotFound
	}
	return id, nil
}

func parseUUID(s string) (uuid.UUID, error) {
	// uuid.Parse also takes braces and urn: forms; the API speaks only the
	// canonical 36-character form.
	if len(s) != 36 {
		return uuid.Nil, fmt.Errorf("malformed uuid %q", s)
	}
	return uuid.Parse(s)
}

// Query returns the values of query parameter name.
func (r *Request) Query(name string) []string {
	if v, ok := r.Event.MultiValueQueryStringParameters[name]; ok {
		return v
	}
	if v, ok := r.Event.QueryStringParameters[name]; ok {
		return []string{v}
	}
	return nil
}

// QueryValue returns the last value of query parameter name and whether it
// was given.
func (r *Request) QueryValue(name string) (string, bool) {
	v := r.Query(name)
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// Header returns the first value of header name, matched case-insensitively.
func (r *Request) Header(name string) string { return header(r.Event, name) }

func header(ev events.APIGatewayProxyRequest, name string) string {
	if v, _ := headerValues(ev, name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// headerValues returns every value of header name, matched
// case-insensitively (the multi-value map first, as API Gateway fills both),
// and whether the request carried the header at all, even empty.
func headerValues(ev events.APIGatewayProxyRequest, name string) ([]string, bool) {
	found := false
	for k, v := range ev.MultiValueHeaders {
		if strings.EqualFold(k, name) {
			if len(v) > 0 {
				return v, true
			}
			found = true
		}
	}
	for k, v := range ev.Headers {
		if strings.EqualFold(k, name) {
			return []string{v}, true
		}
	}
	return nil, found
}

// Form is a decoded request body: a JSON object, or form fields (each a
// JSON string), with the validation errors found while reading it.
type Form struct {
	values map[string]json.RawMessage
	errs   apperr.Fields
}

// Form decodes the body as JSON or as form fields, by its Content-Type. An
// empty body is an empty form.
func (r *Request) Form() (*Form, error) {
	f := &Form{values: map[string]json.RawMessage{}, errs: apperr.Fields{}}
	if len(bytes.TrimSpace(r.body)) == 0 {
		return f, nil
	}
	mediaType, params, _ := mime.ParseMediaType(r.Header("Content-Type"))
	switch {
	case mediaType == "", mediaType == "application/json", strings.HasSuffix(mediaType, "+json"):
		return f, decodeJSONObject(r.body, f.values)
	case mediaType == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(r.body))
		if err == nil && !validUTF8(vals) {
			err = errors.New("invalid UTF-8 in request body")
		}
		if err != nil {
			return nil, apperr.New(apperr.Invalid, "Form parse error - "+err.Error())
		}
		f.setStrings(vals)
		return f, nil
	case mediaType == "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(r.body), params["boundary"]).ReadForm(MaxBody)
		if err != nil {
			return nil, apperr.New(apperr.Invalid, "Multipart form parse error - "+err.Error())
		}
		defer form.RemoveAll()
		f.setStrings(form.Value)
		return f, nil
	}
	return nil, route.UnsupportedMedia(mediaType)
}

func validUTF8(vals url.Values) bool {
	for k, vs := range vals {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

func (f *Form) setStrings(vals map[string][]string) {
	for k, v := range vals {
		if len(v) > 0 {
			b, _ := json.Marshal(v[len(v)-1])
			f.values[k] = b
		}
	}
}

func decodeJSONObject(body []byte, into map[string]json.RawMessage) error {
	// JSON is UTF-8 (RFC 8259); anything else is malformed, not text to
	// store with replacement characters.
	if !utf8.Valid(body) {
		return apperr.New(apperr.Invalid, "JSON parse error - invalid UTF-8 in request body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	// Numbers stay text: the fields read them exactly, and a number too
	// large for a float is the field's error, not a parse error.
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return apperr.New(apperr.Invalid, "JSON parse error - "+err.Error())
	}
	if dec.More() {
		return apperr.New(apperr.Invalid, "JSON parse error - extra data after the JSON value")
	}
	if _, ok := v.(map[string]any); !ok {
		return &apperr.Error{Code: apperr.Invalid, Fields: map[string][]string{
			"non_field_errors": {fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", jsonKind(v))},
		}}
	}
	if err := json.Unmarshal(body, &into); err != nil {
		return apperr.New(apperr.Invalid, "JSON parse error - "+err.Error())
	}
	return nil
}

func jsonKind(v any) string {
	switch v := v.(type) {
	case []any:
		return "list"
	case string:
		return "str"
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return "float"
		}
		return "int"
	case bool:
		return "bool"
	case nil:
		return "NoneType"
	}
	return "value"
}

// Has reports whether the body named field (null included).
func (f *Form) Has(field string) bool {
	_, ok := f.values[field]
	return ok
}

// Error records a validation error against field.
func (f *Form) Error(field, msg string) { f.errs.Add(field, msg) }

// Err returns the validation errors recorded, or nil.
func (f *Form) Err() error { return f.errs.Err() }

// Validation messages of the original serializers.
const (
	msgRequired  = "This field is required."
	msgNull      = "This field may not be null."
	msgBlank     = "This field may not be blank."
	msgNotString = "Not a valid string."
)

// String reads a string field. A missing required field, null, a blank
// required value, a non-string or one longer than max runes are recorded as
// errors. Numbers are taken as their text, as the original did.
func (f *Form) String(field string, required bool, max int) (string, bool) {
	raw, ok := f.values[field]
	if !ok {
		if required {
			f.Error(field, msgRequired)
		}
		return "", false
	}
	var s string
	switch t := strings.TrimSpace(string(raw)); {
	case t == "null":
		f.Error(field, msgNull)
		return "", false
	case strings.HasPrefix(t, `"`):
		if err := json.Unmarshal(raw, &s); err != nil {
			f.Error(field, msgNotString)
			return "", false
		}
	case len(t) > 0 && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9')):
		s = t
	default:
		f.Error(field, msgNotString)
		return "", false
	}
	s = strings.TrimSpace(s)
	if strings.ContainsRune(s, 0) {
		// PostgreSQL text cannot hold NUL: refuse it as DRF's CharField does.
		f.Error(field, "Null characters are not allowed.")
		return "", false
	}
	if s == "" && required {
		f.Error(field, msgBlank)
		return "", false
	}
	if max > 0 && utf8.RuneCountInString(s) > max {
		f.Error(field, fmt.Sprintf("Ensure this field has no more than %d characters.", max))
		return "", false
	}
	return s, true
}

// Password reads a password field: required, not blank, kept exactly as
// given (no trimming).
func (f *Form) Password(field string) (string, bool) {
	raw, ok := f.values[field]
	if !ok {
		f.Error(field, msgRequired)
		return "", false
	}
	var s string
	if string(bytes.TrimSpace(raw)) == "null" {
		f.Error(field, msgNull)
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		f.Error(field, msgNotString)
		return "", false
	}
	if strings.TrimSpace(s) == "" {
		f.Error(field, msgBlank)
		return "", false
	}
	if len(s) > 4096 {
		f.Error(field, "Ensure this field has no more than 4096 characters.")
		return "", false
	}
	return s, true
}

// Amount reads a required money field.
func (f *Form) Amount(field string) (money.Amount, bool) {
	raw, ok := f.values[field]
	if !ok {
		f.Error(field, msgRequired)
		return 0, false
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		f.Error(field, msgNull)
		return 0, false
	}
	a, err := money.ParseJSON(raw)
	if err != nil {
		f.Error(field, err.Error())
		return 0, false
	}
	return a, true
}

// Choice reads an optional integer field that must be one of choices.
func (f *Form) Choice(field string, choices ...int) (int, bool) {
	raw, ok := f.values[field]
	if !ok {
		return 0, false
	}
	t := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	n, err := strconv.Atoi(t)
	if err == nil {
		for _, c := range choices {
			if n == c {
				return n, true
			}
		}
	}
	f.Error(field, fmt.Sprintf("%q is not a valid choice.", t))
	return 0, false
}

// decodeBody returns the raw body bytes of ev.
func decodeBody(ev events.APIGatewayProxyRequest) ([]byte, error) {
	if !ev.IsBase64Encoded {
		return []byte(ev.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "Malformed request body encoding.")
	}
	return b, nil
}
