// Package app wires the service together for one process: a Lambda
// container (Start, StartAuthorizer, StartMigrate) or the local gateway
// (New). Everything it builds is created once and reused by every request.
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
	"wallets/internal/postgres"
)

// App is the service's dependencies for one process.
type App struct {
	Config config.Config
	Server *api.Server
	DB     *pgxpool.Pool
	ReadDB *pgxpool.Pool // nil when no replica is configured
	Obs    *obs.Obs
}

// New builds the App for cfg: observability first (so failures after it are
// reported), then the pools (which dial lazily) and the server.
func New(ctx context.Context, cfg config.Config, function string) (*App, error) {
	o, err := obs.Init(ctx, obs.Config{Function: function, Environment: cfg.Environment, SentryDSN: cfg.SentryDSN})
	if err != nil {
		o.Logger().Error("sentry disabled", "error", err.Error())
	}
	if cfg.DatabaseURL == "" {
		return nil, errors.New("no database: set DATABASE_URL (or DATABASE_HOST in AWS)")
	}
	opts := postgres.PoolOptions{MaxConns: cfg.MaxConns, StatementTimeout: cfg.StatementTimeout}
	if cfg.IAMAuth {
		opts.IAMRegion = cfg.Region
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, opts)
	if err != nil {
		return nil, fmt.Errorf("writer pool: %w", err)
	}
	a := &App{Config: cfg, DB: db, Obs: o}
	if cfg.ReadDatabaseURL != "" {
		if a.ReadDB, err = postgres.Open(ctx, cfg.ReadDatabaseURL, opts); err != nil {
			db.Close()
			return nil, fmt.Errorf("reader pool: %w", err)
		}
	}
	tokens, err := auth.NewTokens(cfg.JWTKey)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Server = api.NewServer(api.Config{DB: db, ReadDB: a.ReadDB, Tokens: tokens, SigningKey: cfg.JWTKey})
	return a, nil
}

// Handler returns route's handler wrapped with observability.
func (a *App) Handler(route api.Route) api.Handler {
	return a.Obs.Wrap(route.Function, route.Path, a.Server.Handler(route))
}

// Authorizer returns the authorizer wrapped with observability.
func (a *App) Authorizer() api.AuthorizerHandler {
	return a.Obs.WrapAuthorizer(a.Server.Authorize)
}

// Close releases the pools and flushes error reports.
func (a *App) Close() {
	a.DB.Close()
	if a.ReadDB != nil {
		a.ReadDB.Close()
	}
	a.Obs.Close(2 * time.Second)
}

// startLambda loads the configuration and builds the App of a Lambda
// container, or exits: a container that cannot start must fail its init.
func startLambda(function string) *App {
	// Until obs takes over, failures are still logged as JSON.
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	ctx := context.Background()
	cfg, err := config.Load(ctx, config.Options{})
	if err == nil {
		var a *App
		if a, err = New(ctx, cfg, function); err == nil {
			return a
		}
	}
	slog.Error("init failed", "function", function, "error", err.Error())
	os.Exit(1)
	return nil
}

// Start runs the Lambda function of the route named function.
func Start(function string) {
	route, ok := api.RouteByFunction(function)
	if !ok {
		slog.Error("no such route", "function", function)
		os.Exit(1)
	}
	// Routes reading only from the replica still get a writer pool: it
	// dials lazily, so an unused one costs nothing.
	a := startLambda(function)
	lambda.Start(a.Handler(route))
}

// StartAuthorizer runs the REQUEST authorizer.
func StartAuthorizer() {
	a := startLambda("authorizer")
	lambda.Start(a.Authorizer())
}

// MigrateResult is what the migrate function answers.
type MigrateResult struct {
	Applied []string `json:"applied"`
}

// StartMigrate runs the migrate function: it applies every pending
// migration to the writer. The deployment invokes it before the new API
// takes traffic.
func StartMigrate() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	ctx := context.Background()
	cfg, err := config.Load(ctx, config.Options{AllowRandomKey: true})
	if err != nil {
		slog.Error("init failed", "function", "migrate", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context) (MigrateResult, error) {
		region := ""
		if cfg.IAMAuth {
			region = cfg.Region
		}
		applied, err := postgres.MigrateIAM(ctx, cfg.DatabaseURL, region)
		if err != nil {
			slog.Error("migrate failed", "error", err.Error())
			return MigrateResult{}, err
		}
		slog.Info("migrated", "applied", applied)
		return MigrateResult{Applied: applied}, nil
	})
}
