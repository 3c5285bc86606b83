// Package app wires one process: a Lambda function (Serve, ServeAuthorizer,
// LambdaEnv) or the local gateway, the tests and the bench (NewEnv, All).
// Every one starts the same way (start): the pools opened, the secrets read
// where they come from Secrets Manager, observability set up. Each
// function's main then picks the services its route uses, so it links only
// what it needs. (functions/migrate alone starts on its own: it serves no
// request, needs neither the pools nor the keys, and links only the
// migration runner.)
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/api"
	"wallets/internal/auth"
	"wallets/internal/awstrust"
	"wallets/internal/config"
	"wallets/internal/idempotency"
	"wallets/internal/obs"
	sentryreport "wallets/internal/obs/sentry"
	"wallets/internal/postgres"
	"wallets/internal/route"
	"wallets/internal/user"
	"wallets/internal/webhook"
)

// Env is one process's configuration, observability and pools, from which
// a function's main builds the services its handler calls.
type Env struct {
	Config config.Config
	DB     *pgxpool.Pool
	ReadDB *pgxpool.Pool // nil when no replica is configured
	Obs    *obs.Obs
	// Tokens signs and verifies JWTs; nil in a function that holds no
	// token key (every one but login and the authorizer).
	Tokens *auth.Tokens
	// AWS is the AWS configuration of a Lambda container, loaded once and
	// shared by its Secrets Manager client, its IAM database
	// authentication and any other AWS client it makes (the events
	// functions' EventBridge and SQS); nil in a process started by NewEnv.
	AWS func(context.Context) (aws.Config, error)
}

// NewEnv builds the Env of function for cfg, which holds its keys already
// (the local gateway, tests, the bench): the same start as a Lambda
// container's, without the secrets to read or the connection to wait for.
func NewEnv(ctx context.Context, cfg config.Config, function string) (*Env, error) {
	return start(ctx, cfg, function, nil, nil)
}

// start builds a process's Env, in the order every process follows: the
// pools are opened (they dial lazily); usesDB (nil: false), called on the
// open pools, tells whether the process queries them and, if it does, their
// first connection is made in the background (TCP, TLS, IAM token, PostgreSQL
// startup; postgres.Warm) while the secrets are read (secrets nil: cfg
// holds them already); then observability, which needs the Sentry DSN;
// then the wait for that connection, at most warmWait, so that the first
// request finds it idle in the pool rather than dialling one.
func start(ctx context.Context, cfg config.Config, function string, secrets *config.Options, usesDB func(*Env) bool) (*Env, error) {
	var loadAWS func(context.Context) (aws.Config, error) // nil: the default
	if secrets != nil {
		loadAWS = secrets.AWS
	}
	e := &Env{Config: cfg, AWS: loadAWS}
	if err := e.openPools(ctx, loadAWS); err != nil {
		return nil, err
	}
	warmed := make(chan struct{})
	if usesDB != nil && usesDB(e) {
		go func() {
			defer close(warmed)
			e.warm(ctx)
		}()
	} else {
		close(warmed)
	}
	if secrets != nil {
		if err := cfg.ReadSecrets(ctx, *secrets); err != nil {
			return nil, err // a Lambda container then exits
		}
		e.Config = cfg
	}
	if err := e.observe(ctx, function); err != nil {
		return nil, err
	}
	t := time.NewTimer(warmWait)
	defer t.Stop()
	select {
	case <-warmed:
	case <-t.C:
	}
	return e, nil
}

// observe sets up error reporting and logs, and the token signer when the
// process holds the token key.
func (e *Env) observe(ctx context.Context, function string) error {
	reporter, err := sentryreport.New(sentryreport.Options{DSN: e.Config.SentryDSN, Environment: e.Config.Environment})
	e.Obs = obs.Init(ctx, obs.Config{Function: function, Reporter: reporter})
	if err != nil {
		e.Obs.Logger().Error("sentry disabled", "error", err.Error())
	}
	if ring := e.Config.Keys[route.TokenKey]; ring != nil {
		e.Tokens = auth.NewTokens(ring)
	}
	return nil
}

