// Package pgtest gives integration tests a real, migrated PostgreSQL database
// each, isolated from every other test.
//
// A test package wires it up once:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and each test that needs a database asks for a fresh one:
//
//	pool := pgtest.DB(t)
//
// Main uses the server at DATABASE_URL when that is set, and otherwise starts
// a throwaway server (package localpg) for the test binary. It migrates a
// template database once; DB and URL clone it with CREATE DATABASE ...
// TEMPLATE, which takes milliseconds, and drop the clone when the test ends.
// Tests may therefore run in parallel, and several test binaries may share
// one DATABASE_URL: every database name is unique to its process.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/localpg"
	"wallets/internal/postgres/migrate"
	"wallets/migrations"
)

// env is the set-up Main builds; nil outside Main.
type env struct {
	server   *localpg.Server // nil when DATABASE_URL was given
	baseURL  string          // a database on the server to connect to for CREATE/DROP DATABASE
	admin    *pgxpool.Pool   // connected to baseURL
	template string          // the migrated template database
	prefix   string          // unique to this process, starts every database name
	count    atomic.Int64    // databases handed out so far
	// appPassword is the runtime role's password on a server given by
	// DATABASE_URL with a password ("" on the throwaway server, which
	// trusts local connections).
	appPassword string
}

var current atomic.Pointer[env]

// Main prepares the database server, runs the tests and tears everything
// down; call it from TestMain and pass its result to os.Exit. It uses the
// server at DATABASE_URL if set, else starts a throwaway one for this test
// binary; it then creates a template database unique to this process and
// applies the migrations to it. After m.Run it drops the template and stops
// the server it started. A failure to set up is reported on stderr and makes
// the binary exit with status 1 without running any test.
func Main(m *testing.M) int {
	e, err := setUp()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if e != nil {
			if err := e.tearDown(); err != nil {
				fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			}
		}
		return 1
	}
	current.Store(e)
	code := m.Run()
	current.Store(nil)
	if err := e.tearDown(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// DB returns a pool connected to a fresh database holding the migrated
// schema and no rows, for this test alone. The pool uses
// QueryExecModeExec, as the application does (no named prepared
// statements). When the test ends the pool is closed and the database
// dropped.
func DB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dbURL := URL(t)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", dbURL, err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", dbURL, err)
	}
	// Registered after URL's cleanup, so it runs before the drop.
	t.Cleanup(pool.Close)
	return pool
}

// URL creates a fresh database like DB does and returns its URL (a DSN, if
// DATABASE_URL was one), connecting as the runtime role
// (migrations.RuntimeRole), as the functions do: it may read and write rows,
// not change the schema. OwnerURL turns it into the owner's. The database is
// dropped when the test ends, ending any connection still open to it.
func URL(t testing.TB) string {
	t.Helper()
	owner := ownerURL(t)
	app, err := asRuntimeRole(owner, current.Load().appPassword)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return app
}

