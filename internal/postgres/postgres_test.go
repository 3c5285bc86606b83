package postgres_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/apperr"
	"wallets/internal/idempotency"
	"wallets/internal/money"
	"wallets/internal/pgtest"
	"wallets/internal/postgres"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fakeHasher "hashes" by prefixing: tests that do not time argon2id need
// not pay for it. A hash without the prefix is unreadable, as a corrupt one
// is to a real Hasher.
type fakeHasher struct{}

const fakePrefix = "fake$"

func (fakeHasher) Hash(password string) (string, error) { return fakePrefix + password, nil }

func (fakeHasher) Verify(password, hash string) (bool, error) {
	rest, ok := strings.CutPrefix(hash, fakePrefix)
	if !ok {
		return false, errors.New("fake hasher: unreadable hash")
	}
	return rest == password, nil
}

func (fakeHasher) VerifyDummy(string) {}

// NeedsRehash asks for a fresh hash of every hash but its own.
func (fakeHasher) NeedsRehash(hash string) bool { return !strings.HasPrefix(hash, fakePrefix) }

// password is strong enough for every test user.
const password = "plover-quartz-917"

// env is one test's database and the services over it.
type env struct {
	db      *pgxpool.Pool // as the runtime role, like the functions
	owner   *pgxpool.Pool // as the schema's owner, for fixtures the functions may not write
	wallets *postgres.Wallets
	users   *postgres.Users
	keys    *postgres.Idempotency
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := pgtest.DB(t)
	return &env{db: db, owner: pgtest.OwnerDB(t, db), wallets: postgres.NewWallets(db, nil), users: postgres.NewUsers(db, fakeHasher{}), keys: postgres.NewIdempotency(db)}
}

// newUser signs up name, of type typ, with password.
func (e *env) newUser(t testing.TB, name string, typ user.Type) user.User {
	t.Helper()
	u, err := e.users.SignUp(context.Background(), user.NewAccount{
		Username: name, Email: name + "@example.com", FirstName: strings.ToUpper(name[:1]) + name[1:],
		Type: typ, Password: password, Password2: password,
	})
	if err != nil {
		t.Fatalf("sign up %s: %v", name, err)
	}
	return u
}

// newWallet opens a customer wallet for owner.
func (e *env) newWallet(t testing.TB, owner int64) wallet.Wallet {
	t.Helper()
	w, err := e.wallets.OpenWallet(context.Background(), owner)
	if err != nil {
		t.Fatalf("open wallet: %v", err)
	}
	return w
}

// fund deposits amount into owner's wallet id.
func (e *env) fund(t testing.TB, owner int64, id uuid.UUID, amount money.Amount) {
	t.Helper()
	if _, err := e.wallets.Deposit(context.Background(), owner, id, amount, "fund"); err != nil {
		t.Fatalf("deposit: %v", err)
	}
}

