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
