package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"wallets/internal/money"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

func TestDepositWithdrawRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	bob := e.newUser(t, "bob", user.CustomerType)
	shop := e.newUser(t, "shop", user.BusinessType)
	w := e.newWallet(t, alice.ID)
	bw, err := e.wallets.OpenBusinessWallet(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	deposit, withdraw := e.wallets.Deposit, e.wallets.Withdraw
	// The steps run in order, each on the balance the ones before left.
	steps := []struct {
		name    string
		move    func(context.Context, int64, uuid.UUID, money.Amount, string) (wallet.Wallet, error)
		owner   int64
		wallet  uuid.UUID
		amount  money.Amount
		wantErr error
		balance money.Amount // of w afterwards
	}{
		{"deposit into another's wallet", deposit, bob.ID, w.UUID, 100, wallet.ErrNotFound, 0},
		{"bad amount into another's wallet", deposit, bob.ID, w.UUID, -100, wallet.ErrNotFound, 0},
		{"withdraw a bad amount from another's wallet", withdraw, bob.ID, w.UUID, 100, wallet.ErrNotFound, 0},
		{"deposit into no wallet", deposit, alice.ID, uuid.New(), 100, wallet.ErrNotFound, 0},
		{"deposit into a business wallet", deposit, shop.ID, bw.UUID, 100, wallet.ErrNotFound, 0},
		{"deposit zero", deposit, alice.ID, w.UUID, 0, wallet.ErrAmountNotPositive, 0},
		{"deposit a negative amount", deposit, alice.ID, w.UUID, -100, wallet.ErrAmountNotPositive, 0},
		{"withdraw zero", withdraw, alice.ID, w.UUID, 0, wallet.ErrAmountNotNegative, 0},
		{"withdraw a positive amount", withdraw, alice.ID, w.UUID, 100, wallet.ErrAmountNotNegative, 0},
		{"deposit", deposit, alice.ID, w.UUID, 10000, nil, 10000},
		{"overdraw", withdraw, alice.ID, w.UUID, -10001, wallet.ErrNegativeBalance, 10000},
		{"withdraw all", withdraw, alice.ID, w.UUID, -10000, nil, 0},
		{"deposit the most", deposit, alice.ID, w.UUID, money.Max, nil, money.Max},
		{"overflow", deposit, alice.ID, w.UUID, 1, wallet.ErrBalanceOverflow, money.Max},
	}
	for _, s := range steps {
		got, err := s.move(ctx, s.owner, s.wallet, s.amount, s.name)
		if !errors.Is(err, s.wantErr) {
			t.Errorf("%s: error %v, want %v", s.name, err, s.wantErr)
		}
		if err == nil && got.Balance != s.balance {
			t.Errorf("%s: returned balance %v, want %v", s.name, got.Balance, s.balance)
		}
		if b := e.balance(t, w.UUID); b != s.balance {
			t.Errorf("%s: balance %v, want %v", s.name, b, s.balance)
		}
	}
	// Every accepted movement is in the ledger, with its kind.
	l, err := e.wallets.ListTransactions(ctx, wallet.TransactionScope{Wallet: &w.UUID}, wallet.TransactionFilter{}, wallet.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != 3 || e.ledger(t, w.UUID) != money.Max {
		t.Errorf("ledger: %d transactions summing to %v, want 3 summing to %v", l.Total, e.ledger(t, w.UUID), money.Max)
	}
	for _, tr := range l.Items {
		wantType := wallet.DepositType
		if tr.Amount < 0 {
			wantType = wallet.DebitType
		}
		if tr.Type != wantType || tr.Status != wallet.Accepted || tr.BusinessID != nil {
			t.Errorf("recorded %+v", tr)
		}
	}
	// The constraint backs the rule even if code forgot it.
	if _, err := e.db.Exec(ctx, `UPDATE wallets SET balance = -1 WHERE uuid = $1`, w.UUID); err == nil {
		t.Error("database accepted a negative balance")
	}
}

// TestConcurrentMovementsOnOneWallet fires deposits and withdrawals at one
// wallet from many goroutines: no update may be lost, the balance never goes
// below zero and the ledger sums to it.
func TestConcurrentMovementsOnOneWallet(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	const n = 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	withdrawn, refused := 0, 0
	for range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, 1000, "in"); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			got, err := e.wallets.Withdraw(ctx, alice.ID, w.UUID, -1500, "out")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && got.Balance >= 0:
				withdrawn++
			case errors.Is(err, wallet.ErrNegativeBalance):
				refused++
			default:
				t.Error(got, err)
			}
		}()
	}
	wg.Wait()
	want := money.Amount(n*1000 - withdrawn*1500)
	if got := e.balance(t, w.UUID); got != want || got < 0 {
		t.Errorf("balance %v, want %v (%d withdrawals, %d refused)", got, want, withdrawn, refused)
	}
	if sum := e.ledger(t, w.UUID); sum != want {
		t.Errorf("ledger sums to %v, balance is %v", sum, want)
	}
}

func TestOpenChargeRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	bob := e.newUser(t, "bob", user.CustomerType)
	shop := e.newUser(t, "shop", user.BusinessType)
	closed := e.newUser(t, "closed", user.BusinessType)
	if err := e.users.Deactivate(ctx, closed.ID); err != nil {
		t.Fatal(err)
	}
	cw := e.newWallet(t, alice.ID)
	e.fund(t, alice.ID, cw.UUID, 1000)
	bobs := e.newWallet(t, bob.ID)
	bw, err := e.wallets.OpenBusinessWallet(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name               string
		customer, business int64
		wallet             uuid.UUID
		amount             money.Amount
		wantErr            error
	}{
		{"inactive business", alice.ID, closed.ID, cw.UUID, 100, wallet.ErrNotFound},
		{"a customer as the business", alice.ID, bob.ID, cw.UUID, 100, wallet.ErrNotFound},
		{"no such business", alice.ID, 1 << 40, cw.UUID, 100, wallet.ErrNotFound},
		{"another's wallet", alice.ID, shop.ID, bobs.UUID, 100, wallet.ErrNotFound},
		{"a business wallet", shop.ID, shop.ID, bw.UUID, 100, wallet.ErrNotFound},
		{"no such wallet", alice.ID, shop.ID, uuid.New(), 100, wallet.ErrNotFound},
		{"zero", alice.ID, shop.ID, cw.UUID, 0, wallet.ErrAmountNotPositive},
		{"negative", alice.ID, shop.ID, cw.UUID, -100, wallet.ErrAmountNotPositive},
		{"more than the balance", alice.ID, shop.ID, cw.UUID, 5000, nil},
		{"pending", alice.ID, shop.ID, cw.UUID, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.wallets.OpenCharge(ctx, tt.customer, tt.business, tt.wallet, tt.amount, tt.name)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.Status != wallet.Pending || c.Type != wallet.DebitType || c.Amount != tt.amount || c.BusinessID == nil ||
				*c.BusinessID != tt.business || c.WalletID != tt.wallet || c.Description != tt.name || c.UUID == uuid.Nil {
				t.Errorf("charge %+v", c)
			}
		})
	}
	// No money moves until collected.
	if b := e.balance(t, cw.UUID); b != 1000 {
		t.Errorf("balance %v after opening charges, want 10.00", b)
	}
}

func TestCollectRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	shop := e.newUser(t, "shop", user.BusinessType)
	other := e.newUser(t, "other", user.BusinessType)
	cw := e.newWallet(t, alice.ID)
	charge, err := e.wallets.OpenCharge(ctx, alice.ID, shop.ID, cw.UUID, 500, "buy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.wallets.Collect(ctx, other.ID, charge.UUID); !errors.Is(err, wallet.ErrNotFound) {
		t.Errorf("another business's charge: %v", err)
	}
	if _, err := e.wallets.Collect(ctx, shop.ID, uuid.New()); !errors.Is(err, wallet.ErrNotFound) {
		t.Errorf("no such charge: %v", err)
	}
	if _, err := e.wallets.Collect(ctx, shop.ID, charge.UUID); !errors.Is(err, wallet.ErrNoBusinessWallet) {
		t.Errorf("no business wallet: %v", err)
	}
	bw, err := e.wallets.OpenBusinessWallet(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.wallets.OpenBusinessWallet(ctx, shop.ID); !errors.Is(err, wallet.ErrBusinessWalletExists) {
		t.Errorf("second business wallet: %v", err)
	}
	// No funds: rejected, and that sticks.
	tr, err := e.wallets.Collect(ctx, shop.ID, charge.UUID)
	if !errors.Is(err, wallet.ErrNegativeBalance) || tr.Status != wallet.Rejected || tr.UUID != charge.UUID || tr.Amount != 500 {
		t.Errorf("collect without funds: %+v %v", tr, err)
	}
	if st := e.status(t, charge.UUID); st != wallet.Rejected {
		t.Errorf("status after the rejection %v, want rejected", st)
	}
	// Funds arrive, but the business's wallet is full: nothing changes.
	e.fund(t, alice.ID, cw.UUID, 500)
	e.setBalance(t, bw.UUID, money.Max-499)
	if _, err := e.wallets.Collect(ctx, shop.ID, charge.UUID); !errors.Is(err, wallet.ErrBusinessBalanceOverflow) {
		t.Errorf("overflow: %v", err)
	}
	if st, c, b := e.status(t, charge.UUID), e.balance(t, cw.UUID), e.balance(t, bw.UUID); st != wallet.Rejected || c != 500 || b != money.Max-499 {
		t.Errorf("after the overflow: status %v, balances %v and %v; want unchanged", st, c, b)
	}
	// Room again: a rejected charge can be collected.
	e.setBalance(t, bw.UUID, 0)
	if tr, err := e.wallets.Collect(ctx, shop.ID, charge.UUID); err != nil || tr.Status != wallet.Accepted {
		t.Errorf("collect after funds: %+v %v", tr, err)
	}
	if c, b := e.balance(t, cw.UUID), e.balance(t, bw.UUID); c != 0 || b != 500 {
		t.Errorf("balances customer %v business %v, want 0.00 and 5.00", c, b)
	}
	if _, err := e.wallets.Collect(ctx, shop.ID, charge.UUID); !errors.Is(err, wallet.ErrAlreadyProcessed) {
		t.Errorf("second collect: %v", err)
	}
}

