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

// The money movements. Each runs in one database transaction (its own, or
// the unit of work's) and locks the rows it changes in one fixed order (the
// charge, then wallets by uuid), so concurrent movements serialise without
// deadlocks; the balance change and the transaction that records it commit
// together.

// Deposit implements wallet.Service.
func (s *Wallets) Deposit(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (w wallet.Wallet, err error) {
	defer classifyErr(&err)
	if err := wallet.CheckDeposit(amount); err != nil {
		return wallet.Wallet{}, abort(ctx, s.refuseAmount(ctx, owner, id, err))
	}
	return s.move(ctx, owner, id, amount, description, wallet.DepositType)
}

// Withdraw implements wallet.Service.
func (s *Wallets) Withdraw(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (w wallet.Wallet, err error) {
	defer classifyErr(&err)
	if err := wallet.CheckWithdrawal(amount); err != nil {
		return wallet.Wallet{}, abort(ctx, s.refuseAmount(ctx, owner, id, err))
	}
	return s.move(ctx, owner, id, amount, description, wallet.DebitType)
}

// refuseAmount returns refusal, an amount's, unless wallet id is not
// owner's: someone else's wallet is wallet.ErrNotFound whatever the amount.
// It reads the wallet on the writer, outside any unit of work.
func (s *Wallets) refuseAmount(ctx context.Context, owner int64, id uuid.UUID, refusal error) error {
	if _, err := customerWallet(ctx, s.writer, owner, id, false); err != nil {
		return err
	}
	return refusal
}

// move adds amount (negative for a withdrawal) to owner's wallet id and
// records an accepted transaction of type typ for it.
func (s *Wallets) move(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string, typ wallet.Type) (wallet.Wallet, error) {
	var w wallet.Wallet
	err := inTx(ctx, s.writer, func(tx pgx.Tx) error {
		var err error
		if w, err = customerWallet(ctx, tx, owner, id, true); err != nil {
			return err
		}
		if amount > 0 {
			w.Balance, err = wallet.Credit(w.Balance, amount, wallet.ErrBalanceOverflow)
		} else {
			w.Balance, err = wallet.Take(w.Balance, -amount)
		}
		if err != nil {
			return err
		}
		if err := setBalance(ctx, tx, w.UUID, w.Balance); err != nil {
			return err
		}
		if _, err := insertTransaction(ctx, tx, wallet.Transaction{
			WalletID: w.UUID, Amount: amount, Description: description, Status: wallet.Accepted, Type: typ,
		}, owner); err != nil {
			return fmt.Errorf("move %s on wallet %s: %w", amount, id, err)
		}
		return nil
	})
	if err != nil {
		return wallet.Wallet{}, err
	}
	return w, nil
}

// OpenCharge implements wallet.Service. The amount is checked first, without
// a read (the caller checks the business first when its 404 must win); the
// business and the wallet are checked by the insert itself.
func (s *Wallets) OpenCharge(ctx context.Context, customer, business int64, walletID uuid.UUID, amount money.Amount, description string) (t wallet.Transaction, err error) {
	defer classifyErr(&err)
	if err := wallet.CheckDeposit(amount); err != nil {
		return wallet.Transaction{}, abort(ctx, err)
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return wallet.Transaction{}, abort(ctx, fmt.Errorf("new transaction id: %w", err))
	}
	err = inTx(ctx, s.writer, func(tx pgx.Tx) error {
		// One statement: the charge is inserted only when the business is
		// active and the wallet is the customer's own.
		t, err = scanTransaction(tx.QueryRow(ctx, `
			INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, description, status, type)
			SELECT $1, w.uuid, w.user_id, b.id, $5, $6, $7, $8
			  FROM wallets w, users b
			 WHERE w.uuid = $2 AND w.user_id = $3 AND NOT w.is_business
			   AND b.id = $4 AND b.type = 2 AND b.is_active
			RETURNING `+transactionColumns,
			id, walletID, customer, business, amount, description, wallet.Pending, wallet.DebitType))
		if errors.Is(err, pgx.ErrNoRows) {
			return wallet.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("charge at business %d: %w", business, err)
		}
		return nil
	})
	if err != nil {
		return wallet.Transaction{}, err
	}
	return t, nil
}

// Collect implements wallet.Service. The rejection commits: its transaction
// ends without error (with a unit of work, the unit is not aborted), and
// Collect returns wallet.ErrNegativeBalance after it.
func (s *Wallets) Collect(ctx context.Context, business int64, id uuid.UUID) (t wallet.Transaction, err error) {
	defer classifyErr(&err)
	rejected := false
	err = inTx(ctx, s.writer, func(tx pgx.Tx) error {
		var err error
		t, rejected, err = collect(ctx, tx, business, id)
		return err
	})
	switch {
	case err != nil:
		return wallet.Transaction{}, err
	case rejected:
		return t, wallet.ErrNegativeBalance
	}
	return t, nil
}

// collect collects charge id at business in tx and returns it, or marks it
// rejected (rejected true, no error) when the customer's balance is too low.
func collect(ctx context.Context, tx pgx.Tx, business int64, id uuid.UUID) (t wallet.Transaction, rejected bool, err error) {
	t, err = scanTransaction(tx.QueryRow(ctx, `
		SELECT `+transactionColumns+` FROM transactions
		WHERE uuid = $1 AND business_id = $2
		FOR NO KEY UPDATE`, id, business))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, wallet.ErrNotFound
	}
	if err != nil {
		return t, false, fmt.Errorf("lock charge %s: %w", id, err)
	}
	if err := wallet.CheckCollectable(t); err != nil {
		return t, false, err
	}
	biz, err := businessWallet(ctx, tx, business)
	if errors.Is(err, wallet.ErrBusinessWalletAbsent) {
		return t, false, wallet.ErrNoBusinessWallet
	}
	if err != nil {
		return t, false, err
	}
	balances, err := lockWallets(ctx, tx, t.WalletID, biz.UUID)
	if err != nil {
		return t, false, fmt.Errorf("collect %s: %w", id, err)
	}
	customer, err := wallet.Take(balances[t.WalletID], t.Amount)
	if errors.Is(err, wallet.ErrNegativeBalance) {
		t.Status = wallet.Rejected
		if err := setStatus(ctx, tx, t.UUID, t.Status); err != nil {
			return t, false, err
		}
		return t, true, nil
	}
	if err != nil {
		return t, false, err
	}
	collected, err := wallet.Credit(balances[biz.UUID], t.Amount, wallet.ErrBusinessBalanceOverflow)
	if err != nil {
		return t, false, err
	}
	if err := setBalance(ctx, tx, t.WalletID, customer); err != nil {
		return t, false, err
	}
	if err := setBalance(ctx, tx, biz.UUID, collected); err != nil {
		return t, false, err
	}
	t.Status = wallet.Accepted
	if err := setStatus(ctx, tx, t.UUID, t.Status); err != nil {
		return t, false, err
	}
	return t, false, nil
}

// ListTransactions implements wallet.Service, on the reader.
func (s *Wallets) ListTransactions(ctx context.Context, scope wallet.TransactionScope, f wallet.TransactionFilter, p wallet.Page) (l wallet.Listing[wallet.Transaction], err error) {
	defer classifyErr(&err)
	var w where
	switch {
	case scope.Wallet != nil:
		w.sql = "wallet_id = " + w.arg(*scope.Wallet)
	case scope.Business != nil && scope.Customer != nil:
		w.sql = "customer_id = " + w.arg(*scope.Customer) + " AND business_id = " + w.arg(*scope.Business)
	case scope.Business != nil:
		w.sql = "business_id = " + w.arg(*scope.Business)
	default:
		return l, errors.New("list transactions: no scope")
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
	l, err = listNewestFirst(ctx, s.reader, "transactions", transactionColumns, w, p, scanTransaction)
	if err != nil {
		return l, fmt.Errorf("list transactions: %w", err)
	}
	return l, nil
}

const transactionColumns = `uuid, amount, description, status, type, business_id, wallet_id, created_at`

func scanTransaction(row pgx.Row) (wallet.Transaction, error) {
	var t wallet.Transaction
	err := row.Scan(&t.UUID, &t.Amount, &t.Description, &t.Status, &t.Type, &t.BusinessID, &t.WalletID, &t.Created)
	return t, err
}

// insertTransaction records t, of customer's wallet, and returns it as
// stored.
func insertTransaction(ctx context.Context, q querier, t wallet.Transaction, customer int64) (wallet.Transaction, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return t, fmt.Errorf("new transaction id: %w", err)
	}
	t, err = scanTransaction(q.QueryRow(ctx, `
		INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, description, status, type)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING `+transactionColumns,
		id, t.WalletID, customer, t.BusinessID, t.Amount, t.Description, t.Status, t.Type))
	if err != nil {
		return t, fmt.Errorf("insert transaction: %w", err)
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

// setStatus stores a transaction's new status.
func setStatus(ctx context.Context, tx pgx.Tx, id uuid.UUID, s wallet.Status) error {
	if _, err := tx.Exec(ctx, `UPDATE transactions SET status = $2, updated_at = now() WHERE uuid = $1`, id, s); err != nil {
		return fmt.Errorf("set status of %s: %w", id, err)
	}
	return nil
}