func (e *env) balance(t testing.TB, id uuid.UUID) money.Amount {
	t.Helper()
	var b money.Amount
	if err := e.db.QueryRow(context.Background(), `SELECT wallet_balance($1)`, id).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) status(t testing.TB, id uuid.UUID) wallet.Status {
	t.Helper()
	var s wallet.Status
	if err := e.db.QueryRow(context.Background(), `SELECT status FROM transactions WHERE uuid = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// ledger returns the sum of wallet id's transactions.
func (e *env) ledger(t testing.TB, id uuid.UUID) money.Amount {
	t.Helper()
	var sum money.Amount
	if err := e.db.QueryRow(context.Background(), `SELECT COALESCE(sum(amount), 0) FROM transactions WHERE wallet_id = $1`, id).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

// fieldsOf returns the fields of an Invalid error, sorted, or nil.
func fieldsOf(err error) []string {
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Invalid {
		return nil
	}
	var fields []string
	for f := range e.Fields {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	return fields
}

func TestAmountRoundTripsThroughNumeric(t *testing.T) {
	db := pgtest.DB(t)
	for _, a := range []money.Amount{1, 1050, money.Max, -money.Max} {
		var back money.Amount
		var text string
		if err := db.QueryRow(context.Background(), `SELECT $1::numeric(11,2), $1::numeric(11,2)::text`, a).Scan(&back, &text); err != nil {
			t.Fatal(err)
		}
		if back != a || text != a.String() {
			t.Errorf("%v stored as %s, read back %v", a, text, back)
		}
	}
}

// TestUnreachableDatabase checks every kind of service call against a pool
// whose server refuses connections fails with apperr.ErrUnavailable in the
// chain, the driver's error still there behind it.
func TestUnreachableDatabase(t *testing.T) {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, "postgres://wallets:x@127.0.0.1:1/wallets?sslmode=disable", postgres.PoolOptions{ConnectTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	wallets, users, keys, health := postgres.NewWallets(pool, nil), postgres.NewUsers(pool, fakeHasher{}), postgres.NewIdempotency(pool), postgres.NewHealth(pool)
	id := uuid.New()
	ran := false
	tests := []struct {
		name string
		call func() error
	}{
		{"Wallet", func() error { _, err := wallets.Wallet(ctx, 1, id); return err }},
		{"ListWallets", func() error { _, err := wallets.ListWallets(ctx, 1, wallet.Page{Limit: 10}); return err }},
		{"OpenWallet", func() error { _, err := wallets.OpenWallet(ctx, 1); return err }},
		{"Deposit", func() error { _, err := wallets.Deposit(ctx, 1, id, 100, ""); return err }},
		{"Deposit with a bad amount", func() error { _, err := wallets.Deposit(ctx, 1, id, -100, ""); return err }},
		{"Withdraw", func() error { _, err := wallets.Withdraw(ctx, 1, id, -100, ""); return err }},
		{"OpenCharge", func() error { _, err := wallets.OpenCharge(ctx, 1, 2, id, 100, ""); return err }},
		{"Collect", func() error { _, err := wallets.Collect(ctx, 2, id); return err }},
		{"ListTransactions", func() error {
			_, err := wallets.ListTransactions(ctx, wallet.TransactionScope{Wallet: &id}, wallet.TransactionFilter{}, wallet.Page{Limit: 10})
			return err
		}},
		{"ActiveBusiness", func() error { _, err := wallets.ActiveBusiness(ctx, 2); return err }},
		{"ListBusinesses", func() error { _, err := wallets.ListBusinesses(ctx, wallet.Page{Limit: 10}); return err }},
		{"BusinessWallet", func() error { _, err := wallets.BusinessWallet(ctx, 2); return err }},
		{"SignUp", func() error {
			_, err := users.SignUp(ctx, user.NewAccount{Username: "alice", Email: "alice@example.com", Password: password, Password2: password})
			return err
		}},
		{"LogIn", func() error { _, err := users.LogIn(ctx, "alice", password, ""); return err }},
		{"User", func() error { _, err := users.User(ctx, 1); return err }},
		{"UpdateProfile", func() error { _, err := users.UpdateProfile(ctx, 1, user.ProfileChange{}); return err }},
		{"ChangePassword", func() error {
			return users.ChangePassword(ctx, 1, user.PasswordChange{Old: "a", New: password, New2: password})
		}},
		{"RevokeTokens", func() error { return users.RevokeTokens(ctx, 1, 1) }},
		{"Deactivate", func() error { return users.Deactivate(ctx, 1) }},
		{"Run", func() error {
			_, _, err := keys.Run(ctx, idempotency.Request{User: 1, Key: "k", Hash: []byte("h")}, func(context.Context, *postgres.Unit) (idempotency.Answer, error) {
				ran = true
				return idempotency.Answer{Status: 200}, nil
			})
			return err
		}},
		{"Purge", func() error { _, err := keys.Purge(ctx, 10); return err }},
		{"Ping", func() error { return health.Ping(ctx) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var connErr *pgconn.ConnectError
			if !errors.Is(err, apperr.ErrUnavailable) || !errors.As(err, &connErr) {
				t.Errorf("error %v: want apperr.ErrUnavailable and the connect error in its chain", err)
			}
		})
	}
	if ran {
		t.Error("Run ran its work without a claim")
	}
}

func TestHealthPing(t *testing.T) {
	if err := postgres.NewHealth(pgtest.DB(t)).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestListPlansUseIndexes checks that every list the API serves is read
// through the index made for it, in its order, without a sort.
func TestListPlansUseIndexes(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	// A realistic spread: 400 users (a quarter businesses), 10 wallets each,
	// 20 transactions per wallet, then fresh statistics (ANALYZE is the
	// owner's).
	if _, err := pgtest.OwnerDB(t, db).Exec(ctx, `
		INSERT INTO users (username, email, type, password_hash)
		SELECT 'u' || i, 'u' || i || '@example.com', CASE WHEN i % 4 = 0 THEN 2 ELSE 1 END, 'x'
		FROM generate_series(1, 400) i;
		INSERT INTO wallets (uuid, user_id, balance, created_at)
		SELECT gen_random_uuid(), u.id, 100, now() - (w || ' minutes')::interval
		FROM users u, generate_series(1, 10) w WHERE u.type = 1;
		INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, status, type, created_at)
		SELECT gen_random_uuid(), w.uuid, w.user_id, 4 * (1 + (t % 100)), 1, 1, 2, now() - (t || ' seconds')::interval
		FROM wallets w, generate_series(1, 20) t;
		-- One busy wallet of customer 1, paying business 8 often.
		INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, status, type, created_at)
		SELECT gen_random_uuid(), w.uuid, 1, 8, 1, 1, 2, now() - (t || ' seconds')::interval
		FROM (SELECT uuid FROM wallets WHERE user_id = 1 ORDER BY uuid LIMIT 1) w, generate_series(1, 5000) t;
		ANALYZE;`); err != nil {
		t.Fatal(err)
	}
	var w uuid.UUID
	if err := db.QueryRow(ctx, `SELECT uuid FROM wallets WHERE user_id = 1 ORDER BY uuid LIMIT 1`).Scan(&w); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tests := []struct {
		name, sql, index string
		args             []any
	}{
		{"wallet transactions", `SELECT uuid FROM transactions WHERE wallet_id = $1 ORDER BY created_at DESC, uuid DESC LIMIT 20`, "transactions_wallet_idx", []any{w}},
		{"wallet transactions, keyset", `SELECT uuid FROM transactions WHERE wallet_id = $1 AND (created_at, uuid) < (now(), $1) ORDER BY created_at DESC, uuid DESC LIMIT 21`, "transactions_wallet_idx", []any{w}},
		{"business transactions", `SELECT uuid FROM transactions WHERE business_id = $1 ORDER BY created_at DESC, uuid DESC LIMIT 20`, "transactions_business_idx", []any{int64(8)}},
		{"customer charges at a business", `SELECT uuid FROM transactions WHERE customer_id = $1 AND business_id = $2 ORDER BY created_at DESC, uuid DESC LIMIT 20`, "transactions_customer_business_idx", []any{int64(1), int64(8)}},
		{"wallets", `SELECT uuid FROM wallets WHERE user_id = $1 AND NOT is_business ORDER BY created_at DESC, uuid DESC LIMIT 20`, "wallets_user_created_idx", []any{int64(1)}},
		{"businesses", `SELECT id FROM users WHERE type = 2 AND is_active ORDER BY id ASC LIMIT 20`, "users_active_business_idx", nil},
	}
	for _, tt := range tests {
		rows, err := conn.Query(ctx, "EXPLAIN "+tt.sql, tt.args...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			plan = append(plan, line)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, tt.index) || strings.Contains(text, "Sort") {
			t.Errorf("%s: plan does not read %s in order:\n%s", tt.name, tt.index, text)
		}
	}
}

// setBalance makes wallet id's balance b by hand, in its row, emptying its
// sub-balances and the room they held below the limit, as a wallet that
// never had a credit spread over them.
func (e *env) setBalance(t testing.TB, id uuid.UUID, b money.Amount) {
	t.Helper()
	if _, err := e.db.Exec(context.Background(), `
		WITH s AS (UPDATE balance_shards SET balance = 0, room = 0 WHERE wallet_id = $1)
		UPDATE wallets SET balance = $2 WHERE uuid = $1`, id, b); err != nil {
		t.Fatal(err)
	}
}
