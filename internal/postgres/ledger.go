package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wallets/internal/money"
	"wallets/internal/wallet"
)

// The money movements. Each is one statement — in the unit of work's
// transaction when there is one, else committing on its own — so the rows it
// changes stay locked for one round trip. They lock in one fixed order (a
// charge, then the customer's wallet, then the business's), so concurrent
// movements serialise without deadlocks; the balance change and the
// transaction that records it commit together. The statements check the
// balance rules (wallet.Credit, wallet.Take) themselves, with the same
// bounds; on a refusal the Go rules name the reason.

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
// records an accepted transaction of type typ for it, in one statement: the
// wallet's row stays locked for one round trip (and, outside a unit of work,
// the statement commits on its own). The statement changes nothing when the
// wallet is not owner's or the new balance would break a rule; only then a
// second read tells which.
func (s *Wallets) move(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string, typ wallet.Type) (wallet.Wallet, error) {
	txID, err := uuid.NewRandom()
	if err != nil {
		return wallet.Wallet{}, abort(ctx, fmt.Errorf("new transaction id: %w", err))
	}
	var w wallet.Wallet
	for attempt := 0; ; attempt++ {
		// A statement that changes nothing is no error: in a unit of work,
		// a retry that succeeds must still commit with it.
		refused := false
		err = inStatement(ctx, s.writer, func(q querier) error {
			var err error
			w, err = scanWallet(q.QueryRow(ctx, `
				WITH w AS (
					UPDATE wallets SET balance = balance + $3, updated_at = now()
					 WHERE uuid = $1 AND user_id = $2 AND NOT is_business
					   AND balance + $3 >= 0 AND balance + $3 <= $7
					RETURNING `+walletColumns+`
				), t AS (
					INSERT INTO transactions (uuid, wallet_id, customer_id, amount, description, status, type)
					SELECT $4, uuid, user_id, $3, $5, $8, $6 FROM w
				)
				SELECT `+walletColumns+` FROM w`,
				id, owner, amount, txID, description, typ, money.Max, wallet.Accepted))
			if errors.Is(err, pgx.ErrNoRows) {
				refused = true
				return nil
			}
			if err != nil {
				return fmt.Errorf("move %s on wallet %s: %w", amount, id, err)
			}
			return nil
		})
		if err != nil || !refused {
			return w, err
		}
		// Why: not the owner's wallet, or the rule the new balance breaks.
		// A balance that changed since may now allow the movement: try
		// again (a few times; it cannot change forever).
		cur, err := customerWallet(ctx, s.writer, owner, id, false)
		if err == nil {
			if amount > 0 {
				_, err = wallet.Credit(cur.Balance, amount, wallet.ErrBalanceOverflow)
			} else {
				_, err = wallet.Take(cur.Balance, -amount)
			}
		}
		if err != nil || attempt == 2 {
			if err == nil {
				err = fmt.Errorf("move %s on wallet %s: refused, then allowed, three times", amount, id)
			}
			return wallet.Wallet{}, abort(ctx, err)
		}
	}
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

// Collect implements wallet.Service, in one statement (collect_charge,
// migrations/00003_collect_charge.sql) that takes the rows in a fixed order
// and holds them for one round trip. The rejection commits: the statement
// ends without error (with a unit of work, the unit is not aborted), and
// Collect returns wallet.ErrNegativeBalance after it.
func (s *Wallets) Collect(ctx context.Context, business int64, id uuid.UUID) (t wallet.Transaction, err error) {
	defer classifyErr(&err)
	var outcome string
	err = inStatement(ctx, s.writer, func(q querier) error {
		var (
			amount      *money.Amount
			description *string
			status      *wallet.Status
			typ         *wallet.Type
			walletID    *uuid.UUID
			created     *time.Time
			chargeID    *uuid.UUID
		)
		err := q.QueryRow(ctx, `SELECT * FROM collect_charge($1, $2, $3)`, business, id, money.Max).
			Scan(&outcome, &chargeID, &amount, &description, &status, &typ, &t.BusinessID, &walletID, &created)
		if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == businessOverflow {
			return wallet.ErrBusinessBalanceOverflow
		}
		if err != nil {
			return fmt.Errorf("collect %s: %w", id, err)
		}
		if chargeID != nil {
			t.UUID, t.Amount, t.Description, t.Status, t.Type, t.WalletID, t.Created =
				*chargeID, *amount, *description, *status, *typ, *walletID, *created
		}
		switch outcome {
		case "collected", "rejected":
			return nil
		case "not_found":
			return wallet.ErrNotFound
		case "already_processed":
			return wallet.ErrAlreadyProcessed
		case "no_business_wallet":
			return wallet.ErrNoBusinessWallet
		}
		return fmt.Errorf("collect %s: unknown outcome %q", id, outcome)
	})
	switch {
	case err != nil:
		return wallet.Transaction{}, err
	case outcome == "rejected":
		return t, wallet.ErrNegativeBalance
	}
	return t, nil
}

// businessOverflow is the SQLSTATE collect_charge raises when the business
// wallet would pass its limit.
const businessOverflow = "WA001"

// ListTransactions implements wallet.Service, on the reader.
func (s *Wallets) ListTransactions(ctx context.Context, scope wallet.TransactionScope, f wallet.TransactionFilter, p wallet.Page) (l wallet.Listing[wallet.Transaction], err error) {
	defer classifyErr(&err)
	var w where
	switch {
	case scope.Wallet != nil:
		w.sql = "wallet_id = " + w.arg(*scope.Wallet)
		w.counted = "w" + scope.Wallet.String()
	case scope.Business != nil && scope.Customer != nil:
		w.sql = "customer_id = " + w.arg(*scope.Customer) + " AND business_id = " + w.arg(*scope.Business)
		w.counted = fmt.Sprintf("c%d@%d", *scope.Customer, *scope.Business)
	case scope.Business != nil:
		w.sql = "business_id = " + w.arg(*scope.Business)
		w.counted = fmt.Sprintf("b%d", *scope.Business)
	default:
		return l, errors.New("list transactions: no scope")
	}
	if f != (wallet.TransactionFilter{}) {
		// A filtered list is counted row by row: its count is not kept.
		w.counted = ""
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
