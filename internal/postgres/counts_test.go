package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"wallets/internal/user"
	"wallets/internal/wallet"
)

// TestCountedLists: a page-number list's count comes from the counters the
// transactions table keeps (migrations/00004_transaction_counts.sql; its
// trigger's body now 00005_balance_shards.sql's), and
// stays exact under concurrent writers, multi-row inserts and deletes: for
// each list it equals counting the rows.
func TestCountedLists(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	shop := e.newUser(t, "shop", user.BusinessType)
	other := e.newUser(t, "other", user.BusinessType)
	if _, err := e.wallets.OpenBusinessWallet(ctx, shop.ID); err != nil {
		t.Fatal(err)
	}
	type customer struct {
		id     int64
		wallet uuid.UUID
	}
	var customers []customer
	for i := range 4 {
		u := e.newUser(t, fmt.Sprintf("c%d", i), user.CustomerType)
		w := e.newWallet(t, u.ID)
		e.fund(t, u.ID, w.UUID, 1_000_00)
		customers = append(customers, customer{u.ID, w.UUID})
	}

	// Writers at once: deposits, charges at two businesses, collections.
	var wg sync.WaitGroup
	for i := range 48 {
		c := customers[i%len(customers)]
		wg.Go(func() {
			if _, err := e.wallets.Deposit(ctx, c.id, c.wallet, 100, "in"); err != nil {
				t.Error(err)
			}
			biz := shop.ID
			if i%3 == 0 {
				biz = other.ID
			}
			ch, err := e.wallets.OpenCharge(ctx, c.id, biz, c.wallet, 50, "charge")
			if err != nil {
				t.Error(err)
				return
			}
			if biz == shop.ID && i%2 == 0 {
				if _, err := e.wallets.Collect(ctx, shop.ID, ch.UUID); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// A multi-row insert (as the importer writes) and a delete.
	if _, err := e.db.Exec(ctx, `
		INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, status, type)
		SELECT gen_random_uuid(), $1, $2, $3, 1, 1, 2 FROM generate_series(1, 25)`,
		customers[0].wallet, customers[0].id, shop.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.owner.Exec(ctx, `DELETE FROM transactions WHERE uuid IN (
		SELECT uuid FROM transactions WHERE business_id = $1 ORDER BY created_at LIMIT 3)`, shop.ID); err != nil {
		t.Fatal(err)
	}

	check := func(name string, scope wallet.TransactionScope, rows string, args ...any) {
		t.Helper()
		var want int
		if err := e.db.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE `+rows, args...).Scan(&want); err != nil {
			t.Fatal(err)
		}
		l, err := e.wallets.ListTransactions(ctx, scope, wallet.TransactionFilter{}, wallet.Page{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if l.Total != want || want == 0 {
			t.Errorf("%s: count %d, rows %d", name, l.Total, want)
		}
		// A filtered list is counted row by row.
		f := wallet.TransactionFilter{Status: wallet.Pending}
		if err := e.db.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE status = 1 AND `+rows, args...).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if l, err = e.wallets.ListTransactions(ctx, scope, f, wallet.Page{Limit: 5}); err != nil || l.Total != want {
			t.Errorf("%s, pending only: count %d (%v), rows %d", name, l.Total, err, want)
		}
	}
	check("business", wallet.TransactionScope{Business: &shop.ID}, "business_id = $1", shop.ID)
	check("other business", wallet.TransactionScope{Business: &other.ID}, "business_id = $1", other.ID)
	for _, c := range customers {
		check("wallet", wallet.TransactionScope{Wallet: &c.wallet}, "wallet_id = $1", c.wallet)
		check("customer at business", wallet.TransactionScope{Business: &shop.ID, Customer: &c.id},
			"customer_id = $1 AND business_id = $2", c.id, shop.ID)
	}
}
