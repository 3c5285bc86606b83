package api

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"wallets/internal/api/cursor"
	"wallets/internal/money"
	"wallets/internal/obs"
	"wallets/internal/wallet"
)

// timeFormat prints timestamps as the original did: UTC, microseconds, "Z".
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

type walletView struct {
	UUID    string       `json:"uuid"`
	Balance money.Amount `json:"balance"`
	Created string       `json:"created_date"`
}

func viewWallet(w wallet.Wallet) walletView {
	return walletView{UUID: w.UUID.String(), Balance: w.Balance, Created: w.Created.UTC().Format(timeFormat)}
}

type transactionView struct {
	UUID        string       `json:"uuid"`
	Amount      money.Amount `json:"amount"`
	Description string       `json:"description"`
	Status      int          `json:"status"`
	Type        int          `json:"type"`
	Business    *int64       `json:"business"`
	Wallet      string       `json:"wallet"`
	Created     string       `json:"created_date"`
}

func viewTransaction(t wallet.Transaction) transactionView {
	return transactionView{UUID: t.UUID.String(), Amount: t.Amount, Description: t.Description, Status: int(t.Status),
		Type: int(t.Type), Business: t.BusinessID, Wallet: t.WalletID.String(), Created: t.Created.UTC().Format(timeFormat)}
}

type businessView struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func viewBusiness(b wallet.Business) businessView { return businessView(b) }

func walletPosition(w wallet.Wallet) wallet.Cursor {
	return wallet.Cursor{Created: w.Created, UUID: w.UUID}
}

func transactionPosition(t wallet.Transaction) wallet.Cursor {
	return wallet.Cursor{Created: t.Created, UUID: t.UUID}
}

func businessPosition(b wallet.Business) wallet.Cursor { return wallet.Cursor{ID: b.ID} }

// ListWallets answers a page of the caller's wallets.
func (s *Server) ListWallets(ctx context.Context, r *Request) (Response, error) {
	return listPage(ctx, s, r, cursor.ByTime, func(p wallet.Page) (wallet.Listing[wallet.Wallet], error) {
		return s.wallets.ListWallets(ctx, r.Principal.UserID, p)
	}, viewWallet, walletPosition)
}

// OpenWallet opens a wallet for the caller.
func (s *Server) OpenWallet(ctx context.Context, r *Request) (Response, error) {
	w, err := s.wallets.OpenWallet(ctx, r.Principal.UserID)
	if err != nil {
		return Response{}, err
	}
	return created(viewWallet(w)), nil
}

// Wallet answers one of the caller's wallets.
func (s *Server) Wallet(ctx context.Context, r *Request) (Response, error) {
	id, err := r.UUIDParam("uuid")
	if err != nil {
		return Response{}, err
	}
	w, err := s.wallets.Wallet(ctx, r.Principal.UserID, id)
	if err != nil {
		return Response{}, err
	}
	return ok(viewWallet(w)), nil
}

// movement reads the body of a deposit or a withdrawal.
func movement(r *Request) (money.Amount, string, error) {
	f, err := r.Form()
	if err != nil {
		return 0, "", err
	}
	amount, _ := f.Amount("amount")
	desc, _ := f.String("description", false, wallet.MaxDescription)
	return amount, desc, f.Err()
}

// Deposit puts money into one of the caller's wallets.
func (s *Server) Deposit(ctx context.Context, r *Request) (Response, error) {
	return s.move(ctx, r, wallet.CheckDeposit, s.wallets.Deposit)
}

// Withdraw takes money (a negative amount) out of one of the caller's wallets
// (route wallets-retire: the path keeps the original service's /retire).
func (s *Server) Withdraw(ctx context.Context, r *Request) (Response, error) {
	return s.move(ctx, r, wallet.CheckWithdrawal, s.wallets.Withdraw)
}

// move runs a deposit or a withdrawal on one of the caller's wallets. check
// is the amount's sign rule (wallet.CheckDeposit or CheckWithdrawal, its one
// implementation). The service checks it too, as wallet.Service promises,
// in the same order (the 404 first); the edge checks it as well so that a
// refused body never calls a writing method (in an Idempotency-Key's unit
// of work, a writing method's refusal marks the unit aborted; the edge's
// tests hold that an invalid body reaches none). The balance rules are the
// service's alone (its SQL; see package wallet).
func (s *Server) move(ctx context.Context, r *Request, check func(money.Amount) error,
	apply func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (wallet.Wallet, error)) (Response, error) {
	id, err := r.UUIDParam("uuid")
	if err != nil {
		return Response{}, err
	}
	amount, desc, err := movement(r)
	if err == nil {
		err = check(amount)
	}
	if err != nil {
		// Someone else's wallet is a 404 whatever the body says. (A valid
		// body learns that from apply, without this extra read.)
		if _, werr := s.wallets.Wallet(ctx, r.Principal.UserID, id); werr != nil {
			return Response{}, werr
		}
		return Response{}, err
	}
	w, err := apply(ctx, r.Principal.UserID, id, amount, desc)
	countMovement(ctx, amount, err)
	if err != nil {
		return Response{}, err
	}
	return ok(viewWallet(w)), nil
}

