package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"wallets/internal/money"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// The sub-balances of migrations/00005_balance_shards.sql: credits spread
// over a wallet's shards, debits sweep them, and the limit and "never
// negative" stay exact whatever the spread.

// parts returns wallet id's row balance, the number of its shards, their
// balances' sum and the room they hold, and checks the invariant that makes
// a shard's credit safe without looking at the others: all of it together
// stays within money.Max.
func (e *env) parts(t testing.TB, id uuid.UUID) (main money.Amount, shards int, inShards, room money.Amount) {
	t.Helper()
	err := e.db.QueryRow(context.Background(), `
		SELECT w.balance, count(s.shard), COALESCE(sum(s.balance), 0), COALESCE(sum(s.room), 0)
		  FROM wallets w LEFT JOIN balance_shards s ON s.wallet_id = w.uuid
		 WHERE w.uuid = $1 GROUP BY w.balance`, id).Scan(&main, &shards, &inShards, &room)
	if err != nil {
		t.Fatal(err)
	}
	if main+inShards+room > money.Max {
		t.Errorf("wallet %s: row %v + shards %v + room %v is past the limit %v", id, main, inShards, room, money.Max)
	}
	return main, shards, inShards, room
}

func TestSubBalancesSpreadAndSweep(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	const n = 64
	for i := range n {
		got, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, 100, "in")
		if err != nil {
			t.Fatal(err)
		}
		// One caller at a time: the balance answered is exact.
		if want := money.Amount(100 * (i + 1)); got.Balance != want {
			t.Fatalf("deposit %d answered balance %v, want %v", i, got.Balance, want)
		}
	}
	// And from several connections at once.
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, 100, "in"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	main, shards, inShards, _ := e.parts(t, w.UUID)
	if main != 0 || inShards != 2*100*n || shards < 1 {
		t.Errorf("after %d deposits: row %v, %d shards holding %v; want the deposits in the shards", 2*n, main, shards, inShards)
	}
	if got, err := e.wallets.Wallet(ctx, alice.ID, w.UUID); err != nil || got.Balance != 2*100*n {
		t.Errorf("read %+v %v, want balance %v", got, err, money.Amount(2*100*n))
	}
	// One cent more than there is: refused, and nothing moved.
	if _, err := e.wallets.Withdraw(ctx, alice.ID, w.UUID, -(2*100*n + 1), "too much"); !errors.Is(err, wallet.ErrNegativeBalance) {
		t.Errorf("withdraw past the balance: %v", err)
	}
	if m, _, s, _ := e.parts(t, w.UUID); m != 0 || s != 2*100*n {
		t.Errorf("a refused withdrawal moved money: row %v, shards %v", m, s)
	}
	// Most of it: the shards are swept into the row, then debited.
	got, err := e.wallets.Withdraw(ctx, alice.ID, w.UUID, -(2*100*n - 1), "most")
	if err != nil || got.Balance != 1 {
		t.Fatalf("withdraw all but a cent: %+v %v", got, err)
	}
	if m, _, s, _ := e.parts(t, w.UUID); m != 1 || s != 0 {
		t.Errorf("after the sweep: row %v, shards %v; want 0.01 and 0", m, s)
	}
	if got, err := e.wallets.Withdraw(ctx, alice.ID, w.UUID, -1, "last cent"); err != nil || got.Balance != 0 {
		t.Errorf("last cent: %+v %v", got, err)
	}
	if sum := e.ledger(t, w.UUID); sum != 0 {
		t.Errorf("ledger sums to %v, want 0", sum)
	}
}

