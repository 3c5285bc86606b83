package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wallets/internal/apperr"
	"wallets/internal/money"
	"wallets/internal/wallet"
)

// The money movements. Each runs inside the caller's database transaction
// and locks the rows it changes in one fixed order (the charge, then wallets
// by uuid), so concurrent movements serialise without deadlocks; the balance
// change and the transaction row that records it commit together.

const txColumns = `uuid, amount, description, status, type, business_id, wallet_id, created_at`

func scanTx(row pgx.Row) (wallet.Transaction, error) {
	var t wallet.Transaction
	err := row.Scan(&t.UUID, &t.Amount, &t.Description, &t.Status, &t.Type, &t.BusinessID, &t.WalletID, &t.Created)
	return t, err
}

func insertTx(ctx context.Context, q Querier, t wallet.Transaction, customer int64) (wallet.Transaction, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return t, fmt.Errorf("new transaction id: %w", err)
	}
	t, err = scanTx(q.QueryRow(ctx, `
		INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, description, status, type)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING `+txColumns,
		id, t.WalletID, customer, t.BusinessID, t.Amount, t.Description, t.Status, t.Type))
	if err != nil {
		return t, fmt.Errorf("insert transaction: %w", err)
	}
	return t, nil
}

// Deposit adds amount (> 0) to owner's wallet id and records an accepted
// deposit. It fails with wallet.ErrNotFound for a wallet not owner's, and
// wallet.ErrBalanceOverflow when the balance would pass money.Max.
func Deposit(ctx context.Context, tx pgx.Tx, owner int64, id uuid.UUID, amount money.Amount, description string) (wallet.Wallet, error) {
	if amount <= 0 {
		return wallet.Wallet{}, fmt.Errorf("deposit %s: amount must be positive", amount)
	}
	w, err := CustomerWallet(ctx, tx, owner, id, true)
	if err != nil {
		return w, err
	}
	if w.Balance > money.Max-amount {
		return w, wallet.ErrBalanceOverflow
	}
	w.Balance += amount
	if err := setBalance(ctx, tx, w.UUID, w.Balance); err != nil {
		return w, err
	}
	if _, err := insertTx(ctx, tx, wallet.Transaction{
		WalletID: w.UUID, Amount: amount, Description: description, Status: wallet.Accepted, Type: wallet.Deposit,
	}, owner); err != nil {
		return w, fmt.Errorf("deposit into %s: %w", id, err)
	}
	return w, nil
}

// Retire takes -amount (amount < 0) out of owner's wallet id and records an
// accepted type-2 transaction with the negative amount. It fails with
// wallet.ErrNotFound, or wallet.ErrNegativeBalance when the balance is too low.
func Retire(ctx context.Context, tx pgx.Tx, owner int64, id uuid.UUID, amount money.Amount, description string) (wallet.Wallet, error) {
	if amount >= 0 {
		return wallet.Wallet{}, fmt.Errorf("retire %s: amount must be negative", amount)
	}
	w, err := CustomerWallet(ctx, tx, owner, id, true)
	if err != nil {
		return w, err
	}
	if w.Balance+amount < 0 {
		return w, wallet.ErrNegativeBalance
	}
	w.Balance += amount
	if err := setBalance(ctx, tx, w.UUID, w.Balance); err != nil {
		return w, err
	}
	if _, err := insertTx(ctx, tx, wallet.Transaction{
		WalletID: w.UUID, Amount: amount, Description: description, Status: wallet.Accepted, Type: wallet.Debit,
	}, owner); err != nil {
		return w, fmt.Errorf("retire from %s: %w", id, err)
	}
	return w, nil
}

// CreateCharge opens a pending charge of amount (> 0) at business against
// owner's wallet id. It fails with wallet.ErrNotFound for a wallet not
// owner's. The business must have been checked active by the caller.
func CreateCharge(ctx context.Context, q Querier, owner, business int64, id uuid.UUID, amount money.Amount, description string) (wallet.Transaction, error) {
	if amount <= 0 {
		return wallet.Transaction{}, fmt.Errorf("charge %s: amount must be positive", amount)
	}
	w, err := CustomerWallet(ctx, q, owner, id, false)
	if err != nil {
		return wallet.Transaction{}, err
	}
	t, err := insertTx(ctx, q, wallet.Transaction{
		WalletID: w.UUID, Amount: amount, Description: description, Status: wallet.Pending, Type: wallet.Debit, BusinessID: &business,
	}, owner)
	if err != nil {
		return t, fmt.Errorf("charge at business %d: %w", business, err)
	}
	return t, nil
}

// ErrBusinessBalanceOverflow refuses a debit that would take the business's
// balance past what it can hold.
var ErrBusinessBalanceOverflow = apperr.New(apperr.Conflict, "Business wallet balance would exceed its limit")

