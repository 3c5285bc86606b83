package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"wallets/internal/event"
	"wallets/internal/money"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// The services' boundary: each exported method of a service is one line here
// or two, ending its unexported body (in wallets.go, ledger.go, users.go,
// events.go, health.go) through scope.wrote or read. wrote is for the methods
// that write in a unit of work: any error keeps the unit the service is bound
// to from committing, except a refusal the body returns as committed
// (Collect's rejection); read (or classify) is for those that do not (reads,
// and the statements that commit on their own whatever the unit: the login
// throttle, RevokeTokens). Both classify the error (apperr.ErrUnavailable in
// front of an unreachable database), so no body has to remember either.

// ListWallets implements wallet.Service, on the reader.
func (s *Wallets) ListWallets(ctx context.Context, owner int64, p wallet.Page) (wallet.Listing[wallet.Wallet], error) {
	return read(s.listWallets(ctx, owner, p))
}

// OpenWallet implements wallet.Service.
func (s *Wallets) OpenWallet(ctx context.Context, owner int64) (wallet.Wallet, error) {
	v, err := s.openWallet(ctx, owner)
	return v, s.scope.wrote(err)
}

// Wallet implements wallet.Service, on the writer, outside any unit of work.
func (s *Wallets) Wallet(ctx context.Context, owner int64, id uuid.UUID) (wallet.Wallet, error) {
	return read(s.wallet(ctx, owner, id))
}