// TestSubBalancesLimitIsExact fills a wallet to the limit with concurrent
// deposits: exactly as many are accepted as fit, whichever shards they hit.
func TestSubBalancesLimitIsExact(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	// Start 10 deposits of 0.50 below the limit: the rooms the shards were
	// given shrink to nothing, and 10 more fit exactly.
	const step = 50
	start := money.Max - 10*step
	if _, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, start, "most of the limit"); err != nil {
		t.Fatal(err)
	}
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			_, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, step, "near the limit")
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, wallet.ErrBalanceOverflow):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 10 || refused.Load() != 30 {
		t.Errorf("%d accepted, %d refused; want 10 and 30", accepted.Load(), refused.Load())
	}
	if b := e.balance(t, w.UUID); b != money.Max {
		t.Errorf("balance %v, want the limit %v", b, money.Max)
	}
	e.parts(t, w.UUID)
	if _, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, 1, "a cent more"); !errors.Is(err, wallet.ErrBalanceOverflow) {
		t.Errorf("a cent past the limit: %v", err)
	}
	// Room again after a withdrawal: a credit that fits is accepted.
	if _, err := e.wallets.Withdraw(ctx, alice.ID, w.UUID, -step, "out"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, step, "fits"); err != nil || got.Balance != money.Max {
		t.Errorf("deposit that fits again: %+v %v", got, err)
	}
	if sum := e.ledger(t, w.UUID); sum != money.Max {
		t.Errorf("ledger sums to %v, want %v", sum, money.Max)
	}
}

// TestHotWalletMixedMovements: deposits, withdrawals and collections hit one
// customer wallet and one business wallet at once; no money is created or
// lost, no balance goes negative, and every ledger sums to its balance.
func TestHotWalletMixedMovements(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	shop := e.newUser(t, "shop", user.BusinessType)
	cw := e.newWallet(t, alice.ID)
	bw, err := e.wallets.OpenBusinessWallet(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	charges := make([]uuid.UUID, n)
	for i := range charges {
		c, err := e.wallets.OpenCharge(ctx, alice.ID, shop.ID, cw.UUID, 300, "charge")
		if err != nil {
			t.Fatal(err)
		}
		charges[i] = c.UUID
	}
	var in, out, collected atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := e.wallets.Deposit(ctx, alice.ID, cw.UUID, 500, "in"); err != nil {
				t.Error(err)
				return
			}
			in.Add(500)
		})
		wg.Go(func() {
			_, err := e.wallets.Withdraw(ctx, alice.ID, cw.UUID, -200, "out")
			switch {
			case err == nil:
				out.Add(200)
			case !errors.Is(err, wallet.ErrNegativeBalance):
				t.Error(err)
			}
		})
		wg.Go(func() {
			_, err := e.wallets.Collect(ctx, shop.ID, charges[i])
			switch {
			case err == nil:
				collected.Add(300)
			case !errors.Is(err, wallet.ErrNegativeBalance):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	c, b := e.balance(t, cw.UUID), e.balance(t, bw.UUID)
	if want := money.Amount(in.Load() - out.Load() - collected.Load()); c != want || c < 0 {
		t.Errorf("customer balance %v, want %v", c, want)
	}
	if b != money.Amount(collected.Load()) {
		t.Errorf("business balance %v, want %v", b, money.Amount(collected.Load()))
	}
	var ledgerC, ledgerB money.Amount
	if err := e.db.QueryRow(ctx, `
		SELECT COALESCE(sum(CASE WHEN business_id IS NULL THEN amount ELSE -amount END), 0),
		       COALESCE(sum(amount) FILTER (WHERE business_id IS NOT NULL), 0)
		  FROM transactions WHERE wallet_id = $1 AND status = $2`, cw.UUID, wallet.Accepted).Scan(&ledgerC, &ledgerB); err != nil {
		t.Fatal(err)
	}
	if ledgerC != c || ledgerB != b {
		t.Errorf("ledgers sum to %v (customer) and %v (business); balances are %v and %v", ledgerC, ledgerB, c, b)
	}
	e.parts(t, cw.UUID)
	e.parts(t, bw.UUID)
}

// TestMovementsFollowTheRules: whatever the spread of a balance over a
// wallet's row and sub-balances, a movement is allowed exactly when the
// balance rules allow it on the whole balance: it stays between zero and
// money.Max (their bounds: TestMoveMoneyBounds).
func TestMovementsFollowTheRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	tests := []struct {
		name string
		// deposits build the balance, spread over sub-balances.
		deposits []money.Amount
		sweep    bool // withdraw a cent and deposit it back: the shards are swept into the row
		amount   money.Amount
	}{
		{"deposit into an empty wallet", nil, false, 100},
		{"deposit up to the limit", []money.Amount{money.Max - 1000, 900}, false, 100},
		{"deposit a cent past the limit", []money.Amount{money.Max - 1000, 900}, false, 101},
		{"deposit past the limit, part in the row", []money.Amount{money.Max - 1000, 900}, true, 101},
		{"deposit the limit at once", nil, false, money.Max},
		{"withdraw from an empty wallet", nil, false, -1},
		{"withdraw all of a spread balance", []money.Amount{300, 200, 100, 50, 25}, false, -675},
		{"withdraw a cent more than a spread balance", []money.Amount{300, 200, 100, 50, 25}, false, -676},
		{"withdraw part, row and shards", []money.Amount{300, 200, 100}, true, -450},
		{"withdraw more than row and shards", []money.Amount{300, 200, 100}, true, -601},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.newWallet(t, alice.ID)
			var balance money.Amount
			for _, d := range tt.deposits {
				if _, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, d, "build"); err != nil {
					t.Fatal(err)
				}
				balance += d
			}
			if tt.sweep && balance > 0 {
				if _, err := e.wallets.Withdraw(ctx, alice.ID, w.UUID, -1, "sweep"); err != nil {
					t.Fatal(err)
				}
				if _, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, 1, "back"); err != nil {
					t.Fatal(err)
				}
			}
			want, wantErr := balance+tt.amount, error(nil)
			var got wallet.Wallet
			var err error
			if tt.amount > 0 {
				if want > money.Max {
					want, wantErr = balance, wallet.ErrBalanceOverflow
				}
				got, err = e.wallets.Deposit(ctx, alice.ID, w.UUID, tt.amount, "move")
			} else {
				if want < 0 {
					want, wantErr = balance, wallet.ErrNegativeBalance
				}
				got, err = e.wallets.Withdraw(ctx, alice.ID, w.UUID, tt.amount, "move")
			}
			if !errors.Is(err, wantErr) || (err == nil && got.Balance != want) {
				t.Errorf("%v on %v: got %v %v, want %v %v", tt.amount, balance, got.Balance, err, want, wantErr)
			}
			if b := e.balance(t, w.UUID); b != want {
				t.Errorf("balance afterwards %v, want %v", b, want)
			}
			e.parts(t, w.UUID)
		})
	}
}