// Debit collects charge id at business: the customer's wallet loses the
// amount, the business's wallet gains it, the charge becomes accepted. It
// fails with wallet.ErrNotFound (not this business's charge),
// wallet.ErrAlreadyProcessed (accepted before) or wallet.ErrNoBusinessWallet,
// changing nothing. When the customer's balance is too low it marks the charge
// rejected and returns it with wallet.ErrNegativeBalance: the caller commits
// that change.
func Debit(ctx context.Context, tx pgx.Tx, business int64, id uuid.UUID) (wallet.Transaction, error) {
	t, err := scanTx(tx.QueryRow(ctx, `
		SELECT `+txColumns+` FROM transactions
		WHERE uuid = $1 AND business_id = $2
		FOR NO KEY UPDATE`, id, business))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, wallet.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("lock charge %s: %w", id, err)
	}
	if t.Status == wallet.Accepted {
		return t, wallet.ErrAlreadyProcessed
	}
	biz, err := BusinessWallet(ctx, tx, business)
	if errors.Is(err, wallet.ErrBusinessWalletAbsent) {
		return t, wallet.ErrNoBusinessWallet
	}
	if err != nil {
		return t, err
	}
	balances, err := lockWallets(ctx, tx, t.WalletID, biz.UUID)
	if err != nil {
		return t, fmt.Errorf("debit %s: %w", id, err)
	}
	customer, business_ := balances[t.WalletID], balances[biz.UUID]
	if customer < t.Amount {
		t.Status = wallet.Rejected
		if err := setStatus(ctx, tx, t.UUID, t.Status); err != nil {
			return t, err
		}
		return t, wallet.ErrNegativeBalance
	}
	if business_ > money.Max-t.Amount {
		return t, ErrBusinessBalanceOverflow
	}
	if err := setBalance(ctx, tx, t.WalletID, customer-t.Amount); err != nil {
		return t, err
	}
	if err := setBalance(ctx, tx, biz.UUID, business_+t.Amount); err != nil {
		return t, err
	}
	t.Status = wallet.Accepted
	if err := setStatus(ctx, tx, t.UUID, t.Status); err != nil {
		return t, err
	}
	return t, nil
}

// lockWallets locks the wallets ids in uuid order and returns their balances.
func lockWallets(ctx context.Context, tx pgx.Tx, ids ...uuid.UUID) (map[uuid.UUID]money.Amount, error) {
	rows, err := tx.Query(ctx, `
		SELECT uuid, balance FROM wallets WHERE uuid = ANY($1::uuid[])
		ORDER BY uuid FOR NO KEY UPDATE`, uuidStrings(ids))
	if err != nil {
		return nil, fmt.Errorf("lock wallets: %w", err)
	}
	defer rows.Close()
	out := make(map[uuid.UUID]money.Amount, len(ids))
	for rows.Next() {
		var id uuid.UUID
		var b money.Amount
		if err := rows.Scan(&id, &b); err != nil {
			return nil, fmt.Errorf("lock wallets: %w", err)
		}
		out[id] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock wallets: %w", err)
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return nil, fmt.Errorf("lock wallets: wallet %s missing", id)
		}
	}
	return out, nil
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func setStatus(ctx context.Context, tx pgx.Tx, id uuid.UUID, s wallet.Status) error {
	if _, err := tx.Exec(ctx, `UPDATE transactions SET status = $2, updated_at = now() WHERE uuid = $1`, id, s); err != nil {
		return fmt.Errorf("set status of %s: %w", id, err)
	}
	return nil
}

// TxScope says whose transactions a list shows.
type TxScope struct {
	Wallet   *uuid.UUID // one wallet's transactions
	Business *int64     // charges at one business
	Customer *int64     // with Business: one customer's charges there
}

// ListTransactions returns a page of the transactions in scope matching f,
// newest first.
func ListTransactions(ctx context.Context, q Querier, s TxScope, f wallet.TxFilter, p wallet.Page) (wallet.Listing[wallet.Transaction], error) {
	var w where
	switch {
	case s.Wallet != nil:
		w.sql = "wallet_id = " + w.arg(*s.Wallet)
	case s.Business != nil && s.Customer != nil:
		w.sql = "customer_id = " + w.arg(*s.Customer) + " AND business_id = " + w.arg(*s.Business)
	case s.Business != nil:
		w.sql = "business_id = " + w.arg(*s.Business)
	default:
		return wallet.Listing[wallet.Transaction]{}, errors.New("list transactions: no scope")
	}
	if f.Status != 0 {
		w.and("status = %s", f.Status)
	}
	if f.Type != 0 {
		w.and("type = %s", f.Type)
	}
	if f.CreatedAfter != nil {
		w.and("created_at >= %s", *f.CreatedAfter)
	}
	if f.CreatedBefore != nil {
		w.and("created_at <= %s", *f.CreatedBefore)
	}
	l, err := listNewestFirst(ctx, q, "transactions", txColumns, w, p, scanTx)
	if err != nil {
		return l, fmt.Errorf("list transactions: %w", err)
	}
	return l, nil
}

// ListBusinesses returns a page of active businesses by id.
func ListBusinesses(ctx context.Context, q Querier, p wallet.Page) (wallet.Listing[wallet.Business], error) {
	l, err := listByID(ctx, q, "users", "id, COALESCE(NULLIF(first_name, ''), username)",
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
