package api

import (
	"wallets/internal/route"

	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// loadOpenAPI parses and validates the served document with kin-openapi.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	b, err := OpenAPIJSON()
	if err != nil {
		t.Fatalf("OpenAPIJSON: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return doc
}

func TestOpenAPIValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if doc.Info.Title != "Wallets API" || doc.Info.Version == "" {
		t.Errorf("info = %+v", doc.Info)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != route.Prefix {
		t.Errorf("servers = %+v, want one with url %s", doc.Servers, route.Prefix)
	}
}

func TestOpenAPICached(t *testing.T) {
	a, errA := OpenAPIJSON()
	b, errB := OpenAPIJSON()
	if errA != nil || errB != nil || &a[0] != &b[0] {
		t.Error("OpenAPIJSON does not return the cached encoding")
	}
	var v map[string]any
	if err := json.Unmarshal(a, &v); err != nil {
		t.Fatal(err)
	}
}

// operations lists the document's operations as "METHOD /path".
func operations(doc *openapi3.T) map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = op
		}
	}
	return ops
}

func routeOps(t *testing.T, doc *openapi3.T, fn func(rt route.Route, method string, op *openapi3.Operation)) {
	t.Helper()
	for _, rt := range route.Routes() {
		path := strings.TrimPrefix(rt.Path, route.Prefix)
		item := doc.Paths.Value(path)
		if item == nil {
			t.Errorf("%s: path %s missing", rt.Function, path)
			continue
		}
		for _, m := range rt.Methods {
			op := item.GetOperation(m)
			if op == nil {
				t.Errorf("%s: %s %s missing", rt.Function, m, path)
				continue
			}
			fn(rt, m, op)
		}
	}
}

func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	want := map[string]bool{}
	routeOps(t, doc, func(rt route.Route, m string, op *openapi3.Operation) {
		want[m+" "+strings.TrimPrefix(rt.Path, route.Prefix)] = true
		if id := rt.Function + "-" + strings.ToLower(m); op.OperationID != id {
			t.Errorf("%s %s: operationId %q, want %q", m, rt.Path, op.OperationID, id)
		}
		if op.Summary != rt.Summary {
			t.Errorf("%s %s: summary %q, want %q", m, rt.Path, op.Summary, rt.Summary)
		}
		// Path parameters: exactly the path's placeholders, required.
		item := doc.Paths.Value(strings.TrimPrefix(rt.Path, route.Prefix))
		var got []string
		for _, p := range append(item.Parameters, op.Parameters...) {
			if p.Value.In == openapi3.ParameterInPath {
				if !p.Value.Required {
					t.Errorf("%s: path parameter %s not required", rt.Function, p.Value.Name)
				}
				got = append(got, p.Value.Name)
			}
		}
		var placeholders []string
		for _, seg := range strings.Split(rt.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				placeholders = append(placeholders, strings.Trim(seg, "{}"))
			}
		}
		if !slices.Equal(got, placeholders) {
			t.Errorf("%s: path parameters %v, want %v", rt.Function, got, placeholders)
		}
	})
	for op := range operations(doc) {
		if !want[op] {
			t.Errorf("operation %s is not a route", op)
		}
	}
	if got := len(operations(doc)); got != len(want) {
		t.Errorf("%d operations, want %d", got, len(want))
	}
}

func TestOpenAPISecurity(t *testing.T) {
	doc := loadOpenAPI(t)
	if len(doc.Security) != 0 {
		t.Errorf("document-wide security %v; security is per operation", doc.Security)
	}
	routeOps(t, doc, func(rt route.Route, m string, op *openapi3.Operation) {
		name := m + " " + rt.Path
		if rt.Access == route.Public {
			if op.Security != nil && len(*op.Security) > 0 {
				t.Errorf("%s: public route has security %v", name, *op.Security)
			}
			return
		}
		if op.Security == nil || len(*op.Security) == 0 {
			t.Errorf("%s: no security", name)
			return
		}
		anonymous, schemes := false, map[string]bool{}
		for _, req := range *op.Security {
			if len(req) == 0 {
				anonymous = true
			}
			for s := range req {
				schemes[s] = true
			}
		}
		if anonymous != (rt.Access == route.Optional) {
			t.Errorf("%s: anonymous access %v, route access %s", name, anonymous, rt.Access)
		}
		if !schemes["jwt"] || !schemes["jwtCookie"] {
			t.Errorf("%s: security schemes %v, want jwt and jwtCookie", name, schemes)
		}
		if rt.Access != route.Optional {
			r := op.Responses.Status(http.StatusUnauthorized)
			if r == nil || r.Value.Headers["WWW-Authenticate"] == nil {
				t.Errorf("%s: no 401 with WWW-Authenticate", name)
			}
		}
		if rt.Access == route.Customer || rt.Access == route.Business {
			if op.Responses.Status(http.StatusForbidden) == nil {
				t.Errorf("%s: no 403", name)
			}
		}
	})
	jwt := doc.Components.SecuritySchemes["jwt"].Value
	if jwt.Type != "apiKey" || jwt.In != "header" || jwt.Name != "Authorization" {
		t.Errorf("jwt scheme = %+v", jwt)
	}
	cookie := doc.Components.SecuritySchemes["jwtCookie"].Value
	if cookie.Type != "apiKey" || cookie.In != "cookie" || cookie.Name != CookieName {
		t.Errorf("jwtCookie scheme = %+v", cookie)
	}
}

