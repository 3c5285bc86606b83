// Package openapi generates the OpenAPI 3.1 document of the API (served at
// GET /api/v1/openapi.json) from the route table and the view types of
// package api, which hands them over (API) and serves the encoding.
package openapi

import (
	"wallets/internal/route"

	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"wallets/internal/money"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// The OpenAPI document is generated from the route table: each route gives
// its paths, methods, operation id, summary, path parameters and security,
// and its Doc its request body and answers; the components are written out
// below. A route whose Doc lacks a tag or an answer is an error.
//
// Schema dialect: the document is OpenAPI 3.1.0, so schemas are JSON Schema
// 2020-12. Nullable values use type arrays (`"type": ["integer", "null"]`,
// not 3.0's `nullable`) and examples use the array keyword `examples`.
// kin-openapi v0.153 (which the tests validate with) loads and validates
// these 3.1 constructs; the document sticks to keywords that both its 3.1
// validator and its legacy 3.0 validator understand (type arrays, enum,
// anyOf, pattern, format, min/max) and avoids $ref siblings, const and
// $defs, so every validator agrees on what it means.
//
// Paths are written without the base path: the one server is "/api/v1",
// and every route's Path must start with route.Prefix.

// APIVersion is the version of the contract in the document's info.
const APIVersion = "1.0.0"

// JSON returns the OpenAPI 3.1 document of routes, encoded, its response
// objects' schemas reflected from a's view types and its limits a's.
func JSON(routes []route.Route, a API) ([]byte, error) {
	doc, err := buildOpenAPI(routes, a)
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// API is what the document takes from package api, which imports this
// package (so this one cannot import it): the Go types of the response
// objects the handlers encode, and the limits the handlers apply.
type API struct {
	// Views are the view types by component schema name: Profile, User,
	// Wallet, Transaction, Business, Event, Webhook, NewWebhook,
	// DeadLetter, Health and Detail, and Page, the body of every list
	// (the template of the …Page schemas).
	Views map[string]reflect.Type
	// CookieName is the cookie login sets to the token.
	CookieName string
	// DefaultPageSize and MaxPageSize are the page sizes of the lists.
	DefaultPageSize, MaxPageSize int
	// MaxWebhookURL is the longest webhook URL accepted.
	MaxWebhookURL int
}

type obj = map[string]any

func ref(kind, name string) obj { return obj{"$ref": "#/components/" + kind + "/" + name} }

func schemaRef(name string) obj { return ref("schemas", name) }

func jsonContent(schema obj) obj { return obj{"application/json": obj{"schema": schema}} }

// pathParams are the schemas of the {param} placeholders of route paths.
func pathParams() map[string]obj {
	return map[string]obj{
		"uuid": {"description": "A uuid in its canonical 36-character form; a malformed one is a 404.",
			"schema": schemaRef("UUID")},
		"business_id": {"description": "The id of an active business (user type 2).",
			"schema": obj{"type": "integer", "format": "int64", "minimum": 1}},
	}
}

// buildOpenAPI returns the document of routes.
func buildOpenAPI(routes []route.Route, a API) (doc obj, err error) {
	defer func() {
		if r := recover(); r != nil {
			ve, ok := r.(viewError)
			if !ok {
				panic(r)
			}
			doc, err = nil, fmt.Errorf("openapi: %s", ve.msg)
		}
	}()
	paths := obj{}
	opIDs := map[string]bool{}
	for _, rt := range routes {
		d := rt.Doc
		if d.Tag == "" {
			return nil, fmt.Errorf("openapi: route %s (%s) documents no tag", rt.Function, rt.Path)
		}
		if !strings.HasPrefix(rt.Path, route.Prefix+"/") {
			return nil, fmt.Errorf("openapi: route %s: path %q is not under %s", rt.Function, rt.Path, route.Prefix)
		}
		if d.Body != "" && !rt.Mutates() {
			return nil, fmt.Errorf("openapi: route %s reads a body but does not mutate", rt.Function)
		}
		if len(d.Answers) == 0 {
			return nil, fmt.Errorf("openapi: route %s documents no answer", rt.Function)
		}
		path := strings.TrimPrefix(rt.Path, route.Prefix)
		item, _ := paths[path].(obj)
		if item == nil {
			params, err := pathParameters(path)
			if err != nil {
				return nil, fmt.Errorf("openapi: route %s: %w", rt.Function, err)
			}
			item = obj{"description": "A trailing slash is accepted and means the same path. " +
				"Methods not listed here answer 405 (see the MethodNotAllowed response)."}
			if len(params) > 0 {
				item["parameters"] = params
			}
			paths[path] = item
		}
		if len(rt.Methods) == 0 {
			return nil, fmt.Errorf("openapi: route %s has no methods", rt.Function)
		}
		for _, m := range rt.Methods {
			key := strings.ToLower(m)
			switch m {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			default:
				return nil, fmt.Errorf("openapi: route %s: unsupported method %s", rt.Function, m)
			}
			if _, dup := item[key]; dup {
				return nil, fmt.Errorf("openapi: %s %s is served by two routes", m, rt.Path)
			}
			op := operation(rt, m)
			id := op["operationId"].(string)
			if opIDs[id] {
				return nil, fmt.Errorf("openapi: duplicate operationId %s", id)
			}
			opIDs[id] = true
			item[key] = op
		}
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":       "Wallets API",
			"version":     APIVersion,
			"description": infoDescription,
		},
		"servers":    []any{obj{"url": route.Prefix}},
		"tags":       tags(),
		"paths":      paths,
		"components": a.components(),
	}, nil
}

const infoDescription = "Customers keep wallets, deposit and withdraw money and open charges at businesses; " +
	"businesses collect them. Bodies are JSON or form-encoded. Amounts are decimal strings with exactly two " +
	"decimals. Every list is paginated (`page`, `page_size`, or `cursor`). Every POST, PUT, PATCH and DELETE takes an " +
	"`Idempotency-Key`. A trailing slash on any path is accepted. Unknown paths answer 404 and known paths with " +
	"another method 405. Gateway faults answer 502 or 504 with a `detail`."

func tags() []any {
	return []any{
		obj{"name": "Users", "description": "Accounts and authentication."},
		obj{"name": "Wallets", "description": "Customers' (type 1) wallets and charges."},
		obj{"name": "Businesses", "description": "The business directory and businesses' (type 2) wallet and charges."},
		obj{"name": "Events", "description": "What happened to the caller's money: the events list and signed webhooks."},
		obj{"name": "Service", "description": "Health, this document and its readable rendering."},
	}
}

// pathParameters returns the path parameters of a path template.
func pathParameters(path string) ([]any, error) {
	var params []any
	for _, seg := range strings.Split(path, "/") {
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
			continue
		}
		name := seg[1 : len(seg)-1]
		p, ok := pathParams()[name]
		if !ok {
			return nil, fmt.Errorf("path parameter {%s} has no schema in pathParams", name)
		}
		param := obj{"name": name, "in": "path", "required": true}
		for k, v := range p {
			param[k] = v
		}
		params = append(params, param)
	}
	return params, nil
}

