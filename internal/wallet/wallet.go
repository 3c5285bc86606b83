// Package wallet is the money domain: wallets, the transactions that move
// money in and out of them, and the rules those movements follow. It knows
// nothing of HTTP or SQL; internal/postgres implements the movements and
// internal/api serves them.
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

// Transaction states.
const (
	Pending  Status = 1
	Accepted Status = 2
	Rejected Status = 3
)

// Type is a transaction's kind.
type Type int

// Transaction kinds. Deposits are positive; withdrawals are negative Debits
// without a business; charges are positive Debits at a business.
const (
	Deposit Type = 1
	Debit   Type = 2
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

// The domain's refusals, worded as the contract words them.
var (
	ErrNotFound             = apperr.NotFoundf()
	ErrNegativeBalance      = apperr.New(apperr.Conflict, "Balance can't be negative")
	ErrAlreadyProcessed     = apperr.New(apperr.Conflict, "Transaction already processed")
	ErrNoBusinessWallet     = apperr.New(apperr.Conflict, "Business wallet does not exist")
	ErrBusinessWalletExists = apperr.New(apperr.Conflict, "Business wallet already exists")
	ErrBusinessWalletAbsent = apperr.New(apperr.NotFound, "Business wallet does not exist")
	ErrBalanceOverflow      = apperr.Field("amount", "Ensure the balance stays below 1000000000.00.")
)

// TxFilter narrows a list of transactions; zero fields do not filter.
type TxFilter struct {
	Status        Status
	Type          Type
	CreatedAfter  *time.Time // inclusive
	CreatedBefore *time.Time // inclusive
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