func TestOpenAPIIdempotencyKey(t *testing.T) {
	doc := loadOpenAPI(t)
	routeOps(t, doc, func(rt route.Route, m string, op *openapi3.Operation) {
		name := m + " " + rt.Path
		p := op.Parameters.GetByInAndName(openapi3.ParameterInHeader, "Idempotency-Key")
		mutating := m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
		if (p != nil) != mutating {
			t.Fatalf("%s: Idempotency-Key parameter present %v", name, p != nil)
		}
		if !mutating {
			return
		}
		for _, key := range []string{"k", "order-42", strings.Repeat("x", 255), "a b~"} {
			if err := p.Schema.Value.VisitJSON(key); err != nil {
				t.Errorf("%s: key %q refused: %v", name, key, err)
			}
		}
		for _, key := range []string{"", strings.Repeat("x", 256), "tab\there", "ñ"} {
			if err := p.Schema.Value.VisitJSON(key); err == nil {
				t.Errorf("%s: key %q accepted", name, key)
			}
		}
		for _, status := range []int{400, 409, 413, 422} {
			if op.Responses.Status(status) == nil {
				t.Errorf("%s: no %d", name, status)
			}
		}
	})
}

func TestOpenAPIResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	routeOps(t, doc, func(rt route.Route, m string, op *openapi3.Operation) {
		name := m + " " + rt.Path
		d := opDocs()[rt.Function]
		for _, a := range d.answers {
			if op.Responses.Status(a.status) == nil {
				t.Errorf("%s: no %d", name, a.status)
			}
		}
		for _, status := range []int{429, 500} {
			if op.Responses.Status(status) == nil {
				t.Errorf("%s: no %d", name, status)
			}
		}
		if !d.noDB && op.Responses.Status(http.StatusServiceUnavailable) == nil {
			t.Errorf("%s: no 503 for an unreachable database", name)
		}
		if d.body != "" {
			rb := op.RequestBody.Value
			for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
				if rb.Content.Get(ct) == nil {
					t.Errorf("%s: body does not take %s", name, ct)
				}
			}
			if op.Responses.Status(415) == nil || op.Responses.Status(400) == nil {
				t.Errorf("%s: no 400/415", name)
			}
		} else if op.RequestBody != nil {
			t.Errorf("%s: unexpected request body", name)
		}
		if d.list != notList {
			for _, q := range []string{"page", "page_size", "cursor"} {
				if op.Parameters.GetByInAndName(openapi3.ParameterInQuery, q) == nil {
					t.Errorf("%s: no %s parameter", name, q)
				}
			}
			if op.Responses.Status(404) == nil {
				t.Errorf("%s: no 404 for an invalid page", name)
			}
		}
		for _, q := range []string{"status", "type", "created_after", "created_before"} {
			if got := op.Parameters.GetByInAndName(openapi3.ParameterInQuery, q) != nil; got != (d.list == txList) {
				t.Errorf("%s: %s parameter present %v", name, q, got)
			}
		}
	})
	login := doc.Paths.Value("/users/login").Post.Responses.Status(429)
	if login == nil || login.Value.Headers["Retry-After"] == nil {
		t.Error("login: no 429 with Retry-After")
	}
	health := doc.Paths.Value("/health").Get.Responses.Status(503)
	if health == nil {
		t.Error("health: no 503")
	}
	size := doc.Components.Parameters["PageSize"].Value.Schema.Value
	if size.Max == nil || *size.Max != MaxPageSize {
		t.Errorf("page_size maximum = %v, want %d", size.Max, MaxPageSize)
	}
}

func TestOpenAPIMissingEntry(t *testing.T) {
	extra := route.Route{Function: "undocumented", Methods: []string{http.MethodGet}, Path: route.Prefix + "/new", Access: route.User}
	if _, err := buildOpenAPI(append(route.Routes(), extra)); err == nil || !strings.Contains(err.Error(), "undocumented") {
		t.Errorf("a route without an opDocs entry: err = %v", err)
	}
	if _, err := buildOpenAPI(route.Routes()[1:]); err == nil {
		t.Error("an opDocs entry without a route: no error")
	}
	odd := route.Routes()
	odd[len(odd)-1].Path = "/elsewhere/openapi.json"
	if _, err := buildOpenAPI(odd); err == nil {
		t.Error("a route outside the base path: no error")
	}
}