// operation builds the operation of method m of route rt.
func operation(rt route.Route, m string) obj {
	d := rt.Doc
	op := obj{
		"operationId": rt.Function + "-" + strings.ToLower(m),
		"summary":     rt.Summary,
		"tags":        []any{d.Tag},
	}
	if desc := operationDescription(rt); desc != "" {
		op["description"] = desc
	}
	jwt, cookie := obj{"jwt": []any{}}, obj{"jwtCookie": []any{}}
	switch rt.Access {
	case route.Public:
	case route.Optional:
		op["security"] = []any{obj{}, jwt, cookie}
	default:
		op["security"] = []any{jwt, cookie}
	}

	var params []any
	if rt.Mutates() {
		params = append(params, ref("parameters", "IdempotencyKey"))
	}
	if d.List != route.NotList {
		params = append(params, ref("parameters", "Page"), ref("parameters", "PageSize"), ref("parameters", "Cursor"))
	}
	if d.List == route.TransactionList {
		params = append(params, ref("parameters", "Status"), ref("parameters", "Type"),
			ref("parameters", "CreatedAfter"), ref("parameters", "CreatedBefore"))
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if d.Body != "" {
		op["requestBody"] = ref("requestBodies", d.Body)
	}
	op["responses"] = responses(rt)
	return op
}

func operationDescription(rt route.Route) string {
	d := rt.Doc
	var parts []string
	if d.Description != "" {
		parts = append(parts, d.Description)
	}
	switch rt.Access {
	case route.Optional:
		parts = append(parts, "Authentication is optional.")
	case route.User:
		parts = append(parts, "For any logged-in user.")
	case route.Customer:
		parts = append(parts, "For customers (type 1) only.")
	case route.Business:
		parts = append(parts, "For businesses (type 2) only.")
	}
	return strings.Join(parts, " ")
}

// responses builds the responses of route rt: its answers, its own refusals
// and the refusals its kind shares.
func responses(rt route.Route) obj {
	why := refusals(rt)
	out := answers(rt)
	statuses := make([]int, 0, len(why))
	for s := range why {
		statuses = append(statuses, s)
	}
	sort.Ints(statuses)
	for _, status := range statuses {
		key := strconv.Itoa(status)
		if _, taken := out[key]; taken {
			// health's 503 is an answer of its own.
			continue
		}
		schema := schemaRef("Detail")
		if status == http.StatusBadRequest {
			schema = schemaRef("BadRequest")
		}
		r := obj{"description": strings.Join(why[status], " "), "content": jsonContent(schema)}
		switch status {
		case http.StatusUnauthorized:
			r["headers"] = obj{"WWW-Authenticate": ref("headers", "WWWAuthenticate")}
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			r["headers"] = obj{"Retry-After": ref("headers", "RetryAfter")}
		}
		out[key] = r
	}
	out["5XX"] = ref("responses", "GatewayFault")
	return out
}

// refusals are the error answers of route rt by status: its own first, then
// the ones every route of its kind shares.
func refusals(rt route.Route) map[int][]string {
	d := rt.Doc
	why := map[int][]string{}
	add := func(status int, s string) { why[status] = append(why[status], s) }
	if rt.Access != route.Public && rt.Access != route.Optional {
		add(401, "No credentials, an invalid token or an expired one: "+
			"`{\"detail\": \"Authentication credentials were not provided.\"}` (or `\"Invalid token.\"`, "+
			"`\"Signature has expired.\"`). A token stops working after logout, a password change and the "+
			"account's deletion.")
	}
	switch rt.Access {
	case route.Customer:
		add(403, "The caller is not a customer (type 1): "+
			"`{\"detail\": \"You do not have permission to perform this action.\"}`.")
	case route.Business:
		add(403, "The caller is not a business (type 2): "+
			"`{\"detail\": \"You do not have permission to perform this action.\"}`.")
	}
	if d.Body != "" {
		add(400, "Validation failed: `{\"<field>\": [\"<message>\"]}` (`non_field_errors` for errors not tied to "+
			"one field), or the body is malformed: `{\"detail\": \"JSON parse error - ...\"}`.")
	}
	if d.List == route.TransactionList {
		add(400, "A filter is invalid: `{\"status\": [\"Select a valid choice. ...\"]}`, "+
			"`{\"created_after\": [\"Enter a valid date/time.\"]}`.")
	}
	if d.List != route.NotList {
		add(400, "The cursor is invalid: `{\"detail\": \"Invalid cursor\"}`.")
		add(404, "The page is out of range: `{\"detail\": \"Invalid page.\"}`.")
	}
	if rt.Mutates() {
		add(400, "The Idempotency-Key header is not 1 to 255 printable ASCII characters.")
		add(409, "A request with this Idempotency-Key is still in progress.")
		add(413, "The body is larger than 64 KiB.")
		add(415, "The body is not JSON, form-encoded or a multipart form: "+
			"`{\"detail\": \"Unsupported media type \\\"text/plain\\\" in request.\"}`.")
		add(422, "The Idempotency-Key was used with a different request: "+
			"`{\"detail\": \"Idempotency-Key reused with a different request.\"}`.")
	}
	for status, s := range d.Refusals {
		// A route's own refusals come first.
		why[status] = append([]string{s}, why[status]...)
	}
	add(429, "The gateway throttled the call: `{\"detail\": \"Request was throttled.\"}`.")
	add(500, "A server fault: `{\"detail\": \"A server error occurred.\"}`, never with internals.")
	if !rt.Static() {
		add(503, "The database cannot be reached: "+
			"`{\"detail\": \"Service temporarily unavailable, try again later.\"}`; retry later (with the same "+
			"Idempotency-Key, safely).")
	}
	if rt.Access != route.Public {
		add(503, "The authorizer could not check the token (the database is unreachable).")
	}
	return why
}

// answers are the responses route rt gives by design, by status.
func answers(rt route.Route) obj {
	d := rt.Doc
	out := obj{}
	for _, a := range d.Answers {
		r := obj{"description": a.Description}
		if a.Schema != "" {
			r["content"] = jsonContent(schemaRef(a.Schema))
			if a.MediaType != "" {
				r["content"] = obj{a.MediaType: obj{"schema": schemaRef(a.Schema)}}
			}
		}
		headers := obj{}
		for k, name := range a.Headers {
			headers[k] = ref("headers", name)
		}
		if rt.Mutates() && a.Status < 300 {
			headers["Idempotent-Replayed"] = ref("headers", "IdempotentReplayed")
		}
		if len(headers) > 0 {
			r["headers"] = headers
		}
		out[strconv.Itoa(a.Status)] = r
	}
	return out
}

func (a API) components() obj {
	return obj{
		"securitySchemes": obj{
			// API Gateway's authorizer takes "JWT <token>" (the original
			// service's prefix) as well as "Bearer <token>"; an http bearer
			// scheme could not say the first, so the header is an apiKey.
			"jwt": obj{"type": "apiKey", "in": "header", "name": "Authorization",
				"description": "`JWT <token>` or `Bearer <token>`, the token from `POST /users/login`."},
			"jwtCookie": obj{"type": "apiKey", "in": "cookie", "name": a.CookieName,
				"description": "The `jwt` cookie that login sets."},
		},
		"schemas":       a.schemaComponents(),
		"parameters":    a.parameterComponents(),
		"requestBodies": requestBodyComponents(),
		"headers":       headerComponents(),
		"responses":     responseComponents(),
	}
}

func str(extra obj) obj {
	s := obj{"type": "string"}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func object(required []string, props obj, extra obj) obj {
	s := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		r := make([]any, len(required))
		for i, v := range required {
			r[i] = v
		}
		s["required"] = r
	}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

// Examples of the objects, as API.md gives them.
var (
	exampleUser = obj{"id": 7, "username": "pablo", "email": "pablo@mail.com", "first_name": "Pablo",
		"last_name": "Moreno", "profile": obj{"type": 1}}
	exampleWallet = obj{"uuid": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "balance": "0.00",
		"created_date": "2021-04-20T09:56:34.583945Z"}
	exampleTransaction = obj{"uuid": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "amount": "15.00",
		"description": "Compra auriculares", "status": 1, "type": 2, "business": 4,
		"wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "created_date": "2021-04-21T10:00:00.000000Z"}
	exampleBusiness = obj{"id": 4, "name": "Media Market"}
	exampleEvent    = obj{"id": "9f0c2b9e-2d7e-4c51-8f37-5b1f0a3d6e21", "type": "charge.created",
		"created": "2021-04-21T10:00:00.000000Z", "data": exampleTransaction}
)

func (a API) schemaComponents() obj {
	amountDesc := fmt.Sprintf("A decimal string with exactly two decimals and at most %d digits in all.", money.MaxDigits)
	schemas := obj{
		"Amount": str(obj{"pattern": `^-?\d+\.\d{2}$`, "description": amountDesc,
			"examples": []any{"200.00", "-150.00"}}),
		"PositiveAmount": amountInput(true),
		"NegativeAmount": amountInput(false),
		"UUID":           str(obj{"format": "uuid", "examples": []any{"e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10"}}),
		"Timestamp":      str(obj{"format": "date-time", "examples": []any{"2021-04-20T09:56:34.583945Z"}}),
		"LoginResponse": object([]string{"token", "user"}, obj{
			"token": str(obj{"description": "A JWT: send it as `Authorization: JWT <token>` or `Bearer <token>`."}),
			"user":  schemaRef("User"),
		}, nil),
		"OpenAPIDocument": obj{"type": "object", "description": "An OpenAPI 3.1 document."},
		"HTMLPage":        obj{"type": "string", "description": "An HTML page."},
		"ValidationError": obj{"type": "object", "minProperties": 1,
			"additionalProperties": obj{"type": "array", "minItems": 1, "items": str(nil)},
			"description":          "Messages by field; `non_field_errors` holds those not tied to one field.",
			"examples":             []any{obj{"password": []any{"Password mismatch"}}}},
		"BadRequest": obj{"anyOf": []any{schemaRef("ValidationError"), schemaRef("Detail")}},
	}
	for k, v := range a.inputSchemas() {
		schemas[k] = v
	}
	for k, v := range a.viewSchemaComponents() {
		schemas[k] = v
	}
	return schemas
}

func (a API) parameterComponents() obj {
	return obj{
		"IdempotencyKey": obj{"name": "Idempotency-Key", "in": "header", "required": false,
			"description": "Scoped to the caller. A repeat with the same key and the same request answers the first " +
				"response again (with `Idempotent-Replayed: true`) without doing the work twice; the same key with " +
				"another request is a 422; a repeat while the first is in progress is a 409. Keys are kept at least " +
				"24 hours.",
			"schema": str(obj{"minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"})},
		"Page": obj{"name": "page", "in": "query", "allowEmptyValue": true,
			"description": "1-based page number, or `last`; empty means the first page. Anything else (0, a " +
				"number past the last page, text) is a 404, unless `cursor` is given: then `page` is ignored, " +
				"whatever it is. (So the schema is any string.)",
			"schema": str(obj{"examples": []any{"1", "2", "last"}})},
		"PageSize": obj{"name": "page_size", "in": "query", "allowEmptyValue": true,
			"description": fmt.Sprintf("Items per page, %d by default; any value is accepted: one that is not a "+
				"whole number, or is less than 1, means %d, and one larger than %d means %d.",
				a.DefaultPageSize, a.DefaultPageSize, a.MaxPageSize, a.MaxPageSize),
			"schema": str(obj{"examples": []any{strconv.Itoa(a.DefaultPageSize), strconv.Itoa(a.MaxPageSize)}})},
		"Cursor": obj{"name": "cursor", "in": "query", "allowEmptyValue": true,
			"description": "An opaque cursor from a `next` or `previous` link, empty for the first page: " +
				"constant-time deep paging. It takes precedence over `page`; cursor pages have a null `count`.",
			"schema": str(nil)},
		"EventType": obj{"name": "type", "in": "query", "allowEmptyValue": true,
			"description": "Only events of this type; empty means any; another value is a 400.",
			"schema":      obj{"type": "string", "enum": eventTypeEnum()}},
		"Status": obj{"name": "status", "in": "query", "allowEmptyValue": true,
			"description": "1 pending, 2 accepted, 3 rejected; empty means any.",
			"schema":      obj{"type": "integer", "enum": []any{1, 2, 3}}},
		"Type": obj{"name": "type", "in": "query", "allowEmptyValue": true,
			"description": "1 deposit, 2 debit; empty means any.",
			"schema":      obj{"type": "integer", "enum": []any{1, 2}}},
		"CreatedAfter": obj{"name": "created_after", "in": "query", "allowEmptyValue": true,
			"description": "Only transactions created at or after this time (RFC 3339" + timeFilterWords,
			"schema":      timeFilter()},
		"CreatedBefore": obj{"name": "created_before", "in": "query", "allowEmptyValue": true,
			"description": "Only transactions created at or before this time (RFC 3339" + timeFilterWords,
			"schema":      timeFilter()},
	}
}

const timeFilterWords = "; an unescaped `+` of the offset, which arrives as a space, is read as `+`); " +
	"empty means no bound; an invalid time is a 400."

// timeFilter is the schema of a created_after/created_before value: an RFC
// 3339 date-time as Go's time.RFC3339Nano reads it, the offset's sign
// possibly a space (an unescaped "+"). The date's ranges are checked by the
// server (a 400), not by the pattern.
func timeFilter() obj {
	return str(obj{
		"pattern":  `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+ -][0-9]{2}:[0-9]{2})$`,
		"examples": []any{"2021-04-20T09:56:34.583945Z", "2021-04-20T11:56:34+02:00"},
	})
}

// text is the schema of a string field of a body read by Form.String: a
// JSON number is taken as its text, as the original's CharField did.
func text(extra obj) obj {
	s := obj{"type": []any{"string", "number"}}
	for k, v := range extra {
		s[k] = v
	}
	desc, _ := extra["description"].(string)
	s["description"] = strings.TrimSpace(desc + " A number is taken as its text.")
	return s
}

// formBody is a request body of schema, as JSON or as form fields (the
// original service took both; multipart forms are accepted too).
func formBody(schema string, required bool, description string) obj {
	s := schemaRef(schema)
	return obj{"required": required, "description": description, "content": obj{
		"application/json":                  obj{"schema": s},
		"application/x-www-form-urlencoded": obj{"schema": s},
		"multipart/form-data":               obj{"schema": s},
	}}
}

func requestBodyComponents() obj {
	return obj{
		"SignUp": formBody("SignUp", true, "The new account."),
		"Login":  formBody("Login", true, "The credentials."),
		"ProfileUpdate": formBody("ProfileUpdate", false,
			"The fields to change; `email` and `type` are read-only and ignored."),
		"ChangePassword": formBody("ChangePassword", true, "The old password and the new one, twice."),
		"Deposit":        formBody("Deposit", true, "The amount to deposit (positive)."),
		"Withdrawal":     formBody("Withdrawal", true, "The amount to withdraw, written negative."),
		"Charge":         formBody("Charge", true, "The charge to open."),
		"Webhook":        formBody("WebhookCreate", true, "The endpoint to register."),
	}
}

// inputSchemas are the schemas of the request bodies.
func (a API) inputSchemas() obj {
	username := text(obj{"maxLength": user.MaxUsername, "minLength": 1,
		"description": "Any text that is not blank, without control or format characters (Unicode Cc, Cf); " +
			"stored NFKC-normalized, surrounding spaces trimmed."})
	name := text(obj{"maxLength": user.MaxName})
	// Form.Password: required, not blank, at most maxPassword bytes.
	password := func(minLength int, description string) obj {
		return str(obj{"minLength": minLength, "maxLength": maxPassword, "description": description +
			fmt.Sprintf(" Kept exactly as given (not trimmed); not blank; at most %d bytes of UTF-8.", maxPassword)})
	}
	current := password(1, "The current password.")
	newPassword := password(user.MinPasswordLength, fmt.Sprintf("At least %d characters, not entirely numeric, "+
		"not a commonly used password and not too similar to the username or email.", user.MinPasswordLength))
	repeat := password(user.MinPasswordLength, "The new password again; it must be equal.")
	description := text(obj{"maxLength": wallet.MaxDescription,
		"description": "Optional; surrounding spaces are trimmed."})
	return obj{
		"SignUp": object([]string{"username", "email", "password", "password2"}, obj{
			"username":   username,
			"email":      str(obj{"format": "email", "maxLength": user.MaxEmail}),
			"first_name": name,
			"last_name":  name,
			"password":   newPassword,
			"password2":  repeat,
			"type": obj{"type": []any{"integer", "string"}, "enum": []any{1, 2, "1", "2"}, "default": 1,
				"description": "1 customer (the default), 2 business; as a number or a string."},
		}, obj{"examples": []any{obj{"username": "pablo", "email": "pablo@mail.com", "first_name": "Pablo",
			"last_name": "Moreno", "password": "s3cure-Passw0rd", "password2": "s3cure-Passw0rd"}}}),
		"Login": object([]string{"username", "password"}, obj{
			"username": text(obj{"minLength": 1, "maxLength": user.MaxUsername,
				"description": "The username as signed up (NFKC-normalized, surrounding spaces trimmed)."}),
			"password": current,
		}, obj{"examples": []any{obj{"username": "pablo", "password": "s3cure-Passw0rd"}}}),
		"ProfileUpdate": object(nil, obj{
			"username":   username,
			"first_name": name,
			"last_name":  name,
		}, nil),
		"ChangePassword": object([]string{"old_password", "new_password", "new_password2"}, obj{
			"old_password":  current,
			"new_password":  newPassword,
			"new_password2": repeat,
		}, nil),
		"Deposit": object([]string{"amount"}, obj{
			"amount":      schemaRef("PositiveAmount"),
			"description": description,
		}, obj{"examples": []any{obj{"amount": "200.00", "description": "Nómina"}}}),
		"Withdrawal": object([]string{"amount"}, obj{
			"amount":      schemaRef("NegativeAmount"),
			"description": description,
		}, obj{"examples": []any{obj{"amount": "-150.00", "description": "Cajero"}}}),
		"WebhookCreate": object([]string{"url"}, obj{
			"url": str(obj{"format": "uri", "maxLength": a.MaxWebhookURL, "description": "Where to deliver: an " +
				"`https` URL whose host resolves only to public addresses (checked now and at every delivery). " +
				"`make run` also accepts `http://127.0.0.1:PORT` and `http://localhost:PORT`."}),
			"events": obj{"type": "array", "minItems": 1, "items": obj{"type": "string", "enum": eventTypeEnum()},
				"description": "The event types to deliver; absent means every type (also those added later)."},
		}, obj{"examples": []any{obj{"url": "https://example.com/hooks/wallets", "events": []any{"charge.created", "charge.collected"}}}}),
		"Charge": object([]string{"amount", "wallet"}, obj{
			"amount":      schemaRef("PositiveAmount"),
			"description": description,
			"wallet":      obj{"allOf": []any{schemaRef("UUID")}, "description": "One of the caller's wallets."},
		}, obj{"examples": []any{obj{"amount": "15.00", "description": "Compra auriculares",
			"wallet": "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10"}}}),
	}
}

// maxPassword is the most bytes Form.Password takes.
const maxPassword = 4096

// amountInput is the schema of an amount a client sends: positive (a
// deposit, a charge) or negative (a withdrawal). money.Parse reads it: a
// JSON string or number, a plain decimal of at most money.Places decimals
// whose whole part has at most MaxDigits-Places digits (leading zeros aside),
// so at most money.Max in size.
func amountInput(positive bool) obj {
	maxAmount, _ := strconv.ParseFloat(money.Max.String(), 64)
	s := obj{
		"type":    []any{"string", "number"},
		"pattern": amountPattern(positive),
	}
	word, sign, examples := "positive", "an optional `+`", []any{"15.00", 15.5, "0.01", "999999999.99"}
	if positive {
		s["exclusiveMinimum"], s["maximum"] = 0, maxAmount
	} else {
		s["exclusiveMaximum"], s["minimum"] = 0, -maxAmount
		word, sign, examples = "negative", "a `-`", []any{"-150.00", -15.5, "-0.01"}
	}
	s["examples"] = examples
	s["description"] = fmt.Sprintf("A %s amount, as a JSON string or number: %s, then a plain decimal with at "+
		"most %d decimal places and at most %d digits before the point (leading zeros aside), so at most %s in "+
		"size; spaces around a string are ignored. A number counts the decimals of its literal text (`15.100` has "+
		"three, and is refused). Zero, the other sign, NaN, Infinity, exponents and anything non-numeric are a "+
		"400.", word, sign, money.Places, money.MaxDigits-money.Places, money.Max)
	return s
}

// amountPattern is the regex (portable: ECMA-262, RE2, PCRE and Python agree
// on it) of the strings money.Parse reads as a positive, or negative, amount.
func amountPattern(positive bool) string {
	whole := money.MaxDigits - money.Places
	// Not zero: a non-zero whole part, or a zero one with a non-zero
	// fraction (".5", "0.05").
	nonZero := fmt.Sprintf(`(0*[1-9][0-9]{0,%d}(\.[0-9]{0,%d})?|0*\.(0[1-9]|[1-9][0-9]?))`, whole-1, money.Places)
	sign := `\+?`
	if !positive {
		sign = `-`
	}
	return `^\s*` + sign + nonZero + `\s*$`
}

func headerComponents() obj {
	return obj{
		"WWWAuthenticate": obj{"required": true, "description": "The authentication scheme.",
			"schema": str(obj{"examples": []any{route.WWWAuthenticate}})},
		"RetryAfter": obj{"description": "Seconds to wait before a new attempt (sent when a login is throttled " +
			"and when the database is unreachable).",
			"schema": obj{"type": "integer", "minimum": 0}},
		"SetJWTCookie": obj{"required": true, "description": "Sets the `jwt` cookie to the token " +
			"(`HttpOnly; Secure; SameSite=Lax; Path=/`).",
			"schema": str(nil)},
		"ClearJWTCookie": obj{"required": true, "description": "Clears the `jwt` cookie.", "schema": str(nil)},
		"IdempotentReplayed": obj{"description": "`true` when this is the stored response of an earlier request " +
			"with the same Idempotency-Key.",
			"schema": str(obj{"enum": []any{"true"}})},
		"Allow": obj{"required": true, "description": "The methods the path allows.", "schema": str(nil)},
		"ContentSecurityPolicy": obj{"required": true, "description": "The page runs only its own two inline " +
			"scripts (by hash) and fetches only from the API's origin.", "schema": str(nil)},
	}
}

func responseComponents() obj {
	return obj{
		"MethodNotAllowed": obj{
			"description": "The path is known but does not take this method: " +
				"`{\"detail\": \"Method \\\"<METHOD>\\\" not allowed.\"}`.",
			"headers": obj{"Allow": ref("headers", "Allow")},
			"content": jsonContent(schemaRef("Detail"))},
		"NotFound": obj{"description": "Unknown path: `{\"detail\": \"Not found.\"}`.",
			"content": jsonContent(schemaRef("Detail"))},
		"GatewayFault": obj{"description": "The gateway could not get an answer: 502 (the function failed) or " +
			"504 (it took too long).",
			"content": jsonContent(schemaRef("Detail"))},
	}
}
