// Package event is the contract of the events money movements raise: what
// an event is, who hears of it, the webhook endpoints that receive them and
// the deliveries that carry them there.
//
// An event is written in the same database transaction as its movement, with
// its row in the outbox, so a committed movement always has its event and a
// rolled-back one never does. A relay publishes committed events (to the
// event bus and, as one delivery per matching webhook endpoint, to the
// delivery queue) and takes them out of the outbox in one transaction: an outage
// between the commit and the relay delays events, never drops them.
// Delivery is at least once, with the same event id every time.
package event

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"wallets/internal/apperr"
	"wallets/internal/wallet"
)

// Type names what happened.
type Type string

// The event types.
const (
	WalletDeposited Type = "wallet.deposited"
	WalletWithdrawn Type = "wallet.withdrawn"
	ChargeCreated   Type = "charge.created"
	ChargeCollected Type = "charge.collected"
	ChargeRejected  Type = "charge.rejected"
)

// Types lists every event type, in the contract's order.
var Types = []Type{WalletDeposited, WalletWithdrawn, ChargeCreated, ChargeCollected, ChargeRejected}

// TypeNames returns the names of Types, in their order (a new slice each
// call): the choices of a webhook's events and of the ?type= filter.
func TypeNames() []string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return names
}

// ParseType returns the type named s, or false.
func ParseType(s string) (Type, bool) {
	t := Type(s)
	return t, slices.Contains(Types, t)
}

// Event is one thing that happened to money. Transaction is the movement as
// it stood right after it happened (a charge.created event's charge is
// pending even once it is collected).
type Event struct {
	ID          uuid.UUID
	Type        Type
	Created     time.Time
	Transaction wallet.Transaction
	// Customer is the customer whose wallet moved; Business, for a charge's
	// events, the business it is at. Both hear of the event.
	Customer int64
	Business *int64
}

// Recipients returns the users who hear of e.
func (e Event) Recipients() []int64 {
	if e.Business != nil {
		return []int64{e.Customer, *e.Business}
	}
	return []int64{e.Customer}
}

// RetentionDays is how long events are kept at least.
const RetentionDays = 30

// Filter narrows a list of events; the zero Filter is every event.
type Filter struct {
	Type Type // "" for every type
}

// MaxEndpoints is how many webhook endpoints one user may have.
const MaxEndpoints = 10

// Endpoint is a URL a user asked to receive events at.
type Endpoint struct {
	ID    uuid.UUID
	Owner int64
	URL   string
	// Events are the types the endpoint receives; nil for every type.
	Events  []Type
	Created time.Time
}

// Wants reports whether the endpoint receives events of type t.
func (e Endpoint) Wants(t Type) bool { return e.Events == nil || slices.Contains(e.Events, t) }

// NewEndpoint is an endpoint to create: Secret is the signing secret, made
// by the caller and shown to the client only in the creation's answer.
type NewEndpoint struct {
	URL    string
	Events []Type // nil for every type
	Secret string
}

// Errors of the webhook endpoints.
var (
	// ErrTooManyEndpoints: the user already has MaxEndpoints endpoints.
	ErrTooManyEndpoints = apperr.Field("non_field_errors", fmt.Sprintf("A user may have at most %d webhook endpoints.", MaxEndpoints))
	// ErrNotFound: no such endpoint of the caller's.
	ErrNotFound = apperr.ErrNotFound
)

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The delivery statuses.
const (
	Pending   DeliveryStatus = "pending"   // not yet delivered, attempts left
	Delivered DeliveryStatus = "delivered" // a 2xx answer was received
	Dead      DeliveryStatus = "dead"      // every attempt failed: dead-lettered
)

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID       uuid.UUID
	Endpoint Endpoint
	// Secret is the endpoint's signing secret (read only by the delivery
	// worker).
	Secret   string
	Event    Event
	Status   DeliveryStatus
	Attempts int // attempts made so far
	// LastError says why the last attempt failed ("" before any).
	LastError string
	Updated   time.Time
}

