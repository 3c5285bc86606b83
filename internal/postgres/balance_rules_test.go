package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"wallets/internal/money"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// The balance rules have one home: the SQL statement that moves the money
// (move_money, collect_charge; migrations/00005_balance_shards.sql and
// 00008_events.sql), which decides under its locks. These tables pin their
// bounds through the service, which is how every caller reaches them.

// TestMoveMoneyBounds: a balance stays between zero and money.Max, both
// included; a refused movement changes nothing and records nothing.
func TestMoveMoneyBounds(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	tests := []struct {
		name    string
		balance money.Amount // deposited first, when positive
		amount  money.Amount // a deposit when positive, a withdrawal when negative
		want    money.Amount // the balance afterwards
		wantErr error
	}{
		{"deposit into an empty wallet", 0, 100, 100, nil},
		{"deposit up to exactly money.Max", money.Max - 1, 1, money.Max, nil},
		{"deposit money.Max at once", 0, money.Max, money.Max, nil},
		{"deposit one cent over money.Max, from money.Max", money.Max, 1, money.Max, wallet.ErrBalanceOverflow},
		{"deposit one cent over money.Max", money.Max - 1, 2, money.Max - 1, wallet.ErrBalanceOverflow},
		{"withdraw to exactly zero", 100, -100, 0, nil},
		{"withdraw part", 100, -40, 60, nil},
		{"withdraw one cent short", 100, -101, 100, wallet.ErrNegativeBalance},
		{"withdraw from zero", 0, -1, 0, wallet.ErrNegativeBalance},
		{"withdraw all of money.Max", money.Max, -money.Max, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.newWallet(t, alice.ID)
			if tt.balance > 0 {
				e.fund(t, alice.ID, w.UUID, tt.balance)
			}
			move := e.wallets.Deposit
			if tt.amount < 0 {
				move = e.wallets.Withdraw
			}
			got, err := move(ctx, alice.ID, w.UUID, tt.amount, "move")
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%v on %v: error %v, want %v", tt.amount, tt.balance, err, tt.wantErr)
			}
			if err == nil && got.Balance != tt.want {
				t.Errorf("%v on %v: returned balance %v, want %v", tt.amount, tt.balance, got.Balance, tt.want)
			}
			if b := e.balance(t, w.UUID); b != tt.want {
				t.Errorf("%v on %v: balance afterwards %v, want %v", tt.amount, tt.balance, b, tt.want)
			}
			wantRecorded := 1
			if tt.wantErr != nil {
				wantRecorded = 0
			}
			if n := e.count(t, `SELECT count(*) FROM transactions WHERE wallet_id = $1 AND description = 'move'`, w.UUID); n != wantRecorded {
				t.Errorf("%v on %v: %d transactions recorded, want %d", tt.amount, tt.balance, n, wantRecorded)
			}
		})
	}
}

// TestCollectChargeBounds: a charge is collected when the customer's balance
// covers it exactly or more and the business's stays at most money.Max;
// short of funds it becomes rejected (and that commits); the business's
// overflow changes nothing.
func TestCollectChargeBounds(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tests := []struct {
		name                       string
		customer, business, amount money.Amount // balances before, and the charge
		wantStatus                 wallet.Status
		wantErr                    error
		wantCustomer, wantBusiness money.Amount // balances afterwards
	}{
		{"funds exactly the amount", 500, 0, 500, wallet.Accepted, nil, 0, 500},
		{"funds more than the amount", 501, 0, 500, wallet.Accepted, nil, 1, 500},
		{"one cent short", 499, 0, 500, wallet.Rejected, wallet.ErrNegativeBalance, 499, 0},
		{"no funds", 0, 0, 500, wallet.Rejected, wallet.ErrNegativeBalance, 0, 0},
		{"business reaches exactly money.Max", 500, money.Max - 500, 500, wallet.Accepted, nil, 0, money.Max},
		{"business one cent over money.Max", 500, money.Max - 499, 500, wallet.Pending, wallet.ErrBusinessBalanceOverflow, 500, money.Max - 499},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.shop(t, fmt.Sprint(i))
			if tt.customer > 0 {
				e.fund(t, s.customer, s.wallet, tt.customer)
			}
			e.setBalance(t, s.bwallet, tt.business)
			charge, err := e.wallets.OpenCharge(ctx, s.customer, s.business, s.wallet, tt.amount, "buy")
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.wallets.Collect(ctx, s.business, charge.UUID)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if (err == nil || errors.Is(err, wallet.ErrNegativeBalance)) && got.Status != tt.wantStatus {
				t.Errorf("returned status %v, want %v", got.Status, tt.wantStatus)
			}
			if st := e.status(t, charge.UUID); st != tt.wantStatus {
				t.Errorf("status afterwards %v, want %v", st, tt.wantStatus)
			}
			if c, b := e.balance(t, s.wallet), e.balance(t, s.bwallet); c != tt.wantCustomer || b != tt.wantBusiness {
				t.Errorf("balances afterwards %v and %v, want %v and %v", c, b, tt.wantCustomer, tt.wantBusiness)
			}
		})
	}
}

// TestCollectChargeStates: pending or rejected → accepted, and rejected
// stays collectable (a rejected charge is collected once funds arrive); an
// accepted charge is never collected again, whatever the funds.
func TestCollectChargeStates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := e.shop(t, "")
	charge, err := e.wallets.OpenCharge(ctx, s.customer, s.business, s.wallet, 500, "buy")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name         string
		fund         money.Amount // deposited into the customer's wallet first
		wantStatus   wallet.Status
		wantErr      error
		wantCustomer money.Amount
		wantBusiness money.Amount
	}{
		{"pending without funds: rejected", 0, wallet.Rejected, wallet.ErrNegativeBalance, 0, 0},
		{"rejected, still short by a cent: rejected again", 499, wallet.Rejected, wallet.ErrNegativeBalance, 499, 0},
		{"rejected, after a deposit: accepted", 1, wallet.Accepted, nil, 0, 500},
		{"accepted: never again", 0, wallet.Accepted, wallet.ErrAlreadyProcessed, 0, 500},
		{"accepted, with funds: never again", 500, wallet.Accepted, wallet.ErrAlreadyProcessed, 500, 500},
	}
	for _, st := range steps {
		if st.fund > 0 {
			e.fund(t, s.customer, s.wallet, st.fund)
		}
		_, err := e.wallets.Collect(ctx, s.business, charge.UUID)
		if !errors.Is(err, st.wantErr) {
			t.Errorf("%s: error %v, want %v", st.name, err, st.wantErr)
		}
		if got := e.status(t, charge.UUID); got != st.wantStatus {
			t.Errorf("%s: status %v, want %v", st.name, got, st.wantStatus)
		}
		if c, b := e.balance(t, s.wallet), e.balance(t, s.bwallet); c != st.wantCustomer || b != st.wantBusiness {
			t.Errorf("%s: balances %v and %v, want %v and %v", st.name, c, b, st.wantCustomer, st.wantBusiness)
		}
	}
}
