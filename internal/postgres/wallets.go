package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wallets/internal/money"
	"wallets/internal/wallet"
)

const walletColumns = `uuid, user_id, is_business, balance, created_at`

func scanWallet(row pgx.Row) (wallet.Wallet, error) {
	var w wallet.Wallet
	err := row.Scan(&w.UUID, &w.OwnerID, &w.IsBusiness, &w.Balance, &w.Created)
	return w, err
}

// CreateWallet opens an empty wallet for owner. A business has at most one:
// a second is wallet.ErrBusinessWalletExists.
func CreateWallet(ctx context.Context, q Querier, owner int64, business bool) (wallet.Wallet, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return wallet.Wallet{}, fmt.Errorf("new wallet id: %w", err)
	}
	w, err := scanWallet(q.QueryRow(ctx, `
		INSERT INTO wallets (uuid, user_id, is_business) VALUES ($1, $2, $3)
		RETURNING `+walletColumns, id, owner, business))
	if c, ok := uniqueViolation(err); ok && c == "wallets_one_per_business" {
		return wallet.Wallet{}, wallet.ErrBusinessWalletExists
	}
	if err != nil {
		return wallet.Wallet{}, fmt.Errorf("create wallet for user %d: %w", owner, err)
	}
	return w, nil
}

// CustomerWallet returns owner's customer wallet id, or wallet.ErrNotFound
// when it does not exist or belongs to someone else. With lock, the row is
// locked for a balance update until the transaction ends.
func CustomerWallet(ctx context.Context, q Querier, owner int64, id uuid.UUID, lock bool) (wallet.Wallet, error) {
	sql := `SELECT ` + walletColumns + ` FROM wallets WHERE uuid = $1 AND user_id = $2 AND NOT is_business`
	if lock {
		// NO KEY UPDATE: balance is not a key, so inserts of transactions
		// referencing this wallet (foreign-key share locks) do not wait.
		sql += ` FOR NO KEY UPDATE`
	}
	w, err := scanWallet(q.QueryRow(ctx, sql, id, owner))
	if errors.Is(err, pgx.ErrNoRows) {
		return wallet.Wallet{}, wallet.ErrNotFound
	}
	if err != nil {
		return wallet.Wallet{}, fmt.Errorf("wallet %s: %w", id, err)
	}
	return w, nil
}

// BusinessWallet returns business owner's wallet, or
// wallet.ErrBusinessWalletAbsent.
func BusinessWallet(ctx context.Context, q Querier, owner int64) (wallet.Wallet, error) {
	w, err := scanWallet(q.QueryRow(ctx, `SELECT `+walletColumns+` FROM wallets WHERE user_id = $1 AND is_business`, owner))
	if errors.Is(err, pgx.ErrNoRows) {
		return wallet.Wallet{}, wallet.ErrBusinessWalletAbsent
	}
	if err != nil {
		return wallet.Wallet{}, fmt.Errorf("business wallet of user %d: %w", owner, err)
	}
	return w, nil
}

// ListWallets returns a page of owner's customer wallets, newest first.
func ListWallets(ctx context.Context, q Querier, owner int64, p wallet.Page) (wallet.Listing[wallet.Wallet], error) {
	l, err := listNewestFirst(ctx, q, "wallets", walletColumns,
		where{sql: "user_id = $1 AND NOT is_business", args: []any{owner}}, p, scanWallet)
	if err != nil {
		return l, fmt.Errorf("list wallets of user %d: %w", owner, err)
	}
	return l, nil
}

// setBalance stores a wallet's new balance.
func setBalance(ctx context.Context, q Querier, id uuid.UUID, balance money.Amount) error {
	if _, err := q.Exec(ctx, `UPDATE wallets SET balance = $2, updated_at = now() WHERE uuid = $1`, id, balance); err != nil {
		return fmt.Errorf("set balance of wallet %s: %w", id, err)
	}
	return nil
}
