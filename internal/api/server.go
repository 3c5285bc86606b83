// Package api is the HTTP edge: it turns API Gateway proxy events into calls
// of the domain services (wallet.Service, user.Service) and their results
// and errors into the contract's JSON. It binds handlers to the route table
// (internal/route) and knows nothing of SQL: the services it is given do
// the work, the Idempotency-Key runner keeps each request's work and answer
// together. Handlers run the same in Lambda, in the local gateway and in
// tests.
package api

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/auth"
	"wallets/internal/event"
	"wallets/internal/idempotency"
	"wallets/internal/keys"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// Handler is a Lambda handler of API Gateway REST proxy events.
type Handler = func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Pinger checks the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Housekeeper deletes rows that no longer count (expired idempotency keys,
// old login attempts), at most limit of each, and returns how many went.
type Housekeeper interface {
	Purge(ctx context.Context, limit int) (int64, error)
}

// Services are what the handlers call. A function fills in those its route
// uses; a handler calling a service it was not given is a wiring bug.
type Services struct {
	Wallets wallet.Service
	Users   user.Service
	// Events lists the caller's events and keeps their webhook endpoints;
	// WebhookURLs vets those endpoints' URLs.
	Events      event.Service
	WebhookURLs URLPolicy
	// Idempotency runs the work of requests carrying an Idempotency-Key,
	// handing it the Tx bound to the key's unit of work; mutating routes
	// need it.
	Idempotency idempotency.Runner[Tx]
	// Housekeeper, when set, is called now and then after mutating
	// requests.
	Housekeeper Housekeeper
	// Health is pinged by the health route.
	Health Pinger
	// Tokens signs and verifies JWTs (login, the authorizer).
	Tokens *auth.Tokens
	// Cursors signs and verifies the listings' page cursors.
	Cursors *keys.Ring
}

// Tx are the services that write, bound to one unit of work: what a
// request's work calls under an Idempotency-Key, so that its writes commit
// with the kept answer, or not at all. The Runner binds them (in the
// Lambda functions, internal/app binds the postgres services to the
// claim's postgres.Unit); a field is nil where the function has no such
// service. A service that writes joins this struct when it must commit with
// the answer.
type Tx struct {
	Wallets wallet.Service
	Users   user.Service
	Events  event.Service
}

// Server holds the services every handler shares. One Server lives per
// Lambda container (or local gateway process) and serves requests
// concurrently.
type Server struct {
	wallets   wallet.Service
	users     user.Service
	events    event.Service
	urls      URLPolicy
	idem      idempotency.Runner[Tx]
	housekeep Housekeeper
	health    Pinger
	tokens    *auth.Tokens
	cursors   *keys.Ring
}

// NewServer returns a Server over svc.
func NewServer(svc Services) *Server {
	return &Server{
		wallets:   svc.Wallets,
		users:     svc.Users,
		events:    svc.Events,
		urls:      svc.WebhookURLs,
		idem:      svc.Idempotency,
		housekeep: svc.Housekeeper,
		health:    svc.Health,
		tokens:    svc.Tokens,
		cursors:   svc.Cursors,
	}
}

// in returns a copy of s whose writing services are tx's: the Server a
// request's work runs on under an Idempotency-Key.
func (s *Server) in(tx Tx) *Server {
	b := *s
	b.wallets, b.users, b.events = tx.Wallets, tx.Users, tx.Events
	return &b
}