// Attempt is the outcome of one delivery attempt.
type Attempt struct {
	// Status is the receiver's HTTP status, 0 when none came (refused,
	// timed out, unreachable).
	Status int
	// Error says why it failed, "" for a 2xx.
	Error string
}

// Delivered reports whether the attempt delivered the event.
func (a Attempt) Delivered() bool { return a.Status >= 200 && a.Status < 300 }

// Service is what the API offers a logged-in user: their events, and their
// webhook endpoints. Like wallet.Service, an implementation may hand out the
// Service bound to a unit of work (an Idempotency-Key claim, see
// idempotency.Runner and api.Tx; postgres.(*Events).In): a bound
// Service's writing methods (CreateEndpoint,
// DeleteEndpoint) then commit with the unit, and any error they return keeps
// it from committing.
type Service interface {
	// ListEvents returns a page of the events user hears of, newest first.
	ListEvents(ctx context.Context, user int64, f Filter, p wallet.Page) (wallet.Listing[Event], error)

	// CreateEndpoint creates owner's endpoint e. It fails with
	// ErrTooManyEndpoints when owner already has MaxEndpoints.
	CreateEndpoint(ctx context.Context, owner int64, e NewEndpoint) (Endpoint, error)

	// ListEndpoints returns owner's endpoints, newest first.
	ListEndpoints(ctx context.Context, owner int64) ([]Endpoint, error)

	// DeleteEndpoint deletes owner's endpoint id and its pending
	// deliveries; ErrNotFound when owner has no such endpoint.
	DeleteEndpoint(ctx context.Context, owner int64, id uuid.UUID) error

	// DeadDeliveries returns a page of the dead-lettered deliveries of
	// owner's endpoint id, newest first; ErrNotFound when owner has no such
	// endpoint.
	DeadDeliveries(ctx context.Context, owner int64, id uuid.UUID, p wallet.Page) (wallet.Listing[Delivery], error)
}

// Batch is one relayed event and the deliveries the relay created for it,
// one per endpoint of its recipients that wants its type.
type Batch struct {
	Event      Event
	Deliveries []uuid.UUID
}

// Outbox is the relay's and the delivery worker's view of the store.
type Outbox interface {
	// Relay takes up to limit unpublished events, oldest first (events
	// another relay holds are skipped), creates their deliveries, and calls
	// publish with them; when publish returns nil the events are marked
	// published, and the deliveries kept, in the same transaction. When
	// publish fails nothing changes and its error is returned. It returns
	// how many events it relayed.
	Relay(ctx context.Context, limit int, publish func(context.Context, []Batch) error) (int, error)

	// OutboxAge is how long the oldest unpublished event has waited; 0
	// when none waits.
	OutboxAge(ctx context.Context) (time.Duration, error)

	// Delivery returns delivery id with its endpoint, secret and event.
	// It fails with ErrNotFound when the delivery or its endpoint is gone.
	Delivery(ctx context.Context, id uuid.UUID) (Delivery, error)

	// RecordAttempt records attempt number n (1 for the first) of delivery
	// id: delivered on a 2xx, else dead when dead is true, else pending
	// with its next attempt due at next. Recording an attempt whose number
	// is not the delivery's attempts plus one, or on a delivery no longer
	// pending, changes nothing and returns false (a duplicate message).
	RecordAttempt(ctx context.Context, id uuid.UUID, n int, a Attempt, next time.Time, dead bool) (bool, error)

	// Overdue returns up to limit pending deliveries whose next attempt is
	// more than grace past due (their queue message was lost), and pushes
	// their next attempt to now plus grace so that they are not returned
	// again at once.
	Overdue(ctx context.Context, grace time.Duration, limit int) ([]uuid.UUID, error)

	// Purge deletes up to limit events older than RetentionDays that are
	// published and have no pending delivery, and returns how many went.
	Purge(ctx context.Context, limit int) (int64, error)
}
