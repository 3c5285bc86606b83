package api

import "testing"

// The events list's ?type= and the transactions' ?status= and ?type= word
// an unknown value alike, as the original service did (the transactions'
// are checked through the handler in TestEdgeLists).
func TestInvalidChoiceMessage(t *testing.T) {
	const want = "Select a valid choice. wallet.exploded is not one of the available choices."
	if got := invalidChoice("wallet.exploded"); got != want {
		t.Errorf("invalidChoice = %q, want %q", got, want)
	}
}
