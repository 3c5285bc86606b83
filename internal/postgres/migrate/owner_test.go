package migrate_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5"

	"wallets/internal/localpg"
	"wallets/internal/postgres/migrate"
	"wallets/migrations"
)

// The migrations as they run in AWS: not as a superuser, but as the owner
// role that migrations.OwnerBootstrapSQL creates, run by a master user that
// is no superuser either (Aurora's master has rds_superuser: CREATEROLE,
// CREATEDB and the admin option on rds_iam, and owns the database it was
// created with). On a fresh server, so that no role exists beforehand.
//
// The server here is PostgreSQL 15, where CREATEROLE alone would let the
// owner grant rds_iam; from 16 on (Aurora runs 16) only the admin option
// that the bootstrap grants does, so this test cannot tell that grant's
// absence. Without CREATEROLE it fails at migration 00006.
func TestMigrationsRunAsTheOwnerRole(t *testing.T) {
	ctx := t.Context()
	srv, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	exec := func(url string, sqls ...string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		for _, sql := range sqls {
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
	}
	const database, master = "wallets", "wallets_admin"
	exec(srv.URL,
		`CREATE ROLE rds_iam NOLOGIN`,
		`CREATE ROLE `+master+` LOGIN NOSUPERUSER CREATEROLE CREATEDB`,
		`GRANT rds_iam TO `+master+` WITH ADMIN OPTION`,
		`CREATE DATABASE `+database+` OWNER `+master)
	// Every deploy that changes the statement runs it again.
	bootstrap := migrations.OwnerBootstrapSQL(database)
	exec(srv.DatabaseURLAs(database, master), bootstrap, bootstrap)

	ownerURL := srv.DatabaseURLAs(database, migrations.Owner)
	applied, err := migrate.Up(ctx, ownerURL, "")
	if err != nil {
		t.Fatalf("migrate as %s: %v (applied %v)", migrations.Owner, err, applied)
	}
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(files) {
		t.Errorf("applied %d migrations (%v), want all %d", len(applied), applied, len(files))
	}
	if again, err := migrate.Up(ctx, ownerURL, ""); err != nil || len(again) != 0 {
		t.Errorf("second run: applied %v, %v; want nothing", again, err)
	}

	conn, err := pgx.Connect(ctx, srv.DatabaseURLAs(database, master))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	checks := []struct {
		what, sql string
	}{
		{"the owner is no superuser", `SELECT NOT rolsuper FROM pg_roles WHERE rolname = '` + migrations.Owner + `'`},
		{"the owner owns every table", `SELECT bool_and(tableowner = '` + migrations.Owner + `') FROM pg_tables WHERE schemaname = 'public'`},
		{"the runtime role exists, no superuser, creates no roles or databases",
			`SELECT NOT rolsuper AND NOT rolcreaterole AND NOT rolcreatedb AND rolcanlogin FROM pg_roles WHERE rolname = '` + migrations.RuntimeRole + `'`},
		{"the runtime role authenticates with IAM", `SELECT pg_has_role('` + migrations.RuntimeRole + `', 'rds_iam', 'MEMBER')`},
		{"the runtime role may use the schema", `SELECT has_schema_privilege('` + migrations.RuntimeRole + `', 'public', 'USAGE')`},
		{"the runtime role may not create in it", `SELECT NOT has_schema_privilege('` + migrations.RuntimeRole + `', 'public', 'CREATE')`},
		{"the runtime role may write users", `SELECT has_table_privilege('` + migrations.RuntimeRole + `', 'users', 'INSERT')`},
		{"the runtime role may move money",
			`SELECT bool_and(has_function_privilege('` + migrations.RuntimeRole + `', p.oid, 'EXECUTE')) FROM pg_proc p
			  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.proname IN ('move_money', 'collect_charge')`},
	}
	for _, c := range checks {
		var ok *bool
		if err := conn.QueryRow(ctx, c.sql).Scan(&ok); err != nil {
			t.Errorf("%s: %v", c.what, err)
		} else if ok == nil || !*ok {
			t.Errorf("not so: %s", c.what)
		}
	}
	// And it connects and reads as itself.
	app, err := pgx.Connect(ctx, srv.DatabaseURLAs(database, migrations.RuntimeRole))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.WithoutCancel(ctx))
	var n int
	if err := app.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Errorf("as %s: %v", migrations.RuntimeRole, err)
	}
}