// openPools opens the writer's pool and, when configured, the reader's,
// with IAM authentication signed with the configuration loadAWS returns
// (nil: the default one). They dial lazily.
func (e *Env) openPools(ctx context.Context, loadAWS func(context.Context) (aws.Config, error)) error {
	cfg := e.Config
	if cfg.DatabaseURL == "" {
		return errors.New("no database: set DATABASE_URL (or DATABASE_HOST in AWS)")
	}
	opts := postgres.PoolOptions{MaxConns: cfg.MaxConns, StatementTimeout: cfg.StatementTimeout}
	if cfg.IAMAuth {
		opts.IAMRegion, opts.AWS = cfg.Region, loadAWS
	}
	if cfg.ProxyTLS {
		roots, err := awstrust.Pool()
		if err != nil {
			return err
		}
		opts.RootCAs = roots
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, opts)
	if err != nil {
		return fmt.Errorf("writer pool: %w", err)
	}
	e.DB = db
	if cfg.ReadDatabaseURL != "" {
		// Listings fall back to the writer while the reader is unreachable
		// (a reader failover) instead of waiting out the proxy's borrow
		// timeout and failing.
		readOpts := opts
		readOpts.Fallback = cfg.DatabaseURL
		if e.ReadDB, err = postgres.Open(ctx, cfg.ReadDatabaseURL, readOpts); err != nil {
			db.Close()
			return fmt.Errorf("reader pool: %w", err)
		}
	}
	return nil
}

// Wallets is the money service on the writer (and the reader for lists).
func (e *Env) Wallets() *postgres.Wallets { return postgres.NewWallets(e.DB, e.ReadDB) }

// Users is the accounts service; routes that handle passwords pass a
// Hasher (internal/passhash), the others nil.
func (e *Env) Users(h user.Hasher) *postgres.Users { return postgres.NewUsers(e.DB, h) }

// Idempotency runs Idempotency-Key requests and purges expired keys.
func (e *Env) Idempotency() *postgres.Idempotency { return postgres.NewIdempotency(e.DB) }

// idempotent sets svc's Idempotency-Key runner and housekeeper: idem, its
// work handed svc's writing services bound to each claim's unit of work
// (bindTx).
func idempotent(svc api.Services, idem *postgres.Idempotency) api.Services {
	svc.Idempotency = idempotency.Bind(idem, func(u *postgres.Unit) api.Tx { return bindTx(svc, u) })
	svc.Housekeeper = idem
	return svc
}

// bindTx returns svc's writing services bound to u. They are the postgres
// services Env makes; any other is a wiring bug, which must not write
// outside the unit unnoticed.
func bindTx(svc api.Services, u *postgres.Unit) api.Tx {
	var tx api.Tx
	switch s := svc.Wallets.(type) {
	case nil:
	case *postgres.Wallets:
		tx.Wallets = s.In(u)
	default:
		panic(fmt.Sprintf("app: cannot bind %T to a unit of work", s))
	}
	switch s := svc.Users.(type) {
	case nil:
	case *postgres.Users:
		tx.Users = s.In(u)
	default:
		panic(fmt.Sprintf("app: cannot bind %T to a unit of work", s))
	}
	switch s := svc.Events.(type) {
	case nil:
	case *postgres.Events:
		tx.Events = s.In(u)
	default:
		panic(fmt.Sprintf("app: cannot bind %T to a unit of work", s))
	}
	return tx
}

// Events is the events and webhook endpoints service, and the relay's and
// delivery worker's outbox, on the writer (and the reader for lists).
func (e *Env) Events() *postgres.Events { return postgres.NewEvents(e.DB, e.ReadDB) }