// TestConcurrentCollectsOfOneCharge: of many collects of one charge racing,
// exactly one succeeds and the money moves once.
func TestConcurrentCollectsOfOneCharge(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	shop := e.newUser(t, "shop", user.BusinessType)
	cw := e.newWallet(t, alice.ID)
	bw, _ := e.wallets.OpenBusinessWallet(ctx, shop.ID)
	e.fund(t, alice.ID, cw.UUID, 10000)
	charge, err := e.wallets.OpenCharge(ctx, alice.ID, shop.ID, cw.UUID, 2500, "buy")
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := e.wallets.Collect(ctx, shop.ID, charge.UUID)
			results <- err
		})
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
			t.Errorf("collect: %v", err)
		}
	}
	if ok != 1 || processed != n-1 {
		t.Errorf("%d collects succeeded and %d saw it processed; want 1 and %d", ok, processed, n-1)
	}
	if c, b := e.balance(t, cw.UUID), e.balance(t, bw.UUID); c != 7500 || b != 2500 {
		t.Errorf("balances customer %v business %v, want 75.00 and 25.00", c, b)
	}
}

// TestConcurrentCollectsOfManyCharges: many charges against one wallet,
// collected at once by two businesses, never overdraw it; those refused are
// rejected, and no money is created or lost.
func TestConcurrentCollectsOfManyCharges(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	shops := []user.User{e.newUser(t, "shopa", user.BusinessType), e.newUser(t, "shopb", user.BusinessType)}
	cw := e.newWallet(t, alice.ID)
	for _, s := range shops {
		if _, err := e.wallets.OpenBusinessWallet(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	e.fund(t, alice.ID, cw.UUID, 10000)
	const n = 50
	type job struct {
		shop int64
		id   uuid.UUID
	}
	jobs := make([]job, n)
	for i := range jobs {
		s := shops[i%2]
		c, err := e.wallets.OpenCharge(ctx, alice.ID, s.ID, cw.UUID, 700, fmt.Sprint("c", i))
		if err != nil {
			t.Fatal(err)
		}
		jobs[i] = job{s.ID, c.UUID}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, rejected := 0, 0
	for _, j := range jobs {
		wg.Go(func() {
			tr, err := e.wallets.Collect(ctx, j.shop, j.id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && tr.Status == wallet.Accepted:
				accepted++
			case errors.Is(err, wallet.ErrNegativeBalance) && tr.Status == wallet.Rejected:
				rejected++
			default:
				t.Error(tr, err)
			}
		})
	}
	wg.Wait()
	if accepted != 14 || rejected != n-14 { // 100.00 / 7.00
		t.Errorf("%d charges accepted and %d rejected, want 14 and %d", accepted, rejected, n-14)
	}
	var inDB int
	_ = e.db.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE status = $1`, wallet.Rejected).Scan(&inDB)
	if inDB != n-14 {
		t.Errorf("%d rejected in the database, want %d", inDB, n-14)
	}
	if got := e.balance(t, cw.UUID); got != 10000-14*700 {
		t.Errorf("customer balance %v", got)
	}
	var total money.Amount
	_ = e.db.QueryRow(ctx, `SELECT (SELECT sum(balance) FROM wallets) + (SELECT COALESCE(sum(balance), 0) FROM balance_shards)`).Scan(&total)
	if total != 10000 {
		t.Errorf("money created or lost: wallets sum to %v, want 100.00", total)
	}
}

// TestReadsAndLists checks the reads and the lists, offset and keyset pages.
func TestReadsAndLists(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	bob := e.newUser(t, "bob", user.CustomerType)
	shop := e.newUser(t, "shop", user.BusinessType)
	if _, err := e.wallets.BusinessWallet(ctx, shop.ID); !errors.Is(err, wallet.ErrBusinessWalletAbsent) {
		t.Errorf("absent business wallet: %v", err)
	}
	bw, err := e.wallets.OpenBusinessWallet(ctx, shop.ID)
	if err != nil || !bw.IsBusiness || bw.OwnerID != shop.ID {
		t.Fatalf("business wallet %+v %v", bw, err)
	}
	if got, err := e.wallets.BusinessWallet(ctx, shop.ID); err != nil || got.UUID != bw.UUID {
		t.Errorf("business wallet %+v %v", got, err)
	}
	if _, err := e.wallets.Wallet(ctx, shop.ID, bw.UUID); !errors.Is(err, wallet.ErrNotFound) {
		t.Errorf("a business wallet as a customer's: %v", err)
	}
	var ids []uuid.UUID
	for range 5 {
		w := e.newWallet(t, alice.ID)
		if w.IsBusiness || w.OwnerID != alice.ID || w.Balance != 0 {
			t.Errorf("new wallet %+v", w)
		}
		ids = append(ids, w.UUID)
	}
	if got, err := e.wallets.Wallet(ctx, alice.ID, ids[0]); err != nil || got.UUID != ids[0] {
		t.Errorf("wallet %+v %v", got, err)
	}
	if _, err := e.wallets.Wallet(ctx, bob.ID, ids[0]); !errors.Is(err, wallet.ErrNotFound) {
		t.Errorf("another's wallet: %v", err)
	}
	page, err := e.wallets.ListWallets(ctx, alice.ID, wallet.Page{Limit: 2, Offset: 2})
	if err != nil || page.Total != 5 || len(page.Items) != 2 || !page.More || page.Items[0].UUID != ids[2] {
		t.Errorf("offset page %+v %v", page, err)
	}
	last := page.Items[1]
	page, err = e.wallets.ListWallets(ctx, alice.ID, wallet.Page{Limit: 2, Cursor: &wallet.Cursor{Created: last.Created, UUID: last.UUID}})
	if err != nil || page.Total != -1 || len(page.Items) != 1 || page.More || page.Items[0].UUID != ids[0] {
		t.Errorf("keyset page %+v %v", page, err)
	}
	if b, err := e.wallets.ActiveBusiness(ctx, shop.ID); err != nil || b.ID != shop.ID || b.Name != "Shop" {
		t.Errorf("active business %+v %v", b, err)
	}
	if _, err := e.wallets.ActiveBusiness(ctx, alice.ID); !errors.Is(err, wallet.ErrNotFound) {
		t.Errorf("a customer as a business: %v", err)
	}
	if l, err := e.wallets.ListBusinesses(ctx, wallet.Page{Limit: 10}); err != nil || l.Total != 1 || l.Items[0].ID != shop.ID {
		t.Errorf("businesses %+v %v", l, err)
	}
	// Charges at the business, by customer and by status.
	e.fund(t, alice.ID, ids[0], 1000)
	e.fund(t, bob.ID, e.newWallet(t, bob.ID).UUID, 1000)
	c1, _ := e.wallets.OpenCharge(ctx, alice.ID, shop.ID, ids[0], 100, "one")
	if _, err := e.wallets.OpenCharge(ctx, alice.ID, shop.ID, ids[0], 200, "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.wallets.Collect(ctx, shop.ID, c1.UUID); err != nil {
		t.Fatal(err)
	}
	biz, customer := shop.ID, alice.ID
	tests := []struct {
		name  string
		scope wallet.TransactionScope
		f     wallet.TransactionFilter
		want  int
	}{
		{"wallet", wallet.TransactionScope{Wallet: &ids[0]}, wallet.TransactionFilter{}, 3},
		{"wallet deposits", wallet.TransactionScope{Wallet: &ids[0]}, wallet.TransactionFilter{Type: wallet.DepositType}, 1},
		{"business", wallet.TransactionScope{Business: &biz}, wallet.TransactionFilter{}, 2},
		{"business, accepted", wallet.TransactionScope{Business: &biz}, wallet.TransactionFilter{Status: wallet.Accepted}, 1},
		{"customer at business", wallet.TransactionScope{Business: &biz, Customer: &customer}, wallet.TransactionFilter{Status: wallet.Pending}, 1},
	}
	for _, tt := range tests {
		l, err := e.wallets.ListTransactions(ctx, tt.scope, tt.f, wallet.Page{Limit: 10})
		if err != nil || l.Total != tt.want || len(l.Items) != tt.want {
			t.Errorf("%s: %+v %v, want %d", tt.name, l, err, tt.want)
		}
	}
	if _, err := e.wallets.ListTransactions(ctx, wallet.TransactionScope{}, wallet.TransactionFilter{}, wallet.Page{Limit: 10}); err == nil {
		t.Error("a list without a scope")
	}
}
