package event

import (
	"slices"
	"testing"
)

func TestTypeNames(t *testing.T) {
	want := []string{"wallet.deposited", "wallet.withdrawn", "charge.created", "charge.collected", "charge.rejected"}
	got := TypeNames()
	if !slices.Equal(got, want) {
		t.Fatalf("TypeNames = %v, want %v", got, want)
	}
	got[0] = "changed"
	if again := TypeNames(); !slices.Equal(again, want) {
		t.Errorf("TypeNames after a caller changed its slice = %v", again)
	}
}
