package pgtest_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/pgtest"
	"wallets/internal/postgres/migrate"
	"wallets/migrations"
)

func TestMain(m *testing.M) {
	begin := time.Now()
	code := pgtest.Main(m)
	fmt.Fprintf(os.Stderr, "pgtest: set-up, tests and tear-down took %s\n", time.Since(begin))
	os.Exit(code)
}

func countUsers(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatalf("count users: %v", err)
	}
	return n
}

func databaseName(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func insertUser(t *testing.T, pool *pgxpool.Pool, username string) {
	t.Helper()
	_, err := pool.Exec(t.Context(),
		"INSERT INTO users (username, email, password_hash) VALUES ($1, $2, 'x')", username, username+"@example.com")
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
}

func TestDBIsIsolatedAndMigrated(t *testing.T) {
	begin := time.Now()
	a := pgtest.DB(t)
	t.Logf("DB took %s", time.Since(begin))
	b := pgtest.DB(t)

	if an, bn := databaseName(t, a), databaseName(t, b); an == bn {
		t.Fatalf("both pools use database %q", an)
	}
	if n := countUsers(t, a); n != 0 {
		t.Errorf("users in a fresh database = %d, want 0", n)
	}
	insertUser(t, a, "alice")
	if n := countUsers(t, a); n != 1 {
		t.Errorf("users after insert = %d, want 1", n)
	}
	if n := countUsers(t, b); n != 0 {
		t.Errorf("users in the other database = %d, want 0", n)
	}
	var version int64
	if err := pgtest.OwnerDB(t, a).QueryRow(t.Context(), "SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 1 {
		t.Errorf("goose version = %d, want >= 1", version)
	}
	if mode := a.Config().ConnConfig.DefaultQueryExecMode; mode != pgx.QueryExecModeExec {
		t.Errorf("query exec mode = %v, want QueryExecModeExec", mode)
	}
}

func TestDatabaseIsDroppedAfterTheTest(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		pool := pgtest.DB(t)
		name = databaseName(t, pool)
		// A connection the test forgot to close does not stop the drop.
		conn, err := pgx.Connect(t.Context(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn
	})
	var exists bool
	err := pgtest.DB(t).QueryRow(t.Context(),
		"SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %q still exists after its test ended", name)
	}
}

func TestURL(t *testing.T) {
	url := pgtest.URL(t)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("users = %d, want 0", n)
	}
	// The tests connect as the functions do, as the runtime role; the
	// owner's URL names the same database.
	var user, db string
	if err := conn.QueryRow(t.Context(), "SELECT current_user, current_database()").Scan(&user, &db); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(t.Context(), pgtest.OwnerURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(t.Context())
	var ownerUser, ownerDB string
	if err := owner.QueryRow(t.Context(), "SELECT current_user, current_database()").Scan(&ownerUser, &ownerDB); err != nil {
		t.Fatal(err)
	}
	if user != migrations.RuntimeRole || ownerDB != db || ownerUser == user {
		t.Errorf("URL connects as %s to %s, OwnerURL as %s to %s; want %s, the same database, another role", user, db, ownerUser, ownerDB, migrations.RuntimeRole)
	}
	// Already migrated: nothing to apply (the owner migrates).
	applied, err := migrate.Up(t.Context(), pgtest.OwnerURL(t, url), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("migrate.Up on a migrated database applied %v", applied)
	}
}

func TestParallelDatabases(t *testing.T) {
	begin := time.Now()
	t.Cleanup(func() { t.Logf("10 parallel databases took %s", time.Since(begin)) })
	for i := range 10 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			pool := pgtest.DB(t)
			insertUser(t, pool, fmt.Sprint("user", i))
			if n := countUsers(t, pool); n != 1 {
				t.Errorf("users = %d, want 1", n)
			}
		})
	}
}

func TestMigrateEmptyDatabase(t *testing.T) {
	srv := pgtest.Server()
	if srv == nil {
		t.Skip("DATABASE_URL is set; no throwaway server to create an empty database in")
	}
	url, err := srv.CreateDatabase(t.Context(), fmt.Sprint("migrate_empty_", time.Now().UnixNano()), "template0")
	if err != nil {
		t.Fatal(err)
	}
	applied, err := migrate.Up(t.Context(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	// Every migration, in order.
	want, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(want) == 0 {
		t.Fatalf("migration files: %v %v", want, err)
	}
	if !slices.Equal(applied, want) {
		t.Errorf("applied %v, want %v", applied, want)
	}
	applied, err = migrate.Up(t.Context(), url, "")
	if err != nil || len(applied) != 0 {
		t.Errorf("second migrate.Up = %v, %v; want nothing applied", applied, err)
	}
}

// TestServerOutage runs last among the sequential tests; no other test runs
// while the server is down.
func TestServerOutage(t *testing.T) {
	srv := pgtest.Server()
	if srv == nil {
		t.Skip("DATABASE_URL is set; the server is not ours to kill")
	}
	pool := pgtest.DB(t)
	insertUser(t, pool, "before")
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(t.Context()); err == nil {
		t.Error("ping succeeded while the server was down")
	}
	if err := srv.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := countUsers(t, pool); n != 1 {
		t.Errorf("users after restart = %d, want 1", n)
	}
	// New databases still come (the admin pool recovers).
	if n := countUsers(t, pgtest.DB(t)); n != 0 {
		t.Errorf("users in a new database = %d, want 0", n)
	}
}
