// Command wallets-local serves the whole Wallets API on this machine, for
// `make run`: a throwaway PostgreSQL (unless DATABASE_URL is set), the
// migrations, and the local API Gateway in front of the same handlers and
// authorizer that run in Lambda.
//
// Environment:
//
//	PORT          port on 127.0.0.1 to listen on (default 8080; 0 picks one)
//	DATABASE_URL  use this database instead of a throwaway one (migrated on start)
//	DB_MAX_CONNS  pool size (default 20 here: every route shares one pool)
//	JWT_SECRET    token signing key (default: a random one per run)
//	WEBHOOK_RETRY_BASE  wait after a failed delivery's first attempt, doubling (default 1s)
//
// plus the rest of internal/config's variables. It prints one line with the
// API's base URL once it accepts requests, logs JSON to stdout, and on
// SIGINT or SIGTERM shuts down cleanly (the throwaway database and its
// files included).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"wallets/internal/app"
	"wallets/internal/config"
	"wallets/internal/gateway"
	"wallets/internal/localpg"
	"wallets/internal/passhash"
	"wallets/internal/postgres/migrate"
	"wallets/internal/relayenv"
	"wallets/internal/route"
	"wallets/migrations"
)

const (
	defaultPort = 8080
	// localMaxConns sizes the one pool every route shares in this process
	// (a Lambda container has its own pool of config's default, 2).
	localMaxConns = 20
	// shutdownTimeout bounds the wait for requests in flight on shutdown.
	shutdownTimeout = 15 * time.Second
)

func main() {
	os.Exit(run())
}

func run() (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	stopWithParent()

	fail := func(format string, args ...any) int {
		if ctx.Err() != nil {
			// Interrupted while starting: not a failure.
			fmt.Fprintln(os.Stderr, "wallets-local: interrupted during start-up")
			return 0
		}
		fmt.Fprintf(os.Stderr, "wallets-local: "+format+"\n", args...)
		return 1
	}

	port, err := portFromEnv()
	if err != nil {
		return fail("%v", err)
	}
	// Take the port first: if it is busy, say so before starting anything.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fail("cannot listen on 127.0.0.1:%d: %v (set PORT to another port)", port, err)
	}
	defer ln.Close()

	dbURL, serveURL, stopDB, err := database(ctx)
	if err != nil {
		return fail("%v", err)
	}
	defer func() {
		if err := stopDB(); err != nil {
			fmt.Fprintf(os.Stderr, "wallets-local: stop PostgreSQL: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}()

	applied, err := migrate.Up(ctx, dbURL, "")
	if err != nil {
		return fail("%v", err)
	}
	fmt.Printf("Migrations: %d applied\n", len(applied))

	cfg, err := config.Load(ctx, config.Options{Keys: route.AllKeys(), AllowRandomKey: true})
	if err != nil {
		return fail("configuration: %v", err)
	}
	cfg.DatabaseURL = serveURL
	// A developer receives webhooks on this machine.
	cfg.WebhookAllowLocal = true
	if os.Getenv("DB_MAX_CONNS") == "" {
		cfg.MaxConns = localMaxConns
	}
	e, err := app.NewEnv(ctx, cfg, "wallets-local")
	if err != nil {
		return fail("%v", err)
	}
	defer e.Close()

	// The events relay and the webhook deliveries, in this process (Lambda
	// runs the same code as two functions over EventBridge and SQS).
	events := relayenv.Start(e, relayenv.Options{})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := events.Close(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "wallets-local: stop the events relay: %v\n", err)
		}
	}()

	srv := httpServer(e)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Printf("Wallets API listening on http://%s%s\n", ln.Addr(), route.Prefix)

	select {
	case err := <-served:
		return fail("serve: %v", err)
	case <-ctx.Done():
	}
	stop() // a second signal now ends the process at once
	fmt.Println("Shutting down...")
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		fmt.Fprintf(os.Stderr, "wallets-local: requests still running after %s; closing them: %v\n", shutdownTimeout, err)
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "wallets-local: serve: %v\n", err)
	}
	return 0
}

// database returns the URL the migrations run as and the one the API
// serves as, and how to stop the server it started. The migrations run as
// the URL's user (on the throwaway server, the superuser), the API as the
// runtime role the migrations create, as in AWS. A DATABASE_URL given is
// used for both: name the runtime role in it to serve as it (after
// migrating once as the owner).
func database(ctx context.Context) (migrateURL, serveURL string, stop func() error, err error) {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u, u, func() error { return nil }, nil
	}
	pg, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		return "", "", nil, fmt.Errorf("start a throwaway PostgreSQL: %w", err)
	}
	if migrateURL, err = pg.CreateDatabase(ctx, "wallets", ""); err != nil {
		if stopErr := pg.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return "", "", nil, err
	}
	serveURL = pg.DatabaseURLAs("wallets", migrations.RuntimeRole)
	fmt.Printf("Throwaway PostgreSQL at %s (files in %s, removed on exit); the API connects as %s\n", migrateURL, pg.Dir, migrations.RuntimeRole)
	return migrateURL, serveURL, pg.Stop, nil
}

// httpServer is the local API Gateway over every route of e, as an HTTP server
// with API Gateway's limits.
func httpServer(e *app.Env) *http.Server {
	routes := route.Routes()
	svc := e.All(passhash.Argon2id{})
	gw := gateway.New(routes, e.Bind(svc), e.Authorizer(svc.Users), gateway.Options{Logger: e.Obs.Logger()})
	return &http.Server{
		Handler:           gw,
		ReadHeaderTimeout: 10 * time.Second,
		// Up to API Gateway's 10 MiB body on a slow link.
		ReadTimeout: time.Minute,
		// Longer than any function's timeout, so the gateway answers first.
		WriteTimeout:   maxTimeout(routes) + 30*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
	}
}

func portFromEnv() (int, error) {
	s := os.Getenv("PORT")
	if s == "" {
		return defaultPort, nil
	}
	port, err := strconv.Atoi(s)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("PORT=%q is not a port number", s)
	}
	return port, nil
}

func maxTimeout(routes []route.Route) time.Duration {
	longest := 0
	for _, r := range routes {
		longest = max(longest, r.Timeout())
	}
	return time.Duration(longest) * time.Second
}
