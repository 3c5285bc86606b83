package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/wallet"
)

// Wallets implements wallet.Service: writes and the reads that must see
// them on the writer, lists on the reader (a read replica).
type Wallets struct {
	writer, reader *pgxpool.Pool
	// scope is where the writes run: on writer, or in the unit of work
	// the service is bound to (In).
	scope scope
}

// NewWallets returns the wallet service over the writer pool and the reader
// pool that serves lists; a nil reader means the writer.
func NewWallets(writer, reader *pgxpool.Pool) *Wallets {
	if reader == nil {
		reader = writer
	}
	return &Wallets{writer: writer, reader: reader, scope: scope{pool: writer}}
}

// In returns the service bound to unit u: its writes run in u's
// transaction and commit with u's answer (see Idempotency.Run); its reads
// run as s's do.
func (s *Wallets) In(u *Unit) *Wallets {
	b := *s
	b.scope.unit = u
	return &b
}

var _ wallet.Service = (*Wallets)(nil)

// listWallets is the body of wallet.Service.ListWallets, on the reader.
func (s *Wallets) listWallets(ctx context.Context, owner int64, p wallet.Page) (l wallet.Listing[wallet.Wallet], err error) {
	l, err = listNewestFirst(ctx, s.reader, "wallets", walletColumns,
		where{sql: "user_id = $1 AND NOT is_business", args: []any{owner}}, p, scanWallet)
	if err != nil {
		return l, fmt.Errorf("list wallets of user %d: %w", owner, err)
	}
	return l, nil
}

// openWallet is the body of wallet.Service.OpenWallet.
func (s *Wallets) openWallet(ctx context.Context, owner int64) (w wallet.Wallet, err error) {
	err = s.scope.inTx(ctx, func(tx pgx.Tx) error {
		w, err = createWallet(ctx, tx, owner, false)
		return err
	})
	if err != nil {
		return wallet.Wallet{}, err
	}
	return w, nil
}

// wallet is the body of wallet.Service.Wallet, on the writer.
func (s *Wallets) wallet(ctx context.Context, owner int64, id uuid.UUID) (w wallet.Wallet, err error) {
	return customerWallet(ctx, s.writer, owner, id)
}

// openBusinessWallet is the body of wallet.Service.OpenBusinessWallet.
func (s *Wallets) openBusinessWallet(ctx context.Context, owner int64) (w wallet.Wallet, err error) {
	err = s.scope.inTx(ctx, func(tx pgx.Tx) error {
		w, err = createWallet(ctx, tx, owner, true)
		return err
	})
	if err != nil {
		return wallet.Wallet{}, err
	}
	return w, nil
}

// businessWallet is the body of wallet.Service.BusinessWallet, on the writer.
func (s *Wallets) businessWallet(ctx context.Context, owner int64) (w wallet.Wallet, err error) {
	return businessWallet(ctx, s.writer, owner)
}

// activeBusiness is the body of wallet.Service.ActiveBusiness, on the writer.
func (s *Wallets) activeBusiness(ctx context.Context, id int64) (b wallet.Business, err error) {
	err = s.writer.QueryRow(ctx, `
		SELECT id, COALESCE(NULLIF(first_name, ''), username) FROM users
		WHERE id = $1 AND type = 2 AND is_active`, id).Scan(&b.ID, &b.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return wallet.Business{}, wallet.ErrNotFound
	}
	if err != nil {
		return wallet.Business{}, fmt.Errorf("business %d: %w", id, err)
	}
	return b, nil
}

// listBusinesses is the body of wallet.Service.ListBusinesses, on the reader.
func (s *Wallets) listBusinesses(ctx context.Context, p wallet.Page) (l wallet.Listing[wallet.Business], err error) {
	l, err = listByID(ctx, s.reader, "users", "id, COALESCE(NULLIF(first_name, ''), username)",
		where{sql: "type = 2 AND is_active"}, p, func(row pgx.Row) (wallet.Business, error) {
			var b wallet.Business
			err := row.Scan(&b.ID, &b.Name)
			return b, err
		})
	if err != nil {
		return l, fmt.Errorf("list businesses: %w", err)
	}
	return l, nil
}

// walletColumns reads a wallet from table wallets (unaliased); its balance is
// the row's plus its sub-balances' (migrations/00005_balance_shards.sql).
const walletColumns = `uuid, user_id, is_business,
	balance + COALESCE((SELECT sum(s.balance) FROM balance_shards s WHERE s.wallet_id = wallets.uuid), 0), created_at`

func scanWallet(row pgx.Row) (wallet.Wallet, error) {
	var w wallet.Wallet
	err := row.Scan(&w.UUID, &w.OwnerID, &w.IsBusiness, &w.Balance, &w.Created)
	return w, err
}

// createWallet opens an empty wallet for owner. A business has at most one:
// a second is wallet.ErrBusinessWalletExists.
func createWallet(ctx context.Context, q querier, owner int64, business bool) (wallet.Wallet, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return wallet.Wallet{}, fmt.Errorf("new wallet id: %w", err)
	}
	w, err := scanWallet(q.QueryRow(ctx, `
		INSERT INTO wallets (uuid, user_id, is_business) VALUES ($1, $2, $3)
		RETURNING uuid, user_id, is_business, balance, created_at`, id, owner, business))
	if c, ok := uniqueViolation(err); ok && c == "wallets_one_per_business" {
		return wallet.Wallet{}, wallet.ErrBusinessWalletExists
	}
	if err != nil {
		return wallet.Wallet{}, fmt.Errorf("create wallet for user %d: %w", owner, err)
	}
	return w, nil
}

// customerWallet returns owner's customer wallet id, or wallet.ErrNotFound
// when it does not exist or belongs to someone else.
func customerWallet(ctx context.Context, q querier, owner int64, id uuid.UUID) (wallet.Wallet, error) {
	w, err := scanWallet(q.QueryRow(ctx, `SELECT `+walletColumns+` FROM wallets WHERE uuid = $1 AND user_id = $2 AND NOT is_business`, id, owner))
	if errors.Is(err, pgx.ErrNoRows) {
		return wallet.Wallet{}, wallet.ErrNotFound
	}
	if err != nil {
		return wallet.Wallet{}, fmt.Errorf("wallet %s: %w", id, err)
	}
	return w, nil
}

// businessWallet returns business owner's wallet, or
// wallet.ErrBusinessWalletAbsent.
func businessWallet(ctx context.Context, q querier, owner int64) (wallet.Wallet, error) {
	w, err := scanWallet(q.QueryRow(ctx, `SELECT `+walletColumns+` FROM wallets WHERE user_id = $1 AND is_business`, owner))
	if errors.Is(err, pgx.ErrNoRows) {
		return wallet.Wallet{}, wallet.ErrBusinessWalletAbsent
	}
	if err != nil {
		return wallet.Wallet{}, fmt.Errorf("business wallet of user %d: %w", owner, err)
	}
	return w, nil
}