// countMovement emits the money-movement metrics of one movement, by
// Function (the function is the operation): the amount of an accepted one,
// or a rejected one (the balance would go negative). A movement refused
// otherwise is the function's 4xx, a failed one its 5xx. Dimensioned by
// Function, they ride in the request metrics' directive of the invocation's
// line, which keeps it short (an Operation and Outcome directive of their
// own would cost about 200 bytes more on every money request).
func countMovement(ctx context.Context, amount money.Amount, err error) {
	switch {
	case err == nil:
		if amount < 0 {
			amount = -amount
		}
		obs.Metric(ctx, obs.MetricAmountMoved, obs.UnitNone, float64(amount)/100, nil)
	case errors.Is(err, wallet.ErrNegativeBalance):
		obs.Count(ctx, obs.MetricRejectedMovements, 1)
	}
}

// WalletTransactions answers a page of one of the caller's wallets'
// transactions.
func (s *Server) WalletTransactions(ctx context.Context, r *Request) (Response, error) {
	id, err := r.UUIDParam("uuid")
	if err != nil {
		return Response{}, err
	}
	f, err := transactionFilter(r)
	if err != nil {
		return Response{}, err
	}
	// Ownership from the writer: a wallet just opened must not 404.
	if _, err := s.wallets.Wallet(ctx, r.Principal.UserID, id); err != nil {
		return Response{}, err
	}
	return s.listTransactions(ctx, r, wallet.TransactionScope{Wallet: &id}, f)
}

func (s *Server) listTransactions(ctx context.Context, r *Request, scope wallet.TransactionScope, f wallet.TransactionFilter) (Response, error) {
	return listPage(ctx, s, r, cursor.ByTime, func(p wallet.Page) (wallet.Listing[wallet.Transaction], error) {
		return s.wallets.ListTransactions(ctx, scope, f, p)
	}, viewTransaction, transactionPosition)
}

// activeBusiness reads the {business_id} of the path: an active business or
// a 404.
func (s *Server) activeBusiness(ctx context.Context, r *Request) (int64, error) {
	id, err := r.IDParam("business_id")
	if err != nil {
		return 0, err
	}
	if _, err := s.wallets.ActiveBusiness(ctx, id); err != nil {
		return 0, err
	}
	return id, nil
}

// OpenCharge opens a pending charge at a business against one of the
// caller's wallets.
func (s *Server) OpenCharge(ctx context.Context, r *Request) (Response, error) {
	business, err := s.activeBusiness(ctx, r)
	if err != nil {
		return Response{}, err
	}
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	amount, ok := f.Amount("amount")
	if ok && wallet.CheckDeposit(amount) != nil {
		f.Error("amount", wallet.MsgAmountPositive)
	}
	desc, _ := f.String("description", false, wallet.MaxDescription)
	walletID, _ := f.String("wallet", true, 0)
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	id, err := parseUUID(walletID)
	if err != nil {
		// No wallet of the caller's has that id.
		return Response{}, wallet.ErrNotFound
	}
	t, err := s.wallets.OpenCharge(ctx, r.Principal.UserID, business, id, amount, desc)
	if err != nil {
		return Response{}, err
	}
	return created(viewTransaction(t)), nil
}

// ListCharges answers a page of the caller's charges at a business.
func (s *Server) ListCharges(ctx context.Context, r *Request) (Response, error) {
	business, err := s.activeBusiness(ctx, r)
	if err != nil {
		return Response{}, err
	}
	f, err := transactionFilter(r)
	if err != nil {
		return Response{}, err
	}
	customer := r.Principal.UserID
	return s.listTransactions(ctx, r, wallet.TransactionScope{Business: &business, Customer: &customer}, f)
}

// ListBusinesses answers a page of the business directory.
func (s *Server) ListBusinesses(ctx context.Context, r *Request) (Response, error) {
	return listPage(ctx, s, r, cursor.ByID, func(p wallet.Page) (wallet.Listing[wallet.Business], error) {
		return s.wallets.ListBusinesses(ctx, p)
	}, viewBusiness, businessPosition)
}

// OpenBusinessWallet opens the calling business's wallet.
func (s *Server) OpenBusinessWallet(ctx context.Context, r *Request) (Response, error) {
	w, err := s.wallets.OpenBusinessWallet(ctx, r.Principal.UserID)
	if err != nil {
		return Response{}, err
	}
	return created(viewWallet(w)), nil
}

// BusinessWallet answers the calling business's wallet.
func (s *Server) BusinessWallet(ctx context.Context, r *Request) (Response, error) {
	w, err := s.wallets.BusinessWallet(ctx, r.Principal.UserID)
	if err != nil {
		return Response{}, err
	}
	return ok(viewWallet(w)), nil
}

// BusinessTransactions answers a page of the charges made at the calling
// business.
func (s *Server) BusinessTransactions(ctx context.Context, r *Request) (Response, error) {
	f, err := transactionFilter(r)
	if err != nil {
		return Response{}, err
	}
	business := r.Principal.UserID
	return s.listTransactions(ctx, r, wallet.TransactionScope{Business: &business}, f)
}

// Collect collects a charge made at the calling business. A charge refused
// for want of funds is answered 409 and stays rejected.
func (s *Server) Collect(ctx context.Context, r *Request) (Response, error) {
	id, err := r.UUIDParam("uuid")
	if err != nil {
		return Response{}, err
	}
	t, err := s.wallets.Collect(ctx, r.Principal.UserID, id)
	countMovement(ctx, t.Amount, err)
	if err != nil {
		return Response{}, err
	}
	return ok(viewTransaction(t)), nil
}
