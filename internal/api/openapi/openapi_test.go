package openapi

import (
	"wallets/internal/route"

	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"wallets/internal/money"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// loadOpenAPI parses and validates the served document with kin-openapi.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	b, err := Served()
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
	a, errA := Served()
	b, errB := Served()
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
	if cookie.Type != "apiKey" || cookie.In != "cookie" || cookie.Name != APIInput.CookieName {
		t.Errorf("jwtCookie scheme = %+v", cookie)
	}
}

func TestOpenAPIIdempotencyKey(t *testing.T) {
	doc := loadOpenAPI(t)
	routeOps(t, doc, func(rt route.Route, m string, op *openapi3.Operation) {
		name := m + " " + rt.Path
		p := op.Parameters.GetByInAndName(openapi3.ParameterInHeader, "Idempotency-Key")
		mutating := m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch || m == http.MethodDelete
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
		d := rt.Doc
		for _, a := range d.Answers {
			if op.Responses.Status(a.Status) == nil {
				t.Errorf("%s: no %d", name, a.Status)
			}
		}
		for _, status := range []int{429, 500} {
			if op.Responses.Status(status) == nil {
				t.Errorf("%s: no %d", name, status)
			}
		}
		if !rt.Static() && op.Responses.Status(http.StatusServiceUnavailable) == nil {
			t.Errorf("%s: no 503 for an unreachable database", name)
		}
		if d.Body != "" {
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
		if d.List != route.NotList {
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
			if got := op.Parameters.GetByInAndName(openapi3.ParameterInQuery, q) != nil; got != (d.List == route.TransactionList) {
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
	// page_size takes anything (the server falls back or clamps), so its
	// schema is a plain string described in words.
	size := doc.Components.Parameters["PageSize"].Value
	if size.Schema.Value.Max != nil || size.Schema.Value.Min != nil ||
		!strings.Contains(size.Description, strconv.Itoa(APIInput.MaxPageSize)) {
		t.Errorf("page_size = %+v; want an unbounded string that states the cap %d", size.Schema.Value, APIInput.MaxPageSize)
	}
}

func TestOpenAPIMissingEntry(t *testing.T) {
	extra := route.Route{Function: "undocumented", Methods: []string{http.MethodGet}, Path: route.Prefix + "/new", Access: route.User}
	if _, err := buildOpenAPI(append(route.Routes(), extra), APIInput); err == nil || !strings.Contains(err.Error(), "undocumented") {
		t.Errorf("a route without a Doc: err = %v", err)
	}
	extra.Doc.Tag = "Service"
	if _, err := buildOpenAPI(append(route.Routes(), extra), APIInput); err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("a route documenting no answer: err = %v", err)
	}
	odd := route.Routes()
	odd[len(odd)-1].Path = "/elsewhere/openapi.json"
	if _, err := buildOpenAPI(odd, APIInput); err == nil {
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
	"Deposit": {`{"amount": "200.00", "description": "x"}`, `{"amount": 15.5}`, `{"amount": "+7"}`, `{"amount": " 0.01 "}`,
		`{"amount": ".5"}`, `{"amount": "000999999999.99"}`, `{"amount": 999999999.99}`, `{"amount": "0.10"}`},
	"Withdrawal": {`{"amount": "-150"}`, `{"amount": -0.01}`, `{"amount": "-999999999.99"}`, `{"amount": "-.05"}`},
	"Charge":     {`{"amount": 15, "description": "Compra auriculares", "wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10"}`},
	"Login":      {`{"username": "pablo", "password": "s3cure-Passw0rd"}`},
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
	"Deposit": {
		`{"amount": "-150.00"}`,
		`{"amount": "0"}`,
		`{"amount": "0.00"}`,
		`{"amount": 0}`,
		`{"amount": -1}`,
		`{"amount": "1.001"}`,
		`{"amount": "1000000000"}`,
		`{"amount": 1000000000}`,
		`{"amount": "1 0"}`,
		`{"amount": "1e3"}`,
		`{"amount": "NaN"}`,
		`{"amount": true}`,
		`{"amount": "1.00", "description": "` + strings.Repeat("x", 251) + `"}`,
		`{"description": "no amount"}`,
	},
	"Charge":     {`{"amount": "15.00"}`, `{"amount": "-15.00", "wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10"}`},
	"Withdrawal": {`{"amount": "150.00"}`, `{"amount": 150}`, `{"amount": "-0.00"}`, `{"amount": "+-1"}`, `{"amount": "-1.005"}`},
	"SignUp": {
		`{"username": "pablo", "email": "pablo@mail.com", "password": "short", "password2": "short"}`,
		`{"username": "", "email": "pablo@mail.com", "password": "s3cure-Passw0rd", "password2": "s3cure-Passw0rd"}`,
	},
	"Login": {`{"username": "", "password": "x"}`, `{"username": "` + strings.Repeat("u", 151) + `", "password": "x"}`},
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

// walkJSON calls fn with every object of a decoded JSON value.
func walkJSON(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, x := range v {
			walkJSON(x, fn)
		}
	case []any:
		for _, x := range v {
			walkJSON(x, fn)
		}
	}
}

// TestOpenAPIPortableRegexes: every pattern is one that ECMA-262 (JSON
// Schema's dialect), RE2 and Python read alike: no \p{…} classes, no
// lookarounds, no inline flags or named groups.
func TestOpenAPIPortableRegexes(t *testing.T) {
	b, _ := Served()
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	walkJSON(doc, func(m map[string]any) {
		p, ok := m["pattern"].(string)
		if !ok {
			return
		}
		n++
		for _, bad := range []string{`\p`, `\P`, `(?`, `\A`, `\z`, `\Z`, `[[:`} {
			if strings.Contains(p, bad) {
				t.Errorf("pattern %q uses %s, which not every regex dialect reads", p, bad)
			}
		}
		if _, err := regexp.Compile(p); err != nil {
			t.Errorf("pattern %q: %v", p, err)
		}
	})
	if n == 0 {
		t.Error("no patterns found")
	}
}

// TestOpenAPIAmountPattern: the amount patterns accept exactly the strings
// money.Parse reads with the operation's sign (every string of up to 5
// characters over the characters that matter, and some long ones).
func TestOpenAPIAmountPattern(t *testing.T) {
	if money.Places != 2 {
		t.Fatal("amountPattern's non-zero fraction is written for 2 places")
	}
	pos := regexp.MustCompile(amountPattern(true))
	neg := regexp.MustCompile(amountPattern(false))
	check := func(s string) {
		a, err := money.Parse(s)
		if got, want := pos.MatchString(s), err == nil && a > 0; got != want {
			t.Errorf("positive pattern matches %q: %v, money.Parse: %v, %v", s, got, a, err)
		}
		if got, want := neg.MatchString(s), err == nil && a < 0; got != want {
			t.Errorf("negative pattern matches %q: %v, money.Parse: %v, %v", s, got, a, err)
		}
	}
	alphabet := []string{"0", "1", "9", ".", "-", "+", " ", "e"}
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+c, n-1)
		}
	}
	gen("", 5)
	for _, s := range []string{"999999999.99", "0999999999.99", "1000000000", "1000000000.00", "-999999999.99",
		"-1000000000", "00000000000000001.5", "123456789", "1234567890", " \t12.5\n", "12.50 ", "0.001", "0.010",
		"-0.00", "+0.01", "1.", "-.5"} {
		check(s)
	}
}

// TestOpenAPILimits: the limits the issue found wrong come from the code.
func TestOpenAPILimits(t *testing.T) {
	doc := loadOpenAPI(t)
	prop := func(schema, field string) *openapi3.Schema {
		t.Helper()
		s := doc.Components.Schemas[schema].Value.Properties[field]
		if s == nil {
			t.Fatalf("%s.%s missing", schema, field)
		}
		return s.Value
	}
	if s := prop("Login", "username"); s.MinLength != 1 || s.MaxLength == nil || *s.MaxLength != user.MaxUsername {
		t.Errorf("login username length %d–%v, want 1–%d", s.MinLength, s.MaxLength, user.MaxUsername)
	}
	for _, f := range []string{"password", "password2"} {
		if s := prop("SignUp", f); s.MinLength != user.MinPasswordLength {
			t.Errorf("sign-up %s minLength %d, want %d", f, s.MinLength, user.MinPasswordLength)
		}
	}
	if s := prop("ChangePassword", "new_password"); s.MinLength != user.MinPasswordLength {
		t.Errorf("new_password minLength %d, want %d", s.MinLength, user.MinPasswordLength)
	}
	if s := prop("Deposit", "description"); s.MaxLength == nil || *s.MaxLength != wallet.MaxDescription {
		t.Errorf("description maxLength %v, want %d", s.MaxLength, wallet.MaxDescription)
	}
	// Each movement's examples carry its sign.
	for body, positive := range map[string]bool{"Deposit": true, "Withdrawal": false, "Charge": true} {
		for _, ex := range doc.Components.Schemas[body].Value.Examples {
			a, err := money.ParseJSON(mustJSON(t, ex.(map[string]any)["amount"]))
			if err != nil || (a > 0) != positive {
				t.Errorf("%s example amount %v (%v)", body, ex, err)
			}
		}
	}
	for name, positive := range map[string]bool{"PositiveAmount": true, "NegativeAmount": false} {
		for _, ex := range doc.Components.Schemas[name].Value.Examples {
			a, err := money.ParseJSON(mustJSON(t, ex))
			if err != nil || (a > 0) != positive {
				t.Errorf("%s example %v: %v (%v)", name, ex, a, err)
			}
		}
	}
	// The retire operation takes negative amounts, deposit and charge positive.
	for path, want := range map[string]string{
		"/wallets/customers/wallets/{uuid}/deposit":              "Deposit",
		"/wallets/customers/wallets/{uuid}/retire":               "Withdrawal",
		"/wallets/business/{business_id}/customers/transactions": "Charge",
	} {
		var op *openapi3.Operation
		if item := doc.Paths.Value(path); item != nil {
			op = item.Post
			if op == nil {
				op = item.Put
			}
		}
		if op == nil || op.RequestBody == nil || !strings.HasSuffix(op.RequestBody.Ref, "/"+want) {
			t.Errorf("%s: request body is not %s", path, want)
		}
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpenAPIViews: the response objects' schemas follow the view types,
// and a refinement of a field the view lacks fails the build.
func TestOpenAPIViews(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, c := range []struct {
		schema string
		view   any
	}{
		{"User", zero("User")}, {"Profile", zero("Profile")}, {"Wallet", zero("Wallet")},
		{"Transaction", zero("Transaction")}, {"Business", zero("Business")}, {"Health", zero("Health")},
		{"Detail", zero("Detail")}, {"WalletPage", zero("Page")},
	} {
		s := doc.Components.Schemas[c.schema].Value
		b, _ := json.Marshal(c.view)
		var fields map[string]any
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatal(err)
		}
		if len(s.Properties) != len(fields) || len(s.Required) != len(fields) {
			t.Errorf("%s: %d properties, %d required; the view has %d fields", c.schema, len(s.Properties),
				len(s.Required), len(fields))
		}
		for f := range fields {
			if s.Properties[f] == nil || !slices.Contains(s.Required, f) {
				t.Errorf("%s: field %s of the view is not a required property", c.schema, f)
			}
		}
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("refining a field the view lacks: no panic")
			} else if _, ok := r.(viewError); !ok {
				panic(r)
			}
		}()
		APIInput.fromView("Wallet", map[string]obj{"colour": {"type": "string"}}, nil)
	}()
}

// zero is the zero value of package api's view type of schema name.
func zero(name string) any { return reflect.Zero(APIInput.Views[name]).Interface() }
