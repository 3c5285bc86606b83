package route

// Doc is a route's documentation in the OpenAPI document: what it reads and
// what it answers by design. The refusals every route of its kind shares
// (authentication, idempotency, pagination, body parsing, faults) are added
// by the generator (internal/api/openapi) from the route's properties.
type Doc struct {
	// Tag groups the operation: Users, Wallets, Businesses, Events, Service.
	Tag string
	// Body names the requestBodies component; "" when the route reads none.
	Body string
	// Answers are the responses given by design (not refusals); at least one.
	Answers []Answer
	// List says which query parameters a list takes; NotList for others.
	List ListKind
	// Refusals are the route's own error answers, by status.
	Refusals map[int]string
	// Description is prepended to the operation's description (the
	// generator adds who may call it).
	Description string
}

// Answer is a response a handler gives by design.
type Answer struct {
	Status      int
	Description string
	// Schema is the components/schemas name of the body; "" for no body.
	Schema string
	// MediaType is the body's media type; "" means application/json.
	MediaType string
	// Headers maps a response header to its components/headers name.
	Headers map[string]string
}

// ListKind says which query parameters a list takes.
type ListKind int

const (
	// NotList routes take no paging parameters.
	NotList ListKind = iota
	// PageList takes page, page_size and cursor.
	PageList
	// TransactionList also takes the transaction filters (status, type,
	// created_after, created_before).
	TransactionList
	// EventList also takes the event type filter.
	EventList
)

// The answers' headers that more than one route sets (fresh maps: Routes
// returns a copy).
func setsCookie() map[string]string   { return map[string]string{"Set-Cookie": "SetJWTCookie"} }
func clearsCookie() map[string]string { return map[string]string{"Set-Cookie": "ClearJWTCookie"} }

// Refusals that more than one route documents.
const (
	notOwnedWallet   = "Not one of the caller's wallets (or a malformed uuid)."
	notBusiness      = "`{business_id}` is not an active business."
	notOwnedEndpoint = "Not one of the caller's endpoints (or a malformed uuid)."
)
