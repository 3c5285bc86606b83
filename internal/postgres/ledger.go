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

// The money movements. Each is one statement — in the transaction of the unit
// of work the service is bound to (In), else committing on its own — so the
// rows it changes stay locked for one round trip. A wallet's balance is its
// row's plus its sub-balances' (migrations/00005_balance_shards.sql): a
// credit locks one sub-balance (its database backend's), a debit the wallet's
// row, so movements on one hot wallet rarely wait on each other; only a debit
// the row cannot cover, or a credit near the limit, locks the whole wallet.
// Locks are taken in one fixed order (a charge, then the customer's wallet,
// then the business's; within a wallet its row, then its sub-balances), so
// concurrent movements never deadlock; the balance change and the transaction
// that records it commit together. The statements are the one home of the
// balance rules (see package wallet): they decide under their locks whether
// a movement is allowed (at most money.Max, never negative: wallet_credit
// and wallet_debit; a charge collected once: collect_charge) and say which
// rule refused; no Go code re-checks them. The sign of an amount is input
// validation, checked here before any statement (wallet.CheckDeposit,
// wallet.CheckWithdrawal), because wallet.Service promises it to every
// caller; internal/api checks it too, with the same functions, for its own
// reasons (see api's move).

// deposit is the body of wallet.Service.Deposit.
func (s *Wallets) deposit(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (w wallet.Wallet, err error) {
	if err := wallet.CheckDeposit(amount); err != nil {
		return wallet.Wallet{}, s.refuseAmount(ctx, owner, id, err)
	}
	return s.move(ctx, owner, id, amount, description, wallet.DepositType)
}

// withdraw is the body of wallet.Service.Withdraw.
func (s *Wallets) withdraw(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (w wallet.Wallet, err error) {
	if err := wallet.CheckWithdrawal(amount); err != nil {
		return wallet.Wallet{}, s.refuseAmount(ctx, owner, id, err)
	}
	return s.move(ctx, owner, id, amount, description, wallet.DebitType)
}

// refuseAmount returns refusal, an amount's, unless wallet id is not
// owner's: someone else's wallet is wallet.ErrNotFound whatever the amount
// (Service's order). It reads the wallet on the writer, outside any unit of
// work. internal/api reads it the same way before its own refusals of a
// body (the form's, which the service never sees, and the sign's), so no
// request through the API reaches this read: it keeps the Service's promise
// for any other caller.
func (s *Wallets) refuseAmount(ctx context.Context, owner int64, id uuid.UUID, refusal error) error {
	if _, err := customerWallet(ctx, s.writer, owner, id); err != nil {
		return err
	}
	return refusal
}

// move adds amount (negative for a withdrawal) to owner's wallet id and
// records an accepted transaction of type typ for it, in one statement
// (move_money, its body now migrations/00008_events.sql's, over the
// sub-balances of 00005_balance_shards.sql): a credit locks one of
// the wallet's sub-balances, a debit the wallet's row, for one round trip
// (and, unbound, the statement commits on its own). The
// statement decides under those locks whether the movement is allowed and
// changes nothing when it is not: not owner's wallet, or the balance would
// pass money.Max or go negative.
func (s *Wallets) move(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string, typ wallet.Type) (wallet.Wallet, error) {
	txID, err := uuid.NewRandom()
	if err != nil {
		return wallet.Wallet{}, fmt.Errorf("new transaction id: %w", err)
	}
	var (
		outcome string
		w       wallet.Wallet
	)
	err = s.scope.inStatement(ctx, func(q querier) error {
		var (
			walletID *uuid.UUID
			ownerID  *int64
			business *bool
			balance  *money.Amount
			created  *time.Time
		)
		err := q.QueryRow(ctx, `SELECT * FROM move_money($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, owner, amount, txID, description, typ, wallet.Accepted, money.Max).
			Scan(&outcome, &walletID, &ownerID, &business, &balance, &created)
		if err != nil {
			return fmt.Errorf("move %s on wallet %s: %w", amount, id, err)
		}
		if outcome == "moved" {
			w = wallet.Wallet{UUID: *walletID, OwnerID: *ownerID, IsBusiness: *business, Balance: *balance, Created: *created}
		}
		return nil
	})
	if err != nil {
		return wallet.Wallet{}, err
	}
	switch outcome {
	case "moved":
		return w, nil
	case "not_found":
		err = wallet.ErrNotFound
	case "overflow":
		err = wallet.ErrBalanceOverflow
	case "insufficient":
		err = wallet.ErrNegativeBalance
	default:
		err = fmt.Errorf("move %s on wallet %s: unknown outcome %q", amount, id, outcome)
	}
	return wallet.Wallet{}, err
}

// openCharge is the body of wallet.Service.OpenCharge. The amount is checked
// first, without a read (the caller checks the business first when its 404
// must win); the business and the wallet are checked by the insert itself.
func (s *Wallets) openCharge(ctx context.Context, customer, business int64, walletID uuid.UUID, amount money.Amount, description string) (t wallet.Transaction, err error) {
	if err := wallet.CheckDeposit(amount); err != nil {
		return wallet.Transaction{}, err
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return wallet.Transaction{}, fmt.Errorf("new transaction id: %w", err)
	}
	err = s.scope.inTx(ctx, func(tx pgx.Tx) error {
		// One statement: the charge is inserted only when the business is
		// active and the wallet is the customer's own, and with it its
		// charge.created event (migrations/00008_events.sql), to the
		// customer and the business.
		t, err = scanTransaction(tx.QueryRow(ctx, `
			WITH t AS (
			    INSERT INTO transactions (uuid, wallet_id, customer_id, business_id, amount, description, status, type)
			    SELECT $1, w.uuid, w.user_id, b.id, $5, $6, $7, $8
			      FROM wallets w, users b
			     WHERE w.uuid = $2 AND w.user_id = $3 AND NOT w.is_business
			       AND b.id = $4 AND b.type = 2 AND b.is_active
			    RETURNING `+transactionColumns+`, customer_id),
			e AS (
			    INSERT INTO events (type, customer_id, business_id, transaction_id, amount, description, status,
			                        transaction_type, wallet_id, transaction_created_at)
			    SELECT 'charge.created', customer_id, business_id, uuid, amount, description, status,
			           type, wallet_id, created_at
			      FROM t
			    RETURNING id),
			q AS (
			    INSERT INTO event_outbox (event_id) SELECT id FROM e)
			SELECT `+transactionColumns+` FROM t`,
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

// collect is the body of wallet.Service.Collect, in one statement
// (collect_charge, created by migrations/00003_collect_charge.sql, its body
// now 00008_events.sql's) that takes the rows
// in a fixed order and holds them for one round trip. The rejection commits:
// the statement ends without error, and collect returns
// wallet.ErrNegativeBalance after it as a committed refusal (in a unit of
// work, the unit is not aborted).
func (s *Wallets) collect(ctx context.Context, business int64, id uuid.UUID) (t wallet.Transaction, err error) {
	var outcome string
	err = s.scope.inStatement(ctx, func(q querier) error {
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
		return t, committed{wallet.ErrNegativeBalance}
	}
	return t, nil
}

// businessOverflow is the SQLSTATE collect_charge raises when the business
// wallet would pass its limit.
const businessOverflow = "WA001"

// listTransactions is the body of wallet.Service.ListTransactions, on the
// reader.
func (s *Wallets) listTransactions(ctx context.Context, scope wallet.TransactionScope, f wallet.TransactionFilter, p wallet.Page) (l wallet.Listing[wallet.Transaction], err error) {
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