// TestSubBalanceIsTheBackends: a credit goes to its backend's shard, so
// credits from two connections at once land on two shards unless their
// process ids agree modulo 16.
func TestSubBalanceIsTheBackends(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	want := map[int32]bool{}
	for range 2 {
		c, err := e.db.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release() // held, so the next Acquire is another backend
		var pid int32
		var ok bool
		if err := c.QueryRow(ctx, `SELECT pg_backend_pid(), wallet_credit($1, 1.00, $2)`, w.UUID, money.Max).Scan(&pid, &ok); err != nil || !ok {
			t.Fatalf("credit: %v %v", ok, err)
		}
		want[pid%16] = true
	}
	rows, err := e.db.Query(ctx, `SELECT shard FROM balance_shards WHERE wallet_id = $1 AND balance > 0`, w.UUID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int32]bool{}
	for rows.Next() {
		var s int16
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got[int32(s)] = true
	}
	if rows.Err() != nil || len(got) != len(want) {
		t.Fatalf("shards %v, want the backends' %v (%v)", got, want, rows.Err())
	}
	for s := range want {
		if !got[s] {
			t.Errorf("shards %v, want the backends' %v", got, want)
		}
	}
	if b := e.balance(t, w.UUID); b != 200 {
		t.Errorf("balance %v, want 2.00", b)
	}
}