// WebhookURLs is the policy webhook URLs are checked against, at creation
// and at every delivery.
func (e *Env) WebhookURLs() webhook.Policy {
	return webhook.Policy{AllowLocal: e.Config.WebhookAllowLocal}
}

// All is every service, for a process serving every route (the local
// gateway, tests). h hashes passwords.
func (e *Env) All(h user.Hasher) api.Services {
	return idempotent(api.Services{
		Wallets:     e.Wallets(),
		Users:       e.Users(h),
		Events:      e.Events(),
		WebhookURLs: e.WebhookURLs(),
		Health:      e.Health(),
	}, e.Idempotency())
}

// Server returns the edge over svc, with the keys the process holds: the
// token signer and the cursor key's ring (nil where the function holds
// neither).
func (e *Env) Server(svc api.Services) *api.Server {
	svc.Tokens = e.Tokens
	svc.Cursors = e.Config.Keys[route.CursorKey]
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

// warmWait bounds how long a container's init waits for its first
// database connections: a healthy RDS Proxy answers in tens of
// milliseconds; an unreachable database must not hold the init for long
// (the first request then dials, and answers 503 if it fails too).
const warmWait = time.Second

// lambdaEnv builds the Env of a Lambda container, or exits: a container that
// cannot start must fail its init. Its configuration comes from the
// environment and its keys and Sentry DSN from Secrets Manager, read while
// the first connection is made (see start); usesDB, called once the pools
// are open, tells whether the function queries them.
func lambdaEnv(function string, usesDB func(*Env) bool) *Env {
	// Until obs takes over, failures are still logged as JSON.
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	e, err := startLambda(context.Background(), function, usesDB)
	if err != nil {
		slog.Error("init failed", "function", function, "error", err.Error())
		os.Exit(1)
	}
	return e
}

func startLambda(ctx context.Context, function string, usesDB func(*Env) bool) (*Env, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	// One AWS configuration for Secrets Manager and IAM auth. The function
	// reads only its own keys: the token key in login and the authorizer,
	// the cursor key in the listings, none elsewhere.
	secrets := &config.Options{AWS: config.AWSLoader(), Keys: functionKeys(function)}
	return start(ctx, cfg, function, secrets, usesDB)
}

// functionKeys are the keys function may read.
func functionKeys(function string) []route.Key {
	if function == "authorizer" {
		return route.AuthorizerKeys()
	}
	rt, _ := route.ByFunction(function)
	return rt.Keys
}

// warm makes the first connection of each pool. A failure is left to the
// first request, which dials again and reports it. (A listing function
// reads from the reader and, most of them, checks ownership on the writer;
// wallets-list and business-list keep a writer connection they do not use,
// idle until MaxConnIdleTime closes it.)
func (e *Env) warm(ctx context.Context) {
	done := make(chan struct{})
	if e.ReadDB != nil {
		go func() {
			defer close(done)
			_ = postgres.Warm(ctx, e.ReadDB)
		}()
	} else {
		close(done)
	}
	_ = postgres.Warm(ctx, e.DB)
	<-done
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
	// wire picks services over the pools; it runs before the secrets are
	// read (see lambdaEnv), so that a function with a service has its first
	// connection made during its init. (The Static routes, openapi and
	// docs, have none.)
	var svc api.Services
	e := lambdaEnv(function, func(e *Env) bool {
		svc = wire(e)
		return !rt.Static()
	})
	if rt.Mutates() {
		svc = idempotent(svc, e.Idempotency())
	}
	lambda.Start(e.Handler(e.Server(svc), rt, h))
}

// ServeAuthorizer runs the REQUEST authorizer.
func ServeAuthorizer() {
	e := lambdaEnv("authorizer", func(*Env) bool { return true })
	lambda.Start(e.Authorizer(e.Users(nil)))
}

// LambdaEnv builds the Env of a Lambda function that serves no route (the
// events relay, the webhook deliveries) and queries the database, or exits.
func LambdaEnv(function string) *Env {
	return lambdaEnv(function, func(*Env) bool { return true })
}
