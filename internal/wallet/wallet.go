// Package wallet is the money domain: wallets, the transactions that move
// money in and out of them, the refusals of the rules those movements
// follow, and the Service that performs them. It knows nothing of HTTP or
// SQL: internal/postgres implements Service and internal/api serves it.
//
// Each money rule has one home:
//
//   - The sign of an amount (a deposit or a charge positive, a withdrawal
//     negative) is input validation, checked before anything is read or
//     written: CheckDeposit and CheckWithdrawal, here. Two callers use them,
//     on purpose: the service (internal/postgres), because Service promises
//     those refusals to any caller, after the 404 of someone else's wallet;
//     and the edge (internal/api), so that an invalid body never reaches a
//     writing method (nor aborts an Idempotency-Key's unit of work), its
//     refusal joining the form's other field errors where the contract
//     answers them together (a charge's body).
//   - The balance rules (a balance never negative, at most money.Max; a
//     charge goes from pending or rejected to accepted, a rejected charge
//     stays collectable, an accepted one is never collected again) live in
//     SQL only: the statement that moves the money decides under its locks.
//     The bounds are wallet_credit and wallet_debit
//     (migrations/00005_balance_shards.sql), the charge's states
//     collect_charge, and both are called by move_money and collect_charge,
//     whose bodies are now migrations/00008_events.sql's; the balance
//     column's CHECK (balance >= 0) and numeric(11,2) back them. A Go copy
//     would be a second answer nothing live asks: internal/postgres's tests
//     drive those statements through the service, bounds included.
package wallet

import (
	"time"

	"github.com/google/uuid"

	"wallets/internal/apperr"
	"wallets/internal/money"
)

// Wallet holds a balance for its owner.
type Wallet struct {
	UUID       uuid.UUID
	OwnerID    int64
	IsBusiness bool
	Balance    money.Amount
	Created    time.Time
}

// Status is a transaction's state.
type Status int

// Transaction states. A charge is Pending until collected (Accepted) or
// refused for want of funds (Rejected); a rejected charge may still be
// collected later. Deposits and withdrawals are Accepted when recorded.
const (
	Pending  Status = 1
	Accepted Status = 2
	Rejected Status = 3
)

// Type is a transaction's kind.
type Type int

// Transaction kinds. Deposits are positive; withdrawals are negative debits
// without a business; charges are positive debits at a business.
const (
	DepositType Type = 1
	DebitType   Type = 2
)

// Transaction records one movement of money, or one charge awaiting
// collection.
type Transaction struct {
	UUID        uuid.UUID
	Amount      money.Amount
	Description string
	Status      Status
	Type        Type
	BusinessID  *int64
	WalletID    uuid.UUID
	Created     time.Time
}

// Business is an entry of the business directory.
type Business struct {
	ID   int64
	Name string
}

// MaxDescription is the longest description a transaction takes.
const MaxDescription = 250

// Messages of the amount rules, as the contract words them.
const (
	MsgAmountPositive = "Amount must be positive"
	MsgAmountNegative = "Amount must be negative"
)

// The domain's refusals, worded as the contract words them.
var (
	ErrNotFound                = apperr.ErrNotFound
	ErrAmountNotPositive       = apperr.Field("amount", MsgAmountPositive)
	ErrAmountNotNegative       = apperr.Field("amount", MsgAmountNegative)
	ErrNegativeBalance         = apperr.New(apperr.Conflict, "Balance can't be negative")
	ErrAlreadyProcessed        = apperr.New(apperr.Conflict, "Transaction already processed")
	ErrNoBusinessWallet        = apperr.New(apperr.Conflict, "Business wallet does not exist")
	ErrBusinessWalletExists    = apperr.New(apperr.Conflict, "Business wallet already exists")
	ErrBusinessWalletAbsent    = apperr.New(apperr.NotFound, "Business wallet does not exist")
	ErrBalanceOverflow         = apperr.Field("amount", "Ensure the balance stays below 1000000000.00.")
	ErrBusinessBalanceOverflow = apperr.New(apperr.Conflict, "Business wallet balance would exceed its limit")
)

// CheckDeposit returns ErrAmountNotPositive unless amount may be deposited
// (or charged): it must be positive.
func CheckDeposit(amount money.Amount) error {
	if amount <= 0 {
		return ErrAmountNotPositive
	}
	return nil
}

// CheckWithdrawal returns ErrAmountNotNegative unless amount may be
// withdrawn: a withdrawal is written as a negative amount.
func CheckWithdrawal(amount money.Amount) error {
	if amount >= 0 {
		return ErrAmountNotNegative
	}
	return nil
}

// TransactionFilter narrows a list of transactions; zero fields do not
// filter.
type TransactionFilter struct {
	Status        Status
	Type          Type
	CreatedAfter  *time.Time // inclusive
	CreatedBefore *time.Time // inclusive
}

// TransactionScope says whose transactions a list shows: exactly one of
// Wallet and Business is set; Customer narrows Business to one customer.
type TransactionScope struct {
	Wallet   *uuid.UUID // one wallet's transactions
	Business *int64     // charges at one business
	Customer *int64     // with Business: one customer's charges there
}

// Page selects one page of a list: by offset (page numbers) or, when Cursor
// is set, by keyset position.
type Page struct {
	Limit  int
	Offset int
	Cursor *Cursor
}

// Cursor is a keyset position in a list ordered newest first (Created, then
// UUID, both descending) or, for the business directory, by ID ascending.
// Backward pages go towards the start of the list.
type Cursor struct {
	Created  time.Time
	UUID     uuid.UUID
	ID       int64
	Backward bool
}

// Listing is one page of a list. Total is -1 when not counted (keyset
// pages). More reports whether items exist beyond this page in the paging
// direction.
type Listing[T any] struct {
	Items []T
	Total int
	More  bool
}