// The objects of API.md (its elided uuids and dates filled in).
var apiExamples = map[string][]string{
	"User": {
		`{"id": 7, "username": "pablo", "email": "pablo@mail.com", "first_name": "Pablo", "last_name": "Moreno", "profile": {"type": 1}}`,
	},
	"Wallet": {
		`{"uuid": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "balance": "0.00", "created_date": "2021-04-20T09:56:34.583945Z"}`,
		`{"uuid": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "balance": "200.00", "created_date": "2021-04-20T09:56:34.583945Z"}`,
	},
	"Business": {`{"id": 4, "name": "Media Market"}`},
	"Transaction": {
		`{"uuid": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "amount": "15.00", "description": "Compra auriculares", "status": 1, "type": 2, "business": 4, "wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "created_date": "2021-04-21T10:00:00.000000Z"}`,
		`{"uuid": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "amount": "-150.00", "description": "", "status": 2, "type": 2, "business": null, "wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "created_date": "2021-04-21T10:00:00.000000Z"}`,
	},
	"TransactionPage": {
		`{"count": 123, "next": "https://host/api/v1/...?page=3", "previous": "https://host/api/v1/...?page=1", "results": [
			{"uuid": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "amount": "15.00", "description": "Compra auriculares", "status": 1, "type": 2, "business": 4, "wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "created_date": "2021-04-21T10:00:00.000000Z"}]}`,
		`{"count": null, "next": null, "previous": null, "results": []}`,
	},
	"WalletPage":   {`{"count": 0, "next": null, "previous": null, "results": []}`},
	"BusinessPage": {`{"count": 1, "next": null, "previous": null, "results": [{"id": 4, "name": "Media Market"}]}`},
	"LoginResponse": {
		`{"token": "eyJ.x.y", "user": {"id": 7, "username": "pablo", "email": "pablo@mail.com", "first_name": "Pablo", "last_name": "Moreno", "profile": {"type": 2}}}`,
	},
	"Health": {`{"status": "ok", "database": "ok"}`, `{"status": "unavailable", "database": "unreachable"}`},
	"Detail": {`{"detail": "Authentication credentials were not provided."}`},
	"BadRequest": {
		`{"password": ["Password mismatch"]}`,
		`{"non_field_errors": ["Unable to log in with provided credentials."]}`,
		`{"detail": "JSON parse error - unexpected EOF"}`,
	},
	"Movement": {`{"amount": "200.00", "description": "x"}`, `{"amount": 15.5}`, `{"amount": "-150"}`},
	"Charge":   {`{"amount": 15, "description": "Compra auriculares", "wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10"}`},
	"Login":    {`{"username": "pablo", "password": "s3cure-Passw0rd"}`},
	"SignUp": {
		`{"username": "pablo", "email": "pablo@mail.com", "password": "s3cure-Passw0rd", "password2": "s3cure-Passw0rd", "type": 2}`,
	},
}

// Bodies the schemas refuse.
var apiCounterExamples = map[string][]string{
	"Wallet": {
		`{"uuid": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "balance": 0, "created_date": "2021-04-20T09:56:34.583945Z"}`,
		`{"uuid": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "balance": "0.0", "created_date": "2021-04-20T09:56:34.583945Z"}`,
		`{"uuid": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "balance": "0.00"}`,
	},
	"Transaction": {
		`{"uuid": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "amount": "15.00", "description": "", "status": 4, "type": 2, "business": null, "wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "created_date": "2021-04-21T10:00:00Z"}`,
		`{"uuid": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "amount": "15.00", "description": "", "status": 1, "type": 3, "business": null, "wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "created_date": "2021-04-21T10:00:00Z"}`,
		`{"uuid": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "amount": "15.00", "description": "", "status": 1, "type": 2, "business": "4", "wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "created_date": "2021-04-21T10:00:00Z"}`,
	},
	"User":       {`{"id": 7, "username": "pablo", "email": "pablo@mail.com", "first_name": "Pablo", "last_name": "Moreno", "profile": {"type": 3}}`},
	"WalletPage": {`{"count": "1", "next": null, "previous": null, "results": []}`},
	"BadRequest": {`{"password": "Password mismatch"}`},
	"Movement": {
		`{"amount": "1e3"}`,
		`{"amount": "NaN"}`,
		`{"amount": true}`,
		`{"amount": "1.00", "description": "` + strings.Repeat("x", 251) + `"}`,
		`{"description": "no amount"}`,
	},
	"Charge": {`{"amount": "15.00"}`},
}

func TestOpenAPIExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	check := func(name, body string, valid bool) {
		t.Helper()
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Fatalf("no schema %s", name)
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s example: %v", name, err)
		}
		// The document is 3.1, so its schemas are JSON Schema 2020-12.
		err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
		if valid && err != nil {
			t.Errorf("%s refuses %s: %v", name, body, err)
		}
		if !valid && err == nil {
			t.Errorf("%s accepts %s", name, body)
		}
	}
	for name, bodies := range apiExamples {
		for _, b := range bodies {
			check(name, b, true)
		}
	}
	for name, bodies := range apiCounterExamples {
		for _, b := range bodies {
			check(name, b, false)
		}
	}
	// The examples the document carries validate too.
	for name, ref := range doc.Components.Schemas {
		for _, ex := range ref.Value.Examples {
			b, _ := json.Marshal(ex)
			check(name, string(b), true)
		}
	}
}
