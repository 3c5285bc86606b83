package wallet

import (
	"errors"
	"testing"

	"wallets/internal/money"
)

func TestAmountRules(t *testing.T) {
	tests := []struct {
		amount              money.Amount
		deposit, withdrawal error
	}{
		{1, nil, ErrAmountNotNegative},
		{money.Max, nil, ErrAmountNotNegative},
		{0, ErrAmountNotPositive, ErrAmountNotNegative},
		{-1, ErrAmountNotPositive, nil},
		{-money.Max, ErrAmountNotPositive, nil},
	}
	for _, tt := range tests {
		if got := CheckDeposit(tt.amount); !errors.Is(got, tt.deposit) {
			t.Errorf("CheckDeposit(%v) = %v, want %v", tt.amount, got, tt.deposit)
		}
		if got := CheckWithdrawal(tt.amount); !errors.Is(got, tt.withdrawal) {
			t.Errorf("CheckWithdrawal(%v) = %v, want %v", tt.amount, got, tt.withdrawal)
		}
	}
}

func TestCreditAndTake(t *testing.T) {
	credits := []struct {
		balance, amount, want money.Amount
		err                   error
	}{
		{0, 100, 100, nil},
		{money.Max - 1, 1, money.Max, nil},
		{money.Max, 1, money.Max, ErrBalanceOverflow},
		{money.Max - 1, 2, money.Max - 1, ErrBalanceOverflow},
	}
	for _, tt := range credits {
		got, err := Credit(tt.balance, tt.amount, ErrBalanceOverflow)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Credit(%v, %v) = %v, %v; want %v, %v", tt.balance, tt.amount, got, err, tt.want, tt.err)
		}
	}
	if _, err := Credit(money.Max, 1, ErrBusinessBalanceOverflow); !errors.Is(err, ErrBusinessBalanceOverflow) {
		t.Errorf("Credit with the business's overflow error = %v", err)
	}
	takes := []struct {
		balance, amount, want money.Amount
		err                   error
	}{
		{100, 100, 0, nil},
		{100, 40, 60, nil},
		{100, 101, 100, ErrNegativeBalance},
		{0, 1, 0, ErrNegativeBalance},
	}
	for _, tt := range takes {
		got, err := Take(tt.balance, tt.amount)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Take(%v, %v) = %v, %v; want %v, %v", tt.balance, tt.amount, got, err, tt.want, tt.err)
		}
	}
}

func TestCheckCollectable(t *testing.T) {
	for _, tt := range []struct {
		status Status
		want   error
	}{
		{Pending, nil},
		{Rejected, nil}, // a rejected charge may be collected once funds arrive
		{Accepted, ErrAlreadyProcessed},
	} {
		if got := CheckCollectable(Transaction{Status: tt.status}); !errors.Is(got, tt.want) {
			t.Errorf("CheckCollectable(status %d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}
