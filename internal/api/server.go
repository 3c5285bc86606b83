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
	// Idempotency runs the work of requests carrying an Idempotency-Key;
	// mutating routes need it.
	Idempotency idempotency.Runner
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

// Server holds the services every handler shares. One Server lives per
// Lambda container (or local gateway process) and serves requests
// concurrently.
type Server struct {
	wallets   wallet.Service
	users     user.Service
	events    event.Service
	urls      URLPolicy
	idem      idempotency.Runner
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
