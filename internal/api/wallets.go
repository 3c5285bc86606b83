package api

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wallets/internal/apperr"
	"wallets/internal/money"
	"wallets/internal/obs"
	"wallets/internal/postgres"
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

type txView struct {
	UUID        string       `json:"uuid"`
	Amount      money.Amount `json:"amount"`
	Description string       `json:"description"`
	Status      int          `json:"status"`
	Type        int          `json:"type"`
	Business    *int64       `json:"business"`
	Wallet      string       `json:"wallet"`
	Created     string       `json:"created_date"`
}

func viewTx(t wallet.Transaction) txView {
	return txView{UUID: t.UUID.String(), Amount: t.Amount, Description: t.Description, Status: int(t.Status),
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

func txPosition(t wallet.Transaction) wallet.Cursor {
	return wallet.Cursor{Created: t.Created, UUID: t.UUID}
}

func businessPosition(b wallet.Business) wallet.Cursor { return wallet.Cursor{ID: b.ID} }

func (s *Server) listWallets(ctx context.Context, r *Request) (Response, error) {
	return listPage(s, r, "t", func(p wallet.Page) (wallet.Listing[wallet.Wallet], error) {
		return postgres.ListWallets(ctx, r.ReadDB(), r.Principal.UserID, p)
	}, viewWallet, walletPosition)
}

func (s *Server) createWallet(ctx context.Context, r *Request) (Response, error) {
	tx, err := r.Tx(ctx)
	if err != nil {
		return Response{}, err
	}
	w, err := postgres.CreateWallet(ctx, tx, r.Principal.UserID, false)
	if err != nil {
		return Response{}, err
	}
	return created(viewWallet(w)), nil
}

func (s *Server) getWallet(ctx context.Context, r *Request) (Response, error) {
	id, err := r.UUIDParam("uuid")
	if err != nil {
		return Response{}, err
	}
	w, err := postgres.CustomerWallet(ctx, r.DB(), r.Principal.UserID, id, false)
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

func (s *Server) deposit(ctx context.Context, r *Request) (Response, error) {
	return s.move(ctx, r, "deposit", func(a money.Amount) error {
		if a <= 0 {
			return apperr.Field("amount", "Amount must be positive")
		}
		return nil
	}, postgres.Deposit)
}

func (s *Server) retire(ctx context.Context, r *Request) (Response, error) {
	return s.move(ctx, r, "retire", func(a money.Amount) error {
		if a >= 0 {
			return apperr.Field("amount", "Amount must be negative")
		}
		return nil
	}, postgres.Retire)
}

// move runs a deposit or a withdrawal on one of the caller's wallets.
func (s *Server) move(ctx context.Context, r *Request, op string, check func(money.Amount) error,
	apply func(context.Context, pgx.Tx, int64, uuid.UUID, money.Amount, string) (wallet.Wallet, error)) (Response, error) {
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
		if _, werr := postgres.CustomerWallet(ctx, r.DB(), r.Principal.UserID, id, false); werr != nil {
			return Response{}, werr
		}
		return Response{}, err
	}
	tx, err := r.Tx(ctx)
	if err != nil {
		return Response{}, err
	}
	w, err := apply(ctx, tx, r.Principal.UserID, id, amount, desc)
	countMovement(ctx, op, amount, err)
	if err != nil {
		return Response{}, err
	}
	return ok(viewWallet(w)), nil
}

// countMovement emits the money-movement metrics of one operation.
func countMovement(ctx context.Context, op string, amount money.Amount, err error) {
	outcome := "accepted"
	switch {
	case errors.Is(err, wallet.ErrNegativeBalance):
		outcome = "rejected"
	case err != nil && apperr.CodeOf(err) != "":
		outcome = "refused"
	case err != nil:
		outcome = "failed"
	}
	obs.Count(ctx, obs.MetricMoneyMovements, 1, "Operation", op, "Outcome", outcome)
	if outcome == "accepted" {
		if amount < 0 {
			amount = -amount
		}
		obs.Metric(ctx, obs.MetricAmountMoved, obs.UnitNone, float64(amount)/100, map[string]string{"Operation": op})
	}
}

func (s *Server) walletTransactions(ctx context.Context, r *Request) (Response, error) {
	id, err := r.UUIDParam("uuid")
	if err != nil {
		return Response{}, err
	}
	f, err := txFilter(r)
	if err != nil {
		return Response{}, err
	}
	// Ownership from the writer: a wallet just opened must not 404.
	if _, err := postgres.CustomerWallet(ctx, r.DB(), r.Principal.UserID, id, false); err != nil {
		return Response{}, err
	}
	return s.listTransactions(ctx, r, postgres.TxScope{Wallet: &id}, f)
}

func (s *Server) listTransactions(ctx context.Context, r *Request, scope postgres.TxScope, f wallet.TxFilter) (Response, error) {
	return listPage(s, r, "t", func(p wallet.Page) (wallet.Listing[wallet.Transaction], error) {
		return postgres.ListTransactions(ctx, r.ReadDB(), scope, f, p)
	}, viewTx, txPosition)
}

// activeBusiness reads the {business_id} of the path: an active business or
// a 404.
func activeBusiness(ctx context.Context, r *Request) (int64, error) {
	id, err := r.IDParam("business_id")
	if err != nil {
		return 0, err
	}
	if _, err := postgres.ActiveBusiness(ctx, r.DB(), id); err != nil {
		return 0, err
	}
	return id, nil
}

func (s *Server) createCharge(ctx context.Context, r *Request) (Response, error) {
	business, err := activeBusiness(ctx, r)
	if err != nil {
		return Response{}, err
	}
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	amount, ok := f.Amount("amount")
	if ok && amount <= 0 {
		f.Error("amount", "Amount must be positive")
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
	tx, err := r.Tx(ctx)
	if err != nil {
		return Response{}, err
	}
	t, err := postgres.CreateCharge(ctx, tx, r.Principal.UserID, business, id, amount, desc)
	if err != nil {
		return Response{}, err
	}
	obs.Count(ctx, obs.MetricMoneyMovements, 1, "Operation", "charge", "Outcome", "pending")
	return created(viewTx(t)), nil
}

func (s *Server) listCharges(ctx context.Context, r *Request) (Response, error) {
	business, err := activeBusiness(ctx, r)
	if err != nil {
		return Response{}, err
	}
	f, err := txFilter(r)
	if err != nil {
		return Response{}, err
	}
	customer := r.Principal.UserID
	return s.listTransactions(ctx, r, postgres.TxScope{Business: &business, Customer: &customer}, f)
}

func (s *Server) listBusinesses(ctx context.Context, r *Request) (Response, error) {
	return listPage(s, r, "i", func(p wallet.Page) (wallet.Listing[wallet.Business], error) {
		return postgres.ListBusinesses(ctx, r.ReadDB(), p)
	}, viewBusiness, businessPosition)
}

func (s *Server) createBusinessWallet(ctx context.Context, r *Request) (Response, error) {
	tx, err := r.Tx(ctx)
	if err != nil {
		return Response{}, err
	}
	w, err := postgres.CreateWallet(ctx, tx, r.Principal.UserID, true)
	if err != nil {
		return Response{}, err
	}
	return created(viewWallet(w)), nil
}

func (s *Server) getBusinessWallet(ctx context.Context, r *Request) (Response, error) {
	w, err := postgres.BusinessWallet(ctx, r.DB(), r.Principal.UserID)
	if err != nil {
		return Response{}, err
	}
	return ok(viewWallet(w)), nil
}

func (s *Server) businessTransactions(ctx context.Context, r *Request) (Response, error) {
	f, err := txFilter(r)
	if err != nil {
		return Response{}, err
	}
	business := r.Principal.UserID
	return s.listTransactions(ctx, r, postgres.TxScope{Business: &business}, f)
}

func (s *Server) debit(ctx context.Context, r *Request) (Response, error) {
	id, err := r.UUIDParam("uuid")
	if err != nil {
		return Response{}, err
	}
	tx, err := r.Tx(ctx)
	if err != nil {
		return Response{}, err
	}
	t, err := postgres.Debit(ctx, tx, r.Principal.UserID, id)
	countMovement(ctx, "debit", t.Amount, err)
	if errors.Is(err, wallet.ErrNegativeBalance) {
		// The charge is now rejected: commit that, and answer 409.
		e, _ := apperr.As(err)
		return errorResponse(e), nil
	}
	if err != nil {
		return Response{}, err
	}
	return ok(viewTx(t)), nil
}
