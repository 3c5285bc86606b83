// Package route is the API's route table as data: every endpoint declared
// once (Routes), with its function, methods, path, audience, services,
// keys, size and documentation; the way API Gateway matches paths; the
// answers API Gateway gives itself; the HTTP edge's own refusals; and the
// one table from error codes to statuses (StatusOf). It has no runtime
// dependencies: the CDK app, the local gateway, the OpenAPI document and
// the functions' mains (internal/mains) all read it, and handlers are bound
// to it at the HTTP edge (api.Handlers).
package route

import "net/http"

// Access says who may call a route.
type Access int

const (
	// Public routes run without the authorizer.
	Public Access = iota
	// Optional routes run the authorizer but also admit anonymous callers
	// (logout: anyone may call it; a presented token is revoked).
	Optional
	// User routes need any logged-in user.
	User
	// Customer routes need a logged-in customer (type 1).
	Customer
	// Business routes need a logged-in business (type 2).
	Business
)

func (a Access) String() string {
	return [...]string{"public", "optional", "user", "customer", "business"}[a]
}

// Authorized reports whether the route runs behind the authorizer.
func (a Access) Authorized() bool { return a != Public }

// Route is one endpoint of the API: one Lambda function and one API Gateway
// route, declared once in Routes. The local gateway, the CDK app, the
// OpenAPI document, the functions' mains and the tests all read Routes, so
// they cannot drift apart.
type Route struct {
	// Function names the Lambda function and its folder functions/<Function>.
	Function string
	// Methods served; PUT and PATCH of one path share a function.
	Methods []string
	// Path is the API Gateway resource path, with {param} placeholders.
	Path   string
	Access Access
	// Summary is a one-line description for the OpenAPI document and the
	// function's description.
	Summary string
	// Replica routes serve large listings and read from READ_DATABASE_URL
	// (the read-only proxy endpoint) when it is set.
	Replica bool
	// Keys are the secret keys the route's function may read (and nothing
	// else may): the token-signing key for login, the cursor key for the
	// listings. The CDK app grants each function exactly these.
	Keys []Key
	// Uses are the services the route's handler calls: its function wires
	// only these. A route using none is Static.
	Uses Services
	// MemoryMB and TimeoutSeconds size the Lambda function.
	MemoryMB       int
	TimeoutSeconds int
	// Doc is the route's documentation in the OpenAPI document.
	Doc Doc
}

// Services is a set of the services a route's handler calls.
type Services uint8

const (
	// UsesWallets: wallets, their transactions, charges and businesses.
	UsesWallets Services = 1 << iota
	// UsesUsers: accounts and tokens, without the password hasher.
	UsesUsers
	// UsesPasswords: accounts with the password hasher (sign-up, login, a
	// password change), which needs more memory.
	UsesPasswords
	// UsesEvents: the events and the webhook endpoints.
	UsesEvents
	// UsesWebhookURLs: the webhook URL policy (DNS lookups of the hosts).
	UsesWebhookURLs
	// UsesHealth: the database health check.
	UsesHealth
)

// Has reports whether s includes every service of t.
func (s Services) Has(t Services) bool { return s&t == t }

// Static reports whether the route serves a document built into its
// function (the OpenAPI document and its reference): it uses no service,
// opens no database connection, and its function gets no database grant.
func (r Route) Static() bool { return r.Uses == 0 }

// Key names one of the service's secret keys.
type Key string

const (
	// TokenKey signs and verifies JWTs: login signs them, the authorizer
	// (AuthorizerKeys) verifies them. No other function may read it.
	TokenKey Key = "token"
	// CursorKey signs the listings' page cursors (a key of its own, so that
	// the listing functions cannot mint tokens).
	CursorKey Key = "cursor"
)

// SecretARNVar is the environment variable that names the key's Secrets
// Manager secret in AWS (the CDK app sets it on the functions that hold
// the key; package config reads it).
func (k Key) SecretARNVar() string {
	switch k {
	case TokenKey:
		return "JWT_SECRET_ARN"
	case CursorKey:
		return "CURSOR_SECRET_ARN"
	}
	return ""
}

// AllKeys are every key, for a process serving every route (the local
// gateway, tests).
func AllKeys() []Key { return []Key{TokenKey, CursorKey} }

// AuthorizerKeys are the keys the authorizer, which serves no route, reads.
func AuthorizerKeys() []Key { return []Key{TokenKey} }

// Holds reports whether the route's function may read key k.
func (r Route) Holds(k Key) bool {
	for _, have := range r.Keys {
		if have == k {
			return true
		}
	}
	return false
}

// BinaryMediaTypes are the REST API's binaryMediaTypes: request bodies of
// these types reach the handlers base64-encoded (isBase64Encoded), in API
// Gateway and in the local gateway alike. The result is a fresh copy.
func BinaryMediaTypes() []string {
	return []string{
		"application/octet-stream",
		"application/pdf",
		"application/zip",
		"application/gzip",
		"image/*",
		"audio/*",
		"video/*",
		"multipart/form-data",
	}
}

// Prefix is the base path of every route.
const Prefix = "/api/v1"

const (
	get   = http.MethodGet
	post  = http.MethodPost
	put   = http.MethodPut
	patch = http.MethodPatch
	del   = http.MethodDelete
)

// Memory and timeout defaults: password hashing needs more memory and CPU
// (Lambda CPU scales with memory); everything else is small and short.
const (
	defaultMemory  = 256
	defaultTimeout = 10
	hashMemory     = 1024
)

// Memory returns the function's memory size in MB.
func (r Route) Memory() int {
	if r.MemoryMB > 0 {
		return r.MemoryMB
	}
	return defaultMemory
}

// Timeout returns the function's timeout in seconds.
func (r Route) Timeout() int {
	if r.TimeoutSeconds > 0 {
		return r.TimeoutSeconds
	}
	return defaultTimeout
}

// Mutates reports whether the route changes state, so takes an
// Idempotency-Key and runs in a database transaction.
func (r Route) Mutates() bool {
	for _, m := range r.Methods {
		if m == post || m == put || m == patch || m == del {
			return true
		}
	}
	return false
}

// ByFunction finds a route by its function name.
func ByFunction(name string) (Route, bool) {
	for _, r := range Routes() {
		if r.Function == name {
			return r, true
		}
	}
	return Route{}, false
}
