package wallet

import (
	"context"

	"github.com/google/uuid"

	"wallets/internal/money"
)

// Service moves money and lists it. Callers are identified by the user id
// the authorizer established; a method that takes an owner or a business
// acts only on that user's wallets and charges, and answers ErrNotFound for
// anyone else's, as if they did not exist.
//
// Each method is atomic: it changes everything it documents or nothing,
// except where a refusal says it commits (Collect's rejection). An
// implementation may hand out the Service bound to a unit of work (an
// Idempotency-Key claim, see idempotency.Runner and api.Tx;
// postgres.(*Wallets).In): the changes of a bound Service's writing methods
// (the opens, Deposit, Withdraw, OpenCharge, Collect) then commit with the
// unit, and any error they return but Collect's rejection keeps the unit
// from committing; its reads are as unbound. Nothing rides in the context.
// Errors other than the *apperr.Error values named here are faults: the
// database unreachable is apperr.ErrUnavailable in the chain.
type Service interface {
	// ListWallets returns a page of owner's customer wallets, newest first.
	ListWallets(ctx context.Context, owner int64, p Page) (Listing[Wallet], error)

	// OpenWallet opens a new empty customer wallet for owner.
	OpenWallet(ctx context.Context, owner int64) (Wallet, error)

	// Wallet returns owner's customer wallet id, read from the writer (a
	// wallet just opened is found). It fails with ErrNotFound when the
	// wallet does not exist, is a business wallet or is someone else's.
	Wallet(ctx context.Context, owner int64, id uuid.UUID) (Wallet, error)

	// Deposit adds amount to owner's wallet id and records an accepted
	// deposit with description; it returns the wallet with its new balance.
	// It fails with ErrNotFound (checked first, whatever the amount),
	// ErrAmountNotPositive (CheckDeposit), or ErrBalanceOverflow when the
	// balance would pass money.Max.
	Deposit(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (Wallet, error)

	// Withdraw takes -amount out of owner's wallet id (a withdrawal is
	// written negative) and records an accepted debit of amount; it returns
	// the wallet with its new balance. It fails with ErrNotFound (checked
	// first, whatever the amount), ErrAmountNotNegative (CheckWithdrawal),
	// or ErrNegativeBalance when the balance is too low.
	Withdraw(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (Wallet, error)

	// OpenCharge opens a pending charge of amount at business against
	// customer's wallet, to be collected by the business (Collect). No money
	// moves yet. It fails with ErrNotFound when business is not an active
	// business or the wallet is not customer's, and ErrAmountNotPositive.
	OpenCharge(ctx context.Context, customer, business int64, wallet uuid.UUID, amount money.Amount, description string) (Transaction, error)

	// Collect collects charge id at business: the customer's wallet loses
	// the amount, the business's wallet gains it, the charge becomes
	// Accepted; it returns the charge. It fails, changing nothing, with
	// ErrNotFound (not this business's charge), ErrAlreadyProcessed,
	// ErrNoBusinessWallet or ErrBusinessBalanceOverflow. When the customer's
	// balance is too low the charge becomes Rejected, that change commits,
	// and Collect returns the rejected charge with ErrNegativeBalance.
	Collect(ctx context.Context, business int64, id uuid.UUID) (Transaction, error)

	// ListTransactions returns a page of the transactions in scope matching
	// f, newest first, from the read replica. The caller has checked the
	// scope is the caller's (Wallet, ActiveBusiness).
	ListTransactions(ctx context.Context, scope TransactionScope, f TransactionFilter, p Page) (Listing[Transaction], error)

	// ActiveBusiness returns business id, or ErrNotFound when no active
	// business has that id.
	ActiveBusiness(ctx context.Context, id int64) (Business, error)

	// ListBusinesses returns a page of the active businesses, by id.
	ListBusinesses(ctx context.Context, p Page) (Listing[Business], error)

	// OpenBusinessWallet opens business owner's one wallet. It fails with
	// ErrBusinessWalletExists when it has one already.
	OpenBusinessWallet(ctx context.Context, owner int64) (Wallet, error)

	// BusinessWallet returns business owner's wallet, or
	// ErrBusinessWalletAbsent.
	BusinessWallet(ctx context.Context, owner int64) (Wallet, error)
}
