package postgres_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"wallets/internal/pgtest"
	"wallets/migrations"
)

// grants are the privileges of the runtime role, table by table, as the
// migrations give them. A migration that adds a table the service uses adds
// its row here (and one the service does not use, such as import_runs, an
// empty one); TestRuntimeRoleGrants fails on any table missing from this
// map, so no table is opened, or forgotten, by accident.
var grants = map[string][]string{
	"users":                    {"INSERT", "SELECT", "UPDATE"},
	"wallets":                  {"INSERT", "SELECT", "UPDATE"},
	"balance_shards":           {"INSERT", "SELECT", "UPDATE"},
	"transactions":             {"INSERT", "SELECT", "UPDATE"},
	"transaction_counts":       {"SELECT"},
	"idempotency_keys":         {"DELETE", "INSERT", "SELECT", "UPDATE"},
	"login_attempts":           {"DELETE", "INSERT", "SELECT"},
	"change_password_attempts": {"DELETE", "INSERT", "SELECT"},
	"events":                   {"DELETE", "INSERT", "SELECT"},
	"event_outbox":             {"DELETE", "INSERT", "SELECT"},
	"webhook_endpoints":        {"DELETE", "INSERT", "SELECT"},
	"webhook_deliveries":       {"INSERT", "SELECT", "UPDATE"},
	"import_runs":              nil,
	"goose_db_version":         nil,
}

// sequenceGrants are the sequences the runtime role may use (the identity
// columns the service inserts into); it may use no other.
var sequenceGrants = []string{"change_password_attempts_id_seq", "event_outbox_seq_seq", "login_attempts_id_seq", "users_id_seq"}

// functionGrants are the functions the runtime role may execute; nobody
// else but the owner may (EXECUTE is revoked from PUBLIC).
var functionGrants = []string{"collect_charge", "move_money", "wallet_balance", "wallet_credit", "wallet_debit", "wallet_lock"}

func TestRuntimeRoleGrants(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	owner := pgtest.OwnerDB(t, db)

	rows, err := owner.Query(ctx, `
		SELECT c.relname, COALESCE(array_agg(p.privilege ORDER BY p.privilege) FILTER (WHERE p.privilege IS NOT NULL), '{}')
		  FROM pg_class c
		  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
		  LEFT JOIN LATERAL (
		       SELECT privilege FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) privilege
		        WHERE has_table_privilege($1, c.oid, privilege)) p ON true
		 WHERE c.relkind IN ('r', 'p')
		 GROUP BY c.relname`, migrations.RuntimeRole)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for rows.Next() {
		var table string
		var privs []string
		if err := rows.Scan(&table, &privs); err != nil {
			t.Fatal(err)
		}
		got[table] = privs
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, table := range slices.Sorted(maps.Keys(got)) {
		want, known := grants[table]
		if !known {
			t.Errorf("table %s has no row in grants: its migration must grant %s what the service needs (or nothing) and say so here", table, migrations.RuntimeRole)
			continue
		}
		if !slices.Equal(got[table], want) && !(len(got[table]) == 0 && len(want) == 0) {
			t.Errorf("%s: %s may %v, want %v", migrations.RuntimeRole, table, got[table], want)
		}
	}
	for table := range grants {
		if _, exists := got[table]; !exists {
			t.Errorf("grants names %s, which no migration creates", table)
		}
	}

	var seqs []string
	if err := owner.QueryRow(ctx, `
		SELECT COALESCE(array_agg(c.relname::text ORDER BY c.relname), '{}')
		  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
		 WHERE CASE WHEN c.relkind = 'S' THEN has_sequence_privilege($1, c.oid, 'USAGE') END`, migrations.RuntimeRole).Scan(&seqs); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, sequenceGrants) {
		t.Errorf("%s may use sequences %v, want %v", migrations.RuntimeRole, seqs, sequenceGrants)
	}

	var fns []string
	if err := owner.QueryRow(ctx, `
		SELECT COALESCE(array_agg(p.proname::text ORDER BY p.proname), '{}')
		  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
		 WHERE has_function_privilege($1, p.oid, 'EXECUTE')`, migrations.RuntimeRole).Scan(&fns); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fns, functionGrants) {
		t.Errorf("%s may execute %v, want %v", migrations.RuntimeRole, fns, functionGrants)
	}
	var public []string
	if err := owner.QueryRow(ctx, `
		SELECT COALESCE(array_agg(p.proname::text ORDER BY p.proname), '{}')
		  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
		 WHERE has_function_privilege('public', p.oid, 'EXECUTE')`).Scan(&public); err != nil {
		t.Fatal(err)
	}
	if len(public) > 0 {
		t.Errorf("PUBLIC may execute %v", public)
	}
}

// Connected as the functions are, the schema cannot be changed, the
// counters cannot be written or their trigger turned off, and rows the
// service never deletes cannot be deleted; the service's own work (the other
// tests in this package run as the runtime role) goes on.
func TestRuntimeRoleCannotChangeTheSchema(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	var user string
	if err := db.QueryRow(ctx, `SELECT current_user`).Scan(&user); err != nil || user != migrations.RuntimeRole {
		t.Fatalf("connected as %q (%v), want %s", user, err, migrations.RuntimeRole)
	}
	for _, sql := range []string{
		`DROP TABLE transactions`,
		`ALTER TABLE wallets ADD COLUMN note text`,
		`ALTER TABLE transactions DISABLE TRIGGER transactions_counted_insert`,
		`ALTER TABLE transactions DISABLE TRIGGER ALL`,
		`TRUNCATE transactions`,
		`TRUNCATE transaction_counts`,
		`CREATE TABLE scratch (id int)`,
		`CREATE FUNCTION scratch() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
		`CREATE OR REPLACE FUNCTION wallet_balance(p_wallet uuid) RETURNS numeric LANGUAGE sql AS 'SELECT 0::numeric'`,
		`DROP TRIGGER transactions_counted_insert ON transactions`,
		`UPDATE transaction_counts SET n = 0`,
		`INSERT INTO transaction_counts (scope, shard, n) VALUES ('w', 0, 1)`,
		`DELETE FROM transactions`,
		`DELETE FROM users`,
		`DELETE FROM wallets`,
		`DELETE FROM webhook_deliveries`,
		`UPDATE webhook_endpoints SET url = 'https://elsewhere.example.com'`,
		`SELECT * FROM import_runs`,
		`SELECT * FROM goose_db_version`,
		`SELECT count_transactions()`,
	} {
		_, err := db.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s: %v, want insufficient_privilege (42501)", sql, err)
		}
	}
}
