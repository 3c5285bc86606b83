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

func TestParseType(t *testing.T) {
	for _, name := range TypeNames() {
		if got, ok := ParseType(name); !ok || string(got) != name {
			t.Errorf("ParseType(%q) = %q, %v", name, got, ok)
		}
	}
	for _, bad := range []string{"", "wallet", "Wallet.Deposited", "charge.created ", "wallet.*"} {
		if _, ok := ParseType(bad); ok {
			t.Errorf("ParseType(%q) accepted", bad)
		}
	}
}

// A deposit or a withdrawal is the customer's alone; a charge's events
// reach its business too.
func TestRecipients(t *testing.T) {
	shop := int64(9)
	for _, tc := range []struct {
		e    Event
		want []int64
	}{
		{Event{Type: WalletDeposited, Customer: 4}, []int64{4}},
		{Event{Type: ChargeCollected, Customer: 4, Business: &shop}, []int64{4, 9}},
	} {
		if got := tc.e.Recipients(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Recipients = %v, want %v", tc.e.Type, got, tc.want)
		}
	}
}

// An endpoint without a list (nil) receives every type; one with a list,
// only those (the API refuses an empty list).
func TestEndpointWants(t *testing.T) {
	every := Endpoint{}
	charges := Endpoint{Events: []Type{ChargeCreated, ChargeCollected}}
	for _, typ := range Types {
		if !every.Wants(typ) {
			t.Errorf("an endpoint of every type refuses %s", typ)
		}
		if want := typ == ChargeCreated || typ == ChargeCollected; charges.Wants(typ) != want {
			t.Errorf("charges endpoint wants %s: %v, want %v", typ, !want, want)
		}
	}
}

func TestAttemptDelivered(t *testing.T) {
	for status, want := range map[int]bool{0: false, 199: false, 200: true, 204: true, 299: true, 300: false, 404: false, 500: false} {
		if got := (Attempt{Status: status}).Delivered(); got != want {
			t.Errorf("status %d delivered: %v, want %v", status, got, want)
		}
	}
}
