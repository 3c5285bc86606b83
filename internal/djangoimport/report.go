package djangoimport

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"wallets/internal/money"
)

// Report is what a run found and did. Counts and sums describe the old data
// as imported; the Inserted counts say how much of it this run wrote (the
// rest was there from an earlier run).
type Report struct {
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`

	Customers         int            `json:"customers"`
	Businesses        int            `json:"businesses"`
	UsersInserted     int64          `json:"users_inserted"`
	Skipped           []SkippedUser  `json:"skipped_users"`
	NoProfile         []int64        `json:"no_profile_customers"`
	AdminFlagsDropped []int64        `json:"admin_flags_dropped"`
	Renamed           []Renamed      `json:"renamed"`
	Emails            []EmailChange  `json:"emails_replaced"`
	Passwords         map[string]int `json:"password_formats"`
	NextUserID        int64          `json:"next_user_id"`

	CustomerWallets int          `json:"customer_wallets"`
	BusinessWallets int          `json:"business_wallets"`
	WalletsInserted int64        `json:"wallets_inserted"`
	Balances        money.Amount `json:"balances"`
	UnownedWallets  []uuid.UUID  `json:"unowned_empty_wallets"`

	Kinds map[string]*Kind `json:"transactions"`
	// NotApplied lists deposits and withdrawals the old data marks status 3
	// (never applied): the new ledger has no such row, so they are left out.
	NotApplied  []uuid.UUID  `json:"not_applied"`
	TxInserted  int64        `json:"transactions_inserted"`
	Adjustments []Adjustment `json:"adjustments"`
	AdjInserted int64        `json:"adjustments_inserted"`
}

// Kind counts and sums the transactions of one kind.
type Kind struct {
	Count int64        `json:"count"`
	Sum   money.Amount `json:"sum"`
}

// Kinds of imported transactions, in the report's order.
const (
	KindDeposit          = "deposits (old status 1 or 2; accepted)"
	KindWithdrawal       = "withdrawals (accepted)"
	KindChargeCollected  = "charges collected (accepted)"
	KindChargePending    = "charges not collected (pending)"
	KindChargeRejected   = "charges rejected (old status 3)"
	KindNotAppliedIgnore = "deposits/withdrawals never applied (old status 3; not imported)"
)

var kindOrder = []string{KindDeposit, KindWithdrawal, KindChargeCollected, KindChargePending, KindChargeRejected, KindNotAppliedIgnore}

// SkippedUser is an account left out.
type SkippedUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Reason   string `json:"reason"`
}

// Renamed is a username changed on the way in.
type Renamed struct {
	ID     int64  `json:"id"`
	Old    string `json:"old"`
	New    string `json:"new"`
	Reason string `json:"reason"`
}

// EmailChange is an email the new rules could not keep.
type EmailChange struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Old      string `json:"old"`
	New      string `json:"new"`
	Reason   string `json:"reason"`
}

// Adjustment is the transaction that makes a wallet's ledger agree with its
// stored balance: Difference = Stored − Ledger, a deposit when positive and a
// withdrawal when negative.
type Adjustment struct {
	Wallet      uuid.UUID    `json:"wallet"`
	Owner       int64        `json:"owner"`
	Stored      money.Amount `json:"stored_balance"`
	Ledger      money.Amount `json:"ledger_balance"`
	Difference  money.Amount `json:"difference"`
	Transaction uuid.UUID    `json:"transaction"`
	at          time.Time
}

func newReport() *Report {
	return &Report{Passwords: map[string]int{}, Kinds: map[string]*Kind{}}
}

func (r *Report) add(kind string, amount money.Amount) {
	k := r.Kinds[kind]
	if k == nil {
		k = &Kind{}
		r.Kinds[kind] = k
	}
	k.Count++
	k.Sum += amount
}

// maxShown bounds each list printed by WriteTo; the import_runs row keeps
// them all.
const maxShown = 50

// WriteTo prints the report for a human.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("Django import report (took %s)", r.Duration.Round(time.Millisecond))
	p("users: %d customers, %d businesses (%d written by this run); next new user id %d",
		r.Customers, r.Businesses, r.UsersInserted, r.NextUserID+1)
	keys := make([]string, 0, len(r.Passwords))
	for k := range r.Passwords {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p("  passwords %s: %d", k, r.Passwords[k])
	}
	p("  without a profile, imported as customers: %d", len(r.NoProfile))
	p("  staff/superuser flags not carried (accounts with a profile, imported by it): %v", r.AdminFlagsDropped)
	p("skipped accounts: %d", len(r.Skipped))
	for i, s := range r.Skipped {
		if i == maxShown {
			p("  … %d more (import_runs.report)", len(r.Skipped)-maxShown)
			break
		}
		p("  user %d %q: %s", s.ID, s.Username, s.Reason)
	}
	p("usernames changed: %d", len(r.Renamed))
	for _, c := range r.Renamed {
		p("  user %d %q → %q: %s", c.ID, c.Old, c.New, c.Reason)
	}
	p("emails replaced: %d", len(r.Emails))
	for i, e := range r.Emails {
		if i == maxShown {
			p("  … %d more (import_runs.report)", len(r.Emails)-maxShown)
			break
		}
		p("  user %d %q: %q → %s (%s)", e.ID, e.Username, e.Old, e.New, e.Reason)
	}
	p("wallets: %d customer, %d business (%d written by this run); balances total %s",
		r.CustomerWallets, r.BusinessWallets, r.WalletsInserted, r.Balances)
	if len(r.UnownedWallets) > 0 {
		p("  empty wallets no one owns, not imported: %v", r.UnownedWallets)
	}
	p("transactions (%d written by this run):", r.TxInserted)
	for _, k := range kindOrder {
		if t := r.Kinds[k]; t != nil {
			p("  %-66s %9d  sum %s", k, t.Count, t.Sum)
		}
	}
	for i, id := range r.NotApplied {
		if i == maxShown {
			p("  … %d more never-applied rows (import_runs.report)", len(r.NotApplied)-maxShown)
			break
		}
		p("  never applied, not imported: %s", id)
	}
	p("adjustments: %d (%d written by this run)", len(r.Adjustments), r.AdjInserted)
	for _, a := range r.Adjustments {
		p("  wallet %s (user %d): stored %s, rows add up to %s, adjusted by %s (transaction %s)",
			a.Wallet, a.Owner, a.Stored, a.Ledger, a.Difference, a.Transaction)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
