package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"wallets/internal/user"
	"wallets/internal/wallet"
)

// BenchmarkDeposit measures deposits from parallel clients into one hot
// wallet (every deposit waits for the wallet's row lock) against the same
// load spread over many wallets: the ratio is the cost of serialising on
// one row.
func BenchmarkDeposit(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b)
	owner := e.newUser(b, "bench", user.CustomerType)
	wallets := make([]uuid.UUID, 64)
	for i := range wallets {
		wallets[i] = e.newWallet(b, owner.ID).UUID
	}
	run := func(b *testing.B, pick func(i int64) uuid.UUID) {
		var n atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.wallets.Deposit(ctx, owner.ID, pick(n.Add(1)), 100, "bench"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("hot-wallet", func(b *testing.B) { run(b, func(int64) uuid.UUID { return wallets[0] }) })
	b.Run("spread", func(b *testing.B) { run(b, func(i int64) uuid.UUID { return wallets[i%int64(len(wallets))] }) })
}

// BenchmarkDeepPage reads page 200 of a wallet's 10,000 transactions by
// offset and by keyset cursor: the ratio is what the cursor saves on deep
// pages.
func BenchmarkDeepPage(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b)
	owner := e.newUser(b, "bench", user.CustomerType)
	w := e.newWallet(b, owner.ID)
	if _, err := e.db.Exec(ctx, `
		INSERT INTO transactions (uuid, wallet_id, customer_id, amount, status, type, created_at)
		SELECT gen_random_uuid(), $1, $2, 1, 2, 1, now() - (i || ' seconds')::interval
		FROM generate_series(1, 10000) i`, w.UUID, owner.ID); err != nil {
		b.Fatal(err)
	}
	if _, err := e.owner.Exec(ctx, `ANALYZE transactions`); err != nil {
		b.Fatal(err)
	}
	scope := wallet.TransactionScope{Wallet: &w.UUID}
	const depth, size = 200, 20
	// The keyset position of page 200: the last item of page 199.
	prev, err := e.wallets.ListTransactions(ctx, scope, wallet.TransactionFilter{}, wallet.Page{Limit: size, Offset: (depth - 1) * size})
	if err != nil || len(prev.Items) == 0 {
		b.Fatal(err)
	}
	last := prev.Items[len(prev.Items)-1]
	b.Run("offset", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.wallets.ListTransactions(ctx, scope, wallet.TransactionFilter{}, wallet.Page{Limit: size, Offset: depth * size}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cursor", func(b *testing.B) {
		cur := &wallet.Cursor{Created: last.Created, UUID: last.UUID}
		for b.Loop() {
			if _, err := e.wallets.ListTransactions(ctx, scope, wallet.TransactionFilter{}, wallet.Page{Limit: size, Cursor: cur}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
