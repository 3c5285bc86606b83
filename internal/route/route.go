// Package route is the API's route table as data: every endpoint's function,
// methods, path, audience, size and documentation, the way API Gateway
// matches paths, the answers API Gateway gives itself, the HTTP edge's own
// refusals and the one table from error codes to statuses (StatusOf). It has
// no runtime dependencies: the CDK app, the local gateway, the OpenAPI
// document and the handlers all read it, and handlers are bound to it at the
// HTTP edge (internal/api).
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
// route. The local gateway, the CDK app, the OpenAPI document and the tests
// all read Routes, so they cannot drift apart.
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
	// Static routes serve a document built into the function (the OpenAPI
	// document and its reference): they open no database connection, so
	// their functions get no database grant.
	Static bool
	// MemoryMB and TimeoutSeconds size the Lambda function.
	MemoryMB       int
	TimeoutSeconds int
}

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

// Routes returns the route table. The result is a fresh copy.
func Routes() []Route {
	cursor := []Key{CursorKey}
	return []Route{
		// Users.
		{Function: "users-sign-up", Methods: []string{post}, Path: Prefix + "/users/sign-up", Access: Public,
			Summary: "Create a customer or business account.", MemoryMB: hashMemory},
		{Function: "users-login", Methods: []string{post}, Path: Prefix + "/users/login", Access: Public,
			Summary: "Exchange a username and password for a JWT.", MemoryMB: hashMemory, Keys: []Key{TokenKey}},
		{Function: "users-logout", Methods: []string{post}, Path: Prefix + "/users/logout", Access: Optional,
			Summary: "Clear the jwt cookie and revoke the presented token."},
		{Function: "users-me-get", Methods: []string{get}, Path: Prefix + "/users/me", Access: User,
			Summary: "The caller's profile."},
		{Function: "users-me-update", Methods: []string{put, patch}, Path: Prefix + "/users/me", Access: User,
			Summary: "Update the caller's username and names."},
		{Function: "users-change-password", Methods: []string{put, patch}, Path: Prefix + "/users/change-password", Access: User,
			Summary: "Change the caller's password; older tokens stop working.", MemoryMB: hashMemory},
		{Function: "users-delete-account", Methods: []string{post}, Path: Prefix + "/users/delete-account", Access: User,
			Summary: "Deactivate the caller's account and revoke its tokens."},

		// Customers' wallets.
		{Function: "wallets-list", Methods: []string{get}, Path: Prefix + "/wallets/customers/wallets", Access: Customer,
			Summary: "Page of the caller's wallets.", Replica: true, Keys: cursor},
		{Function: "wallets-create", Methods: []string{post}, Path: Prefix + "/wallets/customers/wallets", Access: Customer,
			Summary: "Open a new empty wallet."},
		{Function: "wallets-get", Methods: []string{get}, Path: Prefix + "/wallets/customers/wallets/{uuid}", Access: Customer,
			Summary: "One of the caller's wallets."},
		{Function: "wallets-deposit", Methods: []string{put, patch}, Path: Prefix + "/wallets/customers/wallets/{uuid}/deposit", Access: Customer,
			Summary: "Deposit money into one of the caller's wallets."},
		{Function: "wallets-retire", Methods: []string{put, patch}, Path: Prefix + "/wallets/customers/wallets/{uuid}/retire", Access: Customer,
			Summary: "Withdraw money (a negative amount) from one of the caller's wallets."},
		{Function: "wallets-transactions", Methods: []string{get}, Path: Prefix + "/wallets/customers/wallets/{uuid}/transactions", Access: Customer,
			Summary: "Page of one of the caller's wallets' transactions.", Replica: true, Keys: cursor},
		{Function: "charges-create", Methods: []string{post}, Path: Prefix + "/wallets/business/{business_id}/customers/transactions", Access: Customer,
			Summary: "Open a pending charge at a business against one of the caller's wallets."},
		{Function: "charges-list", Methods: []string{get}, Path: Prefix + "/wallets/business/{business_id}/customers/transactions", Access: Customer,
			Summary: "Page of the caller's charges at a business.", Replica: true, Keys: cursor},

		// Businesses and the directory.
		{Function: "business-list", Methods: []string{get}, Path: Prefix + "/wallets/business", Access: User,
			Summary: "Page of active businesses.", Replica: true, Keys: cursor},
		{Function: "business-wallet-create", Methods: []string{post}, Path: Prefix + "/wallets/business/wallet", Access: Business,
			Summary: "Open the business's wallet."},
		{Function: "business-wallet-get", Methods: []string{get}, Path: Prefix + "/wallets/business/wallet", Access: Business,
			Summary: "The business's wallet."},
		{Function: "business-transactions", Methods: []string{get}, Path: Prefix + "/wallets/business/transactions", Access: Business,
			Summary: "Page of the charges made at this business.", Replica: true, Keys: cursor},
		{Function: "business-debit", Methods: []string{put, patch}, Path: Prefix + "/wallets/business/transactions/{uuid}/debit", Access: Business,
			Summary: "Collect a pending or rejected charge."},

		// Events and webhooks.
		{Function: "events-list", Methods: []string{get}, Path: Prefix + "/events", Access: User,
			Summary: "Page of the events of the caller's money, newest first.", Replica: true, Keys: cursor},
		{Function: "webhooks-create", Methods: []string{post}, Path: Prefix + "/webhooks", Access: User,
			Summary: "Register a URL to receive the caller's events, signed."},
		{Function: "webhooks-list", Methods: []string{get}, Path: Prefix + "/webhooks", Access: User,
			Summary: "The caller's webhook endpoints."},
		{Function: "webhooks-delete", Methods: []string{del}, Path: Prefix + "/webhooks/{uuid}", Access: User,
			Summary: "Delete one of the caller's webhook endpoints."},
		{Function: "webhooks-dead-letters", Methods: []string{get}, Path: Prefix + "/webhooks/{uuid}/dead-letters", Access: User,
			Summary: "Page of the events one of the caller's endpoints never accepted.", Replica: true, Keys: cursor},

		// Service.
		{Function: "health", Methods: []string{get}, Path: Prefix + "/health", Access: Public,
			Summary: "Liveness and database reachability."},
		{Function: "openapi", Methods: []string{get}, Path: Prefix + "/openapi.json", Access: Public,
			Summary: "The OpenAPI 3.1 document of this API.", Static: true},
		{Function: "docs", Methods: []string{get}, Path: Prefix + "/docs", Access: Public,
			Summary: "A readable reference of this API, rendered from the OpenAPI document.", Static: true},
	}
}

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