// OwnerURL returns the URL of the database of url (one URL returned) that
// connects as the role that migrated it and owns its schema, for a test
// that needs more than the functions may do (truncating, altering, reading
// another role's view).
func OwnerURL(t testing.TB, dbURL string) string {
	t.Helper()
	e := current.Load()
	if e == nil {
		t.Fatal("pgtest: no database server; call pgtest.Main from TestMain")
	}
	name, err := databaseOf(dbURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	owner, err := withDatabase(e.baseURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return owner
}

// OwnerDB returns a pool on the database of pool (one DB returned) that
// connects as its owner (see OwnerURL), closed when the test ends.
func OwnerDB(t testing.TB, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(OwnerURL(t, pool.Config().ConnString()))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	owner, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(owner.Close)
	return owner
}

// ownerURL creates the fresh database and returns the owner's URL of it.
func ownerURL(t testing.TB) string {
	t.Helper()
	e := current.Load()
	if e == nil {
		t.Fatal("pgtest: no database server; call pgtest.Main from TestMain")
	}
	name := fmt.Sprintf("%s_%d_%s", e.prefix, e.count.Add(1), slug(t.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.exec(ctx, "CREATE DATABASE %s TEMPLATE %s", name, e.template); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.exec(ctx, "DROP DATABASE %s WITH (FORCE)", name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	dbURL, err := withDatabase(e.baseURL, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dbURL
}

// Server returns the throwaway server Main started, for tests that stop and
// restart it; nil when the tests use DATABASE_URL or outside Main.
func Server() *localpg.Server {
	if e := current.Load(); e != nil {
		return e.server
	}
	return nil
}

// setUp starts or finds the server and creates the migrated template. On
// error it returns whatever it has built so far, for tearDown.
func setUp() (*env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	e := &env{prefix: fmt.Sprintf("pgtest_%d_%s", os.Getpid(), hex.EncodeToString(suffix))}

	e.baseURL = os.Getenv("DATABASE_URL")
	if e.baseURL == "" {
		srv, err := localpg.Start(ctx, localpg.Options{})
		if err != nil {
			return nil, err
		}
		e.server = srv
		e.baseURL = srv.URL
	}
	cfg, err := pgxpool.ParseConfig(e.baseURL)
	if err != nil {
		return e, fmt.Errorf("parse database URL: %w", err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.MaxConns = 4
	// Check every connection before use: a test may have restarted the
	// server (see Server) since the connection was last used.
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return true }
	if e.admin, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return e, fmt.Errorf("connect: %w", err)
	}

	template := e.prefix + "_template"
	if err := e.exec(ctx, "CREATE DATABASE %s", template); err != nil {
		return e, err
	}
	e.template = template
	templateURL, err := withDatabase(e.baseURL, template)
	if err != nil {
		return e, err
	}
	if _, err := migrate.Up(ctx, templateURL, ""); err != nil {
		return e, fmt.Errorf("migrate the template database: %w", err)
	}
	if err := e.runtimeRoleLogin(ctx); err != nil {
		return e, err
	}
	// Nobody may connect to the template from now on: CREATE DATABASE
	// refuses to copy a database that has sessions.
	if err := e.exec(ctx, "ALTER DATABASE %s ALLOW_CONNECTIONS false", template); err != nil {
		return e, err
	}
	return e, nil
}

// tearDown drops the template and stops the server, whichever exist.
func (e *env) tearDown() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	if e.template != "" {
		errs = append(errs, e.exec(ctx, "DROP DATABASE %s WITH (FORCE)", e.template))
	}
	if e.admin != nil {
		e.admin.Close()
	}
	if e.server != nil {
		errs = append(errs, e.server.Stop())
	}
	return errors.Join(errs...)
}

// exec runs a statement whose %s verbs are database names, quoted here.
func (e *env) exec(ctx context.Context, format string, names ...string) error {
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = pgx.Identifier{n}.Sanitize()
	}
	sql := fmt.Sprintf(format, args...)
	if _, err := e.admin.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// withDatabase returns base, a postgres:// URL or a keyword/value DSN, with
// its database replaced by name.
func withDatabase(base, name string) (string, error) {
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		// In a DSN the last setting of a keyword wins.
		return base + " dbname='" + name + "'", nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// runtimeRoleLogin lets the runtime role log in on a server given by a
// DATABASE_URL with a password (which presumably asks for one): it gets a
// fixed password, the same for every test binary sharing the server.
func (e *env) runtimeRoleLogin(ctx context.Context) error {
	if e.server != nil || !hasPassword(e.baseURL) {
		return nil
	}
	e.appPassword = "pgtest-" + migrations.RuntimeRole
	sql := fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'", pgx.Identifier{migrations.RuntimeRole}.Sanitize(), e.appPassword)
	if _, err := e.admin.Exec(ctx, sql); err != nil {
		return fmt.Errorf("give %s a password for the tests: %w", migrations.RuntimeRole, err)
	}
	return nil
}

func hasPassword(base string) bool {
	if u, err := url.Parse(base); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		_, set := u.User.Password()
		return set
	}
	return strings.Contains(base, "password=")
}

// asRuntimeRole returns dbURL connecting as the runtime role.
func asRuntimeRole(dbURL, password string) (string, error) {
	if !strings.HasPrefix(dbURL, "postgres://") && !strings.HasPrefix(dbURL, "postgresql://") {
		dsn := dbURL + " user='" + migrations.RuntimeRole + "'"
		if password != "" {
			dsn += " password='" + password + "'"
		}
		return dsn, nil
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	u.User = url.User(migrations.RuntimeRole)
	if password != "" {
		u.User = url.UserPassword(migrations.RuntimeRole, password)
	}
	return u.String(), nil
}

// databaseOf returns the database a URL or DSN names.
func databaseOf(dbURL string) (string, error) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	return cfg.Database, nil
}

// slug turns a test name into a short lower-case identifier fragment, so a
// leftover database tells which test made it. Names stay under PostgreSQL's
// 63-byte limit.
func slug(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if b.Len() == 20 {
			break
		}
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