// Deposit implements wallet.Service.
func (s *Wallets) Deposit(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (wallet.Wallet, error) {
	v, err := s.deposit(ctx, owner, id, amount, description)
	return v, s.scope.wrote(err)
}

// Withdraw implements wallet.Service.
func (s *Wallets) Withdraw(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (wallet.Wallet, error) {
	v, err := s.withdraw(ctx, owner, id, amount, description)
	return v, s.scope.wrote(err)
}

// OpenCharge implements wallet.Service.
func (s *Wallets) OpenCharge(ctx context.Context, customer, business int64, walletID uuid.UUID, amount money.Amount, description string) (wallet.Transaction, error) {
	v, err := s.openCharge(ctx, customer, business, walletID, amount, description)
	return v, s.scope.wrote(err)
}

// Collect implements wallet.Service; its rejection is a committed refusal.
func (s *Wallets) Collect(ctx context.Context, business int64, id uuid.UUID) (wallet.Transaction, error) {
	v, err := s.collect(ctx, business, id)
	return v, s.scope.wrote(err)
}

// ListTransactions implements wallet.Service, on the reader.
func (s *Wallets) ListTransactions(ctx context.Context, scope wallet.TransactionScope, f wallet.TransactionFilter, p wallet.Page) (wallet.Listing[wallet.Transaction], error) {
	return read(s.listTransactions(ctx, scope, f, p))
}

// ActiveBusiness implements wallet.Service, on the writer, outside any unit
// of work.
func (s *Wallets) ActiveBusiness(ctx context.Context, id int64) (wallet.Business, error) {
	return read(s.activeBusiness(ctx, id))
}

// ListBusinesses implements wallet.Service, on the reader.
func (s *Wallets) ListBusinesses(ctx context.Context, p wallet.Page) (wallet.Listing[wallet.Business], error) {
	return read(s.listBusinesses(ctx, p))
}

// OpenBusinessWallet implements wallet.Service.
func (s *Wallets) OpenBusinessWallet(ctx context.Context, owner int64) (wallet.Wallet, error) {
	v, err := s.openBusinessWallet(ctx, owner)
	return v, s.scope.wrote(err)
}

// BusinessWallet implements wallet.Service, on the writer, outside any unit
// of work.
func (s *Wallets) BusinessWallet(ctx context.Context, owner int64) (wallet.Wallet, error) {
	return read(s.businessWallet(ctx, owner))
}

// SignUp implements user.Service.
func (s *Users) SignUp(ctx context.Context, a user.NewAccount) (user.User, error) {
	v, err := s.signUp(ctx, a)
	return v, s.scope.wrote(err)
}

// LogIn implements user.Service, on the writer, outside any unit of work:
// its throttle's statements must commit on their own.
func (s *Users) LogIn(ctx context.Context, username, password, source string) (user.User, error) {
	return read(s.logIn(ctx, username, password, source))
}

// User implements user.Service, on the writer, outside any unit of work.
func (s *Users) User(ctx context.Context, id int64) (user.User, error) {
	return read(s.user(ctx, id))
}

// UpdateProfile implements user.Service.
func (s *Users) UpdateProfile(ctx context.Context, id int64, c user.ProfileChange) (user.User, error) {
	v, err := s.updateProfile(ctx, id, c)
	return v, s.scope.wrote(err)
}

// ChangePassword implements user.Service: the throttle's statements commit
// on their own, the new password in the unit of work, if any.
func (s *Users) ChangePassword(ctx context.Context, id int64, c user.PasswordChange) error {
	return s.scope.wrote(s.changePassword(ctx, id, c))
}

// RevokeTokens implements user.Service, on the writer, outside any unit of
// work.
func (s *Users) RevokeTokens(ctx context.Context, id int64, version int) error {
	return classify(s.revokeTokens(ctx, id, version))
}

// Deactivate implements user.Service.
func (s *Users) Deactivate(ctx context.Context, id int64) error {
	return s.scope.wrote(s.deactivate(ctx, id))
}

// Ping runs one trivial query on the pool within ctx (the caller bounds it).
// An unreachable database is apperr.ErrUnavailable in the error's chain.
func (h *Health) Ping(ctx context.Context) error {
	return classify(h.ping(ctx))
}

// ListEvents implements event.Service, on the reader.
func (s *Events) ListEvents(ctx context.Context, user int64, f event.Filter, p wallet.Page) (wallet.Listing[event.Event], error) {
	return read(s.listEvents(ctx, user, f, p))
}

// CreateEndpoint implements event.Service.
func (s *Events) CreateEndpoint(ctx context.Context, owner int64, e event.NewEndpoint) (event.Endpoint, error) {
	v, err := s.createEndpoint(ctx, owner, e)
	return v, s.scope.wrote(err)
}

// ListEndpoints implements event.Service, on the reader.
func (s *Events) ListEndpoints(ctx context.Context, owner int64) ([]event.Endpoint, error) {
	return read(s.listEndpoints(ctx, owner))
}

// DeleteEndpoint implements event.Service.
func (s *Events) DeleteEndpoint(ctx context.Context, owner int64, id uuid.UUID) error {
	return s.scope.wrote(s.deleteEndpoint(ctx, owner, id))
}

// DeadDeliveries implements event.Service, on the reader.
func (s *Events) DeadDeliveries(ctx context.Context, owner int64, id uuid.UUID, p wallet.Page) (wallet.Listing[event.Delivery], error) {
	return read(s.deadDeliveries(ctx, owner, id, p))
}

// The outbox runs outside any unit of work: its transactions and
// statements are its own, on the writer.

// Relay implements event.Outbox.
func (s *Events) Relay(ctx context.Context, limit int, publish func(context.Context, []event.Batch) error) (int, error) {
	return read(s.relay(ctx, limit, publish))
}

// OutboxAge implements event.Outbox.
func (s *Events) OutboxAge(ctx context.Context) (time.Duration, error) {
	return read(s.outboxAge(ctx))
}

// Delivery implements event.Outbox.
func (s *Events) Delivery(ctx context.Context, id uuid.UUID) (event.Delivery, error) {
	return read(s.delivery(ctx, id))
}

// RecordAttempt implements event.Outbox.
func (s *Events) RecordAttempt(ctx context.Context, id uuid.UUID, n int, a event.Attempt, next time.Time, dead bool) (bool, error) {
	return read(s.recordAttempt(ctx, id, n, a, next, dead))
}

// Overdue implements event.Outbox.
func (s *Events) Overdue(ctx context.Context, grace time.Duration, limit int) ([]uuid.UUID, error) {
	return read(s.overdue(ctx, grace, limit))
}

// Purge implements event.Outbox.
func (s *Events) Purge(ctx context.Context, limit int) (int64, error) {
	return read(s.purge(ctx, limit))
}
