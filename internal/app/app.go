// Package app wires one process: a Lambda function (Serve, ServeAuthorizer)
// or the local gateway (NewEnv, All). It reads the configuration, sets up
// observability and opens the pools once; each function's main then picks
// the services its route uses, so it links only what it needs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/api"
	"wallets/internal/auth"
	"wallets/internal/config"
	"wallets/internal/obs"
	sentryreport "wallets/internal/obs/sentry"
	"wallets/internal/postgres"
	"wallets/internal/route"
	"wallets/internal/user"
)

// Env is one process's configuration, observability and pools, from which
// a function's main builds the services its handler calls.
type Env struct {
	Config config.Config
	DB     *pgxpool.Pool
	ReadDB *pgxpool.Pool // nil when no replica is configured
	Obs    *obs.Obs
	Tokens *auth.Tokens
}

// NewEnv builds the Env of function for cfg: observability first (so
// failures after it are reported), then the pools (which dial lazily).
func NewEnv(ctx context.Context, cfg config.Config, function string) (*Env, error) {
	reporter, err := sentryreport.New(sentryreport.Options{DSN: cfg.SentryDSN, Environment: cfg.Environment})
	o := obs.Init(ctx, obs.Config{Function: function, Reporter: reporter})
	if err != nil {
		o.Logger().Error("sentry disabled", "error", err.Error())
	}
	if cfg.DatabaseURL == "" {
		return nil, errors.New("no database: set DATABASE_URL (or DATABASE_HOST in AWS)")
	}
	tokens, err := auth.NewTokens(cfg.JWTKey, cfg.JWTPreviousKey)
	if err != nil {
		return nil, err
	}
	opts := postgres.PoolOptions{MaxConns: cfg.MaxConns, StatementTimeout: cfg.StatementTimeout}
	if cfg.IAMAuth {
		opts.IAMRegion = cfg.Region
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, opts)
	if err != nil {
		return nil, fmt.Errorf("writer pool: %w", err)
	}
	e := &Env{Config: cfg, DB: db, Obs: o, Tokens: tokens}
	if cfg.ReadDatabaseURL != "" {
		// Listings fall back to the writer while the reader is unreachable
		// (a reader failover) instead of waiting out the proxy's borrow
		// timeout and failing.
		readOpts := opts
		readOpts.Fallback = cfg.DatabaseURL
		if e.ReadDB, err = postgres.Open(ctx, cfg.ReadDatabaseURL, readOpts); err != nil {
			db.Close()
			return nil, fmt.Errorf("reader pool: %w", err)
		}
	}
	return e, nil
}

// Wallets is the money service on the writer (and the reader for lists).
func (e *Env) Wallets() *postgres.Wallets { return postgres.NewWallets(e.DB, e.ReadDB) }

// Users is the accounts service; routes that handle passwords pass a
// Hasher (internal/passhash), the others nil.
func (e *Env) Users(h user.Hasher) *postgres.Users { return postgres.NewUsers(e.DB, h) }

// Idempotency runs Idempotency-Key requests and purges expired keys.
func (e *Env) Idempotency() *postgres.Idempotency { return postgres.NewIdempotency(e.DB) }

// All is every service, for a process serving every route (the local
// gateway, tests). h hashes passwords.
func (e *Env) All(h user.Hasher) api.Services {
	idem := e.Idempotency()
	return api.Services{
		Wallets:     e.Wallets(),
		Users:       e.Users(h),
		Idempotency: idem,
		Housekeeper: idem,
		Health:      e.Health(),
	}
}

// Server returns the edge over svc, with the process's token signer and
// cursor key.
func (e *Env) Server(svc api.Services) *api.Server {
	svc.Tokens = e.Tokens
	svc.SigningKey = e.Config.JWTKey
	return api.NewServer(svc)
}

// Handler returns h serving rt on s, wrapped with observability.
func (e *Env) Handler(s *api.Server, rt route.Route, h api.HandlerFunc) api.Handler {
	return api.Observe(e.Obs, rt.Function, rt.Path, s.Handler(rt, h))
}

// Bind returns a binder of every route to its handler over svc, for a
// process serving every route (the local gateway, tests).
func (e *Env) Bind(svc api.Services) func(route.Route) api.Handler {
	s := e.Server(svc)
	handlers := api.Handlers()
	return func(rt route.Route) api.Handler { return e.Handler(s, rt, handlers[rt.Function]) }
}

// Authorizer returns the authorizer over users, wrapped with observability.
func (e *Env) Authorizer(users user.Service) api.AuthorizerHandler {
	s := e.Server(api.Services{Users: users})
	return api.ObserveAuthorizer(e.Obs, s.Authorize)
}

// Close releases the pools and flushes error reports.
func (e *Env) Close() {
	e.DB.Close()
	if e.ReadDB != nil {
		e.ReadDB.Close()
	}
	e.Obs.Close(2 * time.Second)
}

// lambdaEnv loads the configuration and builds the Env of a Lambda
// container, or exits: a container that cannot start must fail its init.
func lambdaEnv(function string) *Env {
	// Until obs takes over, failures are still logged as JSON.
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	ctx := context.Background()
	cfg, err := config.Load(ctx, config.Options{})
	if err == nil {
		var e *Env
		if e, err = NewEnv(ctx, cfg, function); err == nil {
			return e
		}
	}
	slog.Error("init failed", "function", function, "error", err.Error())
	os.Exit(1)
	return nil
}

// Health pings the writer.
func (e *Env) Health() *postgres.Health { return postgres.NewHealth(e.DB) }

// Serve runs the Lambda function of the route named function: h over the
// services wire picks from the Env. A mutating route also gets the
// Idempotency-Key runner and the housekeeper.
func Serve(function string, h api.HandlerFunc, wire func(*Env) api.Services) {
	rt, ok := route.ByFunction(function)
	if !ok {
		slog.Error("no such route", "function", function)
		os.Exit(1)
	}
	// Routes reading only from the replica still get a writer pool: it
	// dials lazily, so an unused one costs nothing.
	e := lambdaEnv(function)
	svc := wire(e)
	if rt.Mutates() {
		idem := e.Idempotency()
		svc.Idempotency, svc.Housekeeper = idem, idem
	}
	lambda.Start(e.Handler(e.Server(svc), rt, h))
}

// ServeAuthorizer runs the REQUEST authorizer.
func ServeAuthorizer() {
	e := lambdaEnv("authorizer")
	lambda.Start(e.Authorizer(e.Users(nil)))
}
