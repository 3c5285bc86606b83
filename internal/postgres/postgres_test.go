package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/auth"
	"wallets/internal/money"
	"wallets/internal/pgtest"
	"wallets/internal/postgres"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func newUser(t testing.TB, db postgres.Querier, name string, typ auth.UserType) user.User {
	t.Helper()
	u, err := postgres.CreateUser(context.Background(), db, user.User{
		Username: name, Email: name + "@example.com", Type: typ, PasswordHash: "x", FirstName: strings.ToUpper(name[:1]) + name[1:],
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func inTx[T any](t *testing.T, db *pgxpool.Pool, fn func(pgx.Tx) (T, error)) (T, error) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fn(tx)
	if err != nil {
		_ = tx.Rollback(ctx)
		return v, err
	}
	return v, tx.Commit(ctx)
}

func balance(t *testing.T, db postgres.Querier, id uuid.UUID) money.Amount {
	t.Helper()
	var b money.Amount
	if err := db.QueryRow(context.Background(), `SELECT balance FROM wallets WHERE uuid = $1`, id).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
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

func TestDepositRetireRules(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	alice := newUser(t, db, "alice", auth.CustomerType)
	bob := newUser(t, db, "bob", auth.CustomerType)
	w, err := postgres.CreateWallet(ctx, db, alice.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	deposit := func(owner int64, a money.Amount) error {
		_, err := inTx(t, db, func(tx pgx.Tx) (wallet.Wallet, error) { return postgres.Deposit(ctx, tx, owner, w.UUID, a, "d") })
		return err
	}
	retire := func(owner int64, a money.Amount) error {
		_, err := inTx(t, db, func(tx pgx.Tx) (wallet.Wallet, error) { return postgres.Retire(ctx, tx, owner, w.UUID, a, "r") })
		return err
	}
	if err := deposit(bob.ID, 100); !errors.Is(err, wallet.ErrNotFound) {
		t.Errorf("deposit into another's wallet: %v", err)
	}
	if err := deposit(alice.ID, 10000); err != nil {
		t.Fatal(err)
	}
	if err := retire(alice.ID, -10001); !errors.Is(err, wallet.ErrNegativeBalance) {
		t.Errorf("overdraft: %v", err)
	}
	if err := retire(alice.ID, -10000); err != nil {
		t.Errorf("retire all: %v", err)
	}
	if err := deposit(alice.ID, money.Max); err != nil {
		t.Fatal(err)
	}
	if err := deposit(alice.ID, 1); !errors.Is(err, wallet.ErrBalanceOverflow) {
		t.Errorf("overflow: %v", err)
	}
	if got := balance(t, db, w.UUID); got != money.Max {
		t.Errorf("balance %v, want %v", got, money.Max)
	}
	// The constraint backs the rule even if code forgot it.
	if _, err := db.Exec(ctx, `UPDATE wallets SET balance = -1 WHERE uuid = $1`, w.UUID); err == nil {
		t.Error("database accepted a negative balance")
	}
}

// TestConcurrentMovementsOnOneWallet fires deposits and withdrawals at one
// wallet from many goroutines: no update may be lost and the balance may
// never go below zero.
func TestConcurrentMovementsOnOneWallet(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	alice := newUser(t, db, "alice", auth.CustomerType)
	w, _ := postgres.CreateWallet(ctx, db, alice.ID, false)
	const n = 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	retired, refused := 0, 0
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := inTx(t, db, func(tx pgx.Tx) (wallet.Wallet, error) {
				return postgres.Deposit(ctx, tx, alice.ID, w.UUID, 1000, "in")
			}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			_, err := inTx(t, db, func(tx pgx.Tx) (wallet.Wallet, error) {
				return postgres.Retire(ctx, tx, alice.ID, w.UUID, -1500, "out")
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				retired++
			case errors.Is(err, wallet.ErrNegativeBalance):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want := money.Amount(n*1000 - retired*1500)
	if got := balance(t, db, w.UUID); got != want || got < 0 {
		t.Errorf("balance %v, want %v (%d withdrawals, %d refused)", got, want, retired, refused)
	}
	var sum money.Amount
	if err := db.QueryRow(ctx, `SELECT COALESCE(sum(amount), 0) FROM transactions WHERE wallet_id = $1`, w.UUID).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != want {
		t.Errorf("ledger sums to %v, balance is %v", sum, want)
	}
}

// TestConcurrentDebitsOfOneCharge: of many debits of one charge racing,
// exactly one succeeds and the money moves once.
func TestConcurrentDebitsOfOneCharge(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	alice := newUser(t, db, "alice", auth.CustomerType)
	shop := newUser(t, db, "shop", auth.BusinessType)
	cw, _ := postgres.CreateWallet(ctx, db, alice.ID, false)
	bw, _ := postgres.CreateWallet(ctx, db, shop.ID, true)
	if _, err := inTx(t, db, func(tx pgx.Tx) (wallet.Wallet, error) { return postgres.Deposit(ctx, tx, alice.ID, cw.UUID, 10000, "") }); err != nil {
		t.Fatal(err)
	}
	charge, err := postgres.CreateCharge(ctx, db, alice.ID, shop.ID, cw.UUID, 2500, "buy")
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := inTx(t, db, func(tx pgx.Tx) (wallet.Transaction, error) { return postgres.Debit(ctx, tx, shop.ID, charge.UUID) })
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	ok, processed := 0, 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, wallet.ErrAlreadyProcessed):
			processed++
		default:
			t.Errorf("debit: %v", err)
		}
	}
	if ok != 1 || processed != n-1 {
		t.Errorf("%d debits succeeded and %d saw it processed; want 1 and %d", ok, processed, n-1)
	}
	if c, b := balance(t, db, cw.UUID), balance(t, db, bw.UUID); c != 7500 || b != 2500 {
		t.Errorf("balances customer %v business %v, want 75.00 and 25.00", c, b)
	}
}

// TestConcurrentDebitsOfManyCharges: many charges against one wallet,
// debited at once, never overdraw it; those refused are rejected.
func TestConcurrentDebitsOfManyCharges(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	alice := newUser(t, db, "alice", auth.CustomerType)
	shops := []user.User{newUser(t, db, "shopa", auth.BusinessType), newUser(t, db, "shopb", auth.BusinessType)}
	cw, _ := postgres.CreateWallet(ctx, db, alice.ID, false)
	for _, s := range shops {
		if _, err := postgres.CreateWallet(ctx, db, s.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inTx(t, db, func(tx pgx.Tx) (wallet.Wallet, error) { return postgres.Deposit(ctx, tx, alice.ID, cw.UUID, 10000, "") }); err != nil {
		t.Fatal(err)
	}
	const n = 50
	type job struct {
		shop int64
		id   uuid.UUID
	}
	jobs := make([]job, n)
	for i := range jobs {
		s := shops[i%2]
		c, err := postgres.CreateCharge(ctx, db, alice.ID, s.ID, cw.UUID, 700, fmt.Sprint("c", i))
		if err != nil {
			t.Fatal(err)
		}
		jobs[i] = job{s.ID, c.UUID}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := inTx(t, db, func(tx pgx.Tx) (wallet.Transaction, error) {
				tr, err := postgres.Debit(ctx, tx, j.shop, j.id)
				if errors.Is(err, wallet.ErrNegativeBalance) {
					return tr, nil // the rejection commits
				}
				return tr, err
			})
			if err != nil {
				t.Error(err)
			}
			var st wallet.Status
			_ = db.QueryRow(ctx, `SELECT status FROM transactions WHERE uuid = $1`, j.id).Scan(&st)
			mu.Lock()
			if st == wallet.Accepted {
				accepted++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if accepted != 14 { // 100.00 / 7.00
		t.Errorf("%d charges accepted, want 14", accepted)
	}
	var rejected int
	_ = db.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE status = 3`).Scan(&rejected)
	if rejected != n-14 {
		t.Errorf("%d rejected, want %d", rejected, n-14)
	}
	if got := balance(t, db, cw.UUID); got != 10000-14*700 {
		t.Errorf("customer balance %v", got)
	}
	var total money.Amount
	_ = db.QueryRow(ctx, `SELECT sum(balance) FROM wallets`).Scan(&total)
	if total != 10000 {
		t.Errorf("money created or lost: wallets sum to %v, want 100.00", total)
	}
}

func TestDebitRules(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	alice := newUser(t, db, "alice", auth.CustomerType)
	shop := newUser(t, db, "shop", auth.BusinessType)
	other := newUser(t, db, "other", auth.BusinessType)
	cw, _ := postgres.CreateWallet(ctx, db, alice.ID, false)
	charge, _ := postgres.CreateCharge(ctx, db, alice.ID, shop.ID, cw.UUID, 500, "")
	debit := func(biz int64) (wallet.Transaction, error) {
		return inTx(t, db, func(tx pgx.Tx) (wallet.Transaction, error) {
			tr, err := postgres.Debit(ctx, tx, biz, charge.UUID)
			if errors.Is(err, wallet.ErrNegativeBalance) {
				return tr, tx.Commit(ctx)
			}
			return tr, err
		})
	}
	if _, err := debit(other.ID); !errors.Is(err, wallet.ErrNotFound) {
		t.Errorf("another business's charge: %v", err)
	}
	if _, err := debit(shop.ID); !errors.Is(err, wallet.ErrNoBusinessWallet) {
		t.Errorf("no business wallet: %v", err)
	}
	if _, err := postgres.CreateWallet(ctx, db, shop.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.CreateWallet(ctx, db, shop.ID, true); !errors.Is(err, wallet.ErrBusinessWalletExists) {
		t.Errorf("second business wallet: %v", err)
	}
	// No funds: rejected, and that sticks.
	_, _ = inTx(t, db, func(tx pgx.Tx) (wallet.Transaction, error) {
		tr, err := postgres.Debit(ctx, tx, shop.ID, charge.UUID)
		if !errors.Is(err, wallet.ErrNegativeBalance) || tr.Status != wallet.Rejected {
			t.Errorf("debit without funds: %v %v", tr.Status, err)
		}
		return tr, nil
	})
	var st wallet.Status
	_ = db.QueryRow(ctx, `SELECT status FROM transactions WHERE uuid = $1`, charge.UUID).Scan(&st)
	if st != wallet.Rejected {
		t.Errorf("status after refusal %v, want rejected", st)
	}
	// Funds arrive: a rejected charge can be debited again.
	if _, err := inTx(t, db, func(tx pgx.Tx) (wallet.Wallet, error) { return postgres.Deposit(ctx, tx, alice.ID, cw.UUID, 500, "") }); err != nil {
		t.Fatal(err)
	}
	if tr, err := debit(shop.ID); err != nil || tr.Status != wallet.Accepted {
		t.Errorf("debit after funds: %v %v", tr.Status, err)
	}
	if _, err := debit(shop.ID); !errors.Is(err, wallet.ErrAlreadyProcessed) {
		t.Errorf("second debit: %v", err)
	}
}

func TestIdempotencyClaims(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	h1, h2 := []byte("request-1"), []byte("request-2")
	c, err := postgres.ClaimKey(ctx, db, 7, "k", h1)
	if err != nil || c.State != postgres.Claimed {
		t.Fatalf("first claim: %+v %v", c, err)
	}
	if c2, _ := postgres.ClaimKey(ctx, db, 7, "k", h1); c2.State != postgres.InProgress {
		t.Errorf("claim while pending: %v", c2.State)
	}
	if c2, _ := postgres.ClaimKey(ctx, db, 7, "k", h2); c2.State != postgres.Mismatch {
		t.Errorf("claim with another request: %v", c2.State)
	}
	if c2, _ := postgres.ClaimKey(ctx, db, 8, "k", h2); c2.State != postgres.Claimed {
		t.Errorf("same key, other user: %v", c2.State)
	}
	// Completing inside a transaction that rolls back leaves it pending.
	tx, _ := db.Begin(ctx)
	if err := postgres.HoldKey(ctx, tx, 7, "k", c.Token); err != nil {
		t.Fatal(err)
	}
	if err := postgres.CompleteKey(ctx, tx, 7, "k", c.Token, postgres.StoredResponse{Status: 200, Body: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	if c2, _ := postgres.ClaimKey(ctx, db, 7, "k", h1); c2.State != postgres.InProgress {
		t.Errorf("after rollback: %v", c2.State)
	}
	if err := postgres.CompleteKey(ctx, db, 7, "k", c.Token, postgres.StoredResponse{Status: 201, Body: []byte(`{"a":1}`), Headers: map[string][]string{"Set-Cookie": {"jwt=x"}}}); err != nil {
		t.Fatal(err)
	}
	c3, _ := postgres.ClaimKey(ctx, db, 7, "k", h1)
	if c3.State != postgres.Done || c3.Response.Status != 201 || string(c3.Response.Body) != `{"a":1}` || c3.Response.Headers["Set-Cookie"][0] != "jwt=x" {
		t.Errorf("replay: %+v", c3)
	}
	// A released claim can be claimed again; a stale one taken over.
	c4, _ := postgres.ClaimKey(ctx, db, 9, "k", h1)
	if err := postgres.ReleaseKey(ctx, db, 9, "k", c4.Token); err != nil {
		t.Fatal(err)
	}
	if c5, _ := postgres.ClaimKey(ctx, db, 9, "k", h1); c5.State != postgres.Claimed {
		t.Errorf("after release: %v", c5.State)
	}
	if _, err := db.Exec(ctx, `UPDATE idempotency_keys SET locked_at = now() - interval '1 hour' WHERE user_id = 9`); err != nil {
		t.Fatal(err)
	}
	c6, _ := postgres.ClaimKey(ctx, db, 9, "k", h1)
	if c6.State != postgres.Claimed {
		t.Fatalf("stale claim not taken over: %v", c6.State)
	}
	// The old holder can no longer complete.
	if err := postgres.CompleteKey(ctx, db, 9, "k", c4.Token, postgres.StoredResponse{Status: 200}); !errors.Is(err, postgres.ErrClaimLost) {
		t.Errorf("complete by a stale holder: %v", err)
	}
	// Expired keys are forgotten and purged.
	if _, err := db.Exec(ctx, `UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE user_id = 7`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO login_attempts (username, attempted_at) VALUES ('a', now() - interval '1 hour'), ('b', now())`); err != nil {
		t.Fatal(err)
	}
	if n, err := postgres.PurgeExpired(ctx, db, 15*time.Minute, 100); err != nil || n != 2 {
		t.Errorf("purge: %d %v, want the expired key and the old attempt", n, err)
	}
}

// TestListPlansUseIndexes checks that every list the API serves is read
// through the index made for it, in its order, without a sort.
func TestListPlansUseIndexes(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	// A realistic spread: 400 users (a quarter businesses), 10 wallets each,
	// 20 transactions per wallet, then fresh statistics.
	if _, err := db.Exec(ctx, `
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
