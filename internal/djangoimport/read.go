package djangoimport

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/money"
	"wallets/internal/user"
)

// maxListed bounds each list of refused cases read from the old database.
const maxListed = 1000

// oldUser is a row of auth_user with its profile's type (0: no profile).
type oldUser struct {
	id                       int64
	password, username       string
	first, last, email       string
	superuser, staff, active bool
	joined                   time.Time
	profile                  int16
}

// owner is who holds a wallet in the old tables.
type owner struct {
	user     int64
	business bool
}

// oldWallet is a row of wallets_wallet, with its owners and the balance its
// transaction rows add up to.
type oldWallet struct {
	id                uuid.UUID
	balance, ledger   money.Amount
	created, modified time.Time
	owners            []owner
	rows              int64 // transaction rows on the wallet
}

// source is what the importer reads of the old database before writing.
type source struct {
	users   []oldUser
	wallets []oldWallet
	// cases found by SQL over the transactions.
	cases []Case
	// businesses referenced by charges, and those with collected charges
	// but no wallet.
	chargedBusinesses []int64
	collectedNoWallet []int64
}

// load reads the old database: every user and wallet, and the checks over
// its transactions that SQL answers best.
func load(ctx context.Context, db *pgxpool.Pool) (*source, error) {
	s := &source{}
	var err error
	if s.users, err = loadUsers(ctx, db); err != nil {
		return nil, err
	}
	if s.wallets, err = loadWallets(ctx, db); err != nil {
		return nil, err
	}
	if err := s.check(ctx, db); err != nil {
		return nil, err
	}
	return s, nil
}

// loadUsers reads every account with its profile's type (0 for none).
func loadUsers(ctx context.Context, db *pgxpool.Pool) ([]oldUser, error) {
	users, err := collect(ctx, db, `
		SELECT u.id, u.password, u.username, u.first_name, u.last_name, u.email,
		       u.is_superuser, u.is_staff, u.is_active, u.date_joined, coalesce(p.type, 0)::smallint
		FROM auth_user u LEFT JOIN users_userprofile p ON p.user_id = u.id
		ORDER BY u.id`, func(r pgx.CollectableRow) (oldUser, error) {
		var u oldUser
		err := r.Scan(&u.id, &u.password, &u.username, &u.first, &u.last, &u.email,
			&u.superuser, &u.staff, &u.active, &u.joined, &u.profile)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return users, nil
}

// loadWallets reads every wallet with its ledger's sum and its owners.
func loadWallets(ctx context.Context, db *pgxpool.Pool) ([]oldWallet, error) {
	// A customer wallet's rows: movements that applied (all but status 3)
	// and its collected charges; a business wallet's: the charges collected
	// at its business.
	wallets, err := collect(ctx, db, `
		WITH mv AS (
		    SELECT wallet_id, count(*) AS n,
		           sum(CASE WHEN business_id IS NULL AND status <> 3 THEN amount
		                    WHEN business_id IS NOT NULL AND status = 2 THEN -amount
		                    ELSE 0 END) AS s
		    FROM wallets_transaction WHERE wallet_id IS NOT NULL GROUP BY wallet_id),
		col AS (
		    SELECT b.wallet_id, sum(t.amount) AS s
		    FROM wallets_transaction t JOIN wallets_businesswallet b ON b.user_id = t.business_id
		    WHERE t.status = 2 AND b.wallet_id IS NOT NULL GROUP BY b.wallet_id)
		SELECT w.uuid, w.balance, coalesce(mv.s, 0) + coalesce(col.s, 0), w.created_date, w.modified_date, coalesce(mv.n, 0)
		FROM wallets_wallet w LEFT JOIN mv ON mv.wallet_id = w.uuid LEFT JOIN col ON col.wallet_id = w.uuid
		ORDER BY w.created_date, w.uuid`, func(r pgx.CollectableRow) (oldWallet, error) {
		var w oldWallet
		err := r.Scan(&w.id, &w.balance, &w.ledger, &w.created, &w.modified, &w.rows)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("read wallets: %w", err)
	}
	byID := make(map[uuid.UUID]int, len(wallets))
	for i, w := range wallets {
		byID[w.id] = i
	}
	type ownership struct {
		wallet uuid.UUID
		owner
	}
	owners, err := collect(ctx, db, `
		SELECT m.wallet_id, c.user_id, false
		FROM wallets_customerwallets_wallets m JOIN wallets_customerwallets c ON c.id = m.customerwallets_id
		UNION ALL
		SELECT wallet_id, user_id, true FROM wallets_businesswallet WHERE wallet_id IS NOT NULL
		ORDER BY 2`, func(r pgx.CollectableRow) (ownership, error) {
		var o ownership
		err := r.Scan(&o.wallet, &o.user, &o.business)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("read wallet owners: %w", err)
	}
	for _, o := range owners {
		if i, ok := byID[o.wallet]; ok {
			wallets[i].owners = append(wallets[i].owners, o.owner)
		}
	}
	return wallets, nil
}

// check adds to s what SQL finds best over the transactions: the rows on
// no one's wallet or of no known kind (at most maxListed of each), the
// businesses charges name, and those with collected charges but no wallet.
func (s *source) check(ctx context.Context, db *pgxpool.Pool) error {
	orphans, err := collect(ctx, db, `
		SELECT t.uuid::text, coalesce(t.wallet_id::text, 'no wallet')
		FROM wallets_transaction t
		WHERE t.wallet_id IS NULL
		   OR (NOT EXISTS (SELECT 1 FROM wallets_customerwallets_wallets m WHERE m.wallet_id = t.wallet_id)
		       AND NOT EXISTS (SELECT 1 FROM wallets_businesswallet b WHERE b.wallet_id = t.wallet_id))
		ORDER BY t.uuid LIMIT `+strconv.Itoa(maxListed), func(r pgx.CollectableRow) (Case, error) {
		var tx, w string
		err := r.Scan(&tx, &w)
		return Case{Kind: "transaction on a wallet no one owns", ID: tx, Detail: "wallet " + w}, err
	})
	if err != nil {
		return fmt.Errorf("find transactions without an owner: %w", err)
	}
	s.cases = append(s.cases, orphans...)
	// Rows the new ledger cannot hold with their meaning.
	odd, err := collect(ctx, db, `
		SELECT uuid::text, coalesce(type, 0), coalesce(status, 0), coalesce(amount::text, 'null'), business_id IS NOT NULL
		FROM wallets_transaction
		WHERE NOT coalesce(status IN (1, 2, 3) AND (
		        (type = 1 AND amount > 0 AND business_id IS NULL)
		     OR (type = 2 AND amount < 0 AND business_id IS NULL)
		     OR (type = 2 AND amount > 0 AND business_id IS NOT NULL)), false)
		ORDER BY uuid LIMIT `+strconv.Itoa(maxListed), func(r pgx.CollectableRow) (Case, error) {
		var (
			tx, amount   string
			typ, status  int
			withBusiness bool
		)
		err := r.Scan(&tx, &typ, &status, &amount, &withBusiness)
		return Case{Kind: "transaction of no known kind", ID: tx,
			Detail: fmt.Sprintf("type %d, status %d, amount %s, business set: %v", typ, status, amount, withBusiness)}, err
	})
	if err != nil {
		return fmt.Errorf("check transaction kinds: %w", err)
	}
	s.cases = append(s.cases, odd...)
	scanID := func(r pgx.CollectableRow) (int64, error) {
		var id int64
		err := r.Scan(&id)
		return id, err
	}
	if s.chargedBusinesses, err = collect(ctx, db, `
		SELECT DISTINCT business_id FROM wallets_transaction WHERE business_id IS NOT NULL ORDER BY 1`, scanID); err != nil {
		return fmt.Errorf("read charged businesses: %w", err)
	}
	if s.collectedNoWallet, err = collect(ctx, db, `
		SELECT DISTINCT t.business_id FROM wallets_transaction t
		LEFT JOIN wallets_businesswallet b ON b.user_id = t.business_id
		WHERE t.business_id IS NOT NULL AND t.status = 2 AND b.wallet_id IS NULL ORDER BY 1`, scanID); err != nil {
		return fmt.Errorf("read businesses without a wallet: %w", err)
	}
	return nil
}

// collect runs sql and scans every row with scan.
func collect[T any](ctx context.Context, db *pgxpool.Pool, sql string, scan pgx.RowToFunc[T]) ([]T, error) {
	rows, err := db.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// newUser is a users row to write.
type newUser struct {
	id                                     int64
	username, email, first, last, password string
	typ                                    int16
	active                                 bool
	joined                                 time.Time
}

// newWallet is a wallets row to write.
type newWallet struct {
	id                uuid.UUID
	user              int64
	business          bool
	balance           money.Amount
	created, modified time.Time
}

// plan is what a run writes once the old data passed every check.
type plan struct {
	users       []newUser
	wallets     []newWallet
	owners      map[uuid.UUID]int64 // wallet → its owner
	adjustments []Adjustment
	report      *Report
}

// placeholderEmail is the address given to an account whose old email is
// empty or taken by another account (whatever its case): the reserved
// .invalid domain never delivers.
func placeholderEmail(id int64) string {
	return fmt.Sprintf("user-%d@imported.invalid", id)
}

// plan maps the old rows to the new ones and lists the cases that need a
// human decision; with any case, the plan must not be written.
func (s *source) plan() (*plan, []Case) {
	p := &plan{owners: make(map[uuid.UUID]int64, len(s.wallets)), report: newReport()}
	pl := &planner{
		p:         p,
		rep:       p.report,
		cases:     slices.Clone(s.cases),
		imported:  make(map[int64]int16, len(s.users)),
		usernames: make(map[string]int64, len(s.users)),
		emails:    make(map[string]int64, len(s.users)),
	}
	for _, u := range s.users {
		pl.user(u)
	}
	for _, w := range s.wallets {
		pl.wallet(w)
	}
	for _, b := range s.chargedBusinesses {
		if typ, ok := pl.imported[b]; !ok || typ != 2 {
			pl.cases = append(pl.cases, Case{Kind: "charge at an account that is no imported business", ID: strconv.FormatInt(b, 10),
				Detail: "transactions name it as their business"})
		}
	}
	for _, b := range s.collectedNoWallet {
		pl.cases = append(pl.cases, Case{Kind: "collected charges at a business without a wallet", ID: strconv.FormatInt(b, 10),
			Detail: "the money they moved has no wallet to be in"})
	}
	p.report.Adjustments = p.adjustments
	return p, pl.cases
}

// planner is one plan in the making: what it writes, what it reports and
// the cases found so far, and what it has seen of the accounts.
type planner struct {
	p     *plan
	rep   *Report
	cases []Case
	// imported maps the accounts planned so far to their type; usernames
	// and emails (lower-cased) to the account that has them.
	imported          map[int64]int16
	usernames, emails map[string]int64
}

// user plans the account u, or records why it is skipped or needs a
// decision.
func (pl *planner) user(u oldUser) {
	admin := u.superuser || u.staff
	typ := u.profile
	switch {
	case typ == 0 && admin:
		pl.rep.Skipped = append(pl.rep.Skipped, SkippedUser{ID: u.id, Username: u.username,
			Reason: "staff or superuser without a profile: an admin account"})
		return
	case typ == 0:
		typ = 1
		pl.rep.NoProfile = append(pl.rep.NoProfile, u.id)
	case typ != 1 && typ != 2:
		pl.cases = append(pl.cases, Case{Kind: "profile of no known type", ID: strconv.FormatInt(u.id, 10),
			Detail: fmt.Sprintf("user %q has profile type %d", u.username, typ)})
		return
	}
	if admin {
		pl.rep.AdminFlagsDropped = append(pl.rep.AdminFlagsDropped, u.id)
	}
	// As login reads a typed name: NFKC, then trimmed. A name the old
	// service stored otherwise would never match one typed.
	name := user.NormalizeUsername(u.username)
	switch {
	case name == u.username:
	case name == strings.TrimSpace(u.username):
		pl.rep.Renamed = append(pl.rep.Renamed, Renamed{ID: u.id, Old: u.username, New: name,
			Reason: "surrounding spaces, which login trims"})
	default:
		pl.rep.Renamed = append(pl.rep.Renamed, Renamed{ID: u.id, Old: u.username, New: name,
			Reason: "not in Unicode NFKC form, which login normalizes names to"})
	}
	if name == "" || strings.ContainsRune(name, 0) {
		pl.cases = append(pl.cases, Case{Kind: "unusable username", ID: strconv.FormatInt(u.id, 10),
			Detail: fmt.Sprintf("username %q", u.username)})
		return
	}
	if other, taken := pl.usernames[name]; taken {
		pl.cases = append(pl.cases, Case{Kind: "username taken once normalized", ID: strconv.FormatInt(u.id, 10),
			Detail: fmt.Sprintf("username %q is also user %d's", u.username, other)})
		return
	}
	pl.usernames[name] = u.id
	email := strings.TrimSpace(u.email)
	switch key := strings.ToLower(email); {
	case email == "":
		email = placeholderEmail(u.id)
		pl.rep.Emails = append(pl.rep.Emails, EmailChange{ID: u.id, Username: name, Old: u.email, New: email, Reason: "empty"})
	case pl.emails[key] != 0:
		email = placeholderEmail(u.id)
		pl.rep.Emails = append(pl.rep.Emails, EmailChange{ID: u.id, Username: name, Old: u.email, New: email,
			Reason: fmt.Sprintf("also user %d's (whatever the case), who keeps it", pl.emails[key])})
	default:
		pl.emails[key] = u.id
	}
	pl.rep.Passwords[passwordFormat(u.password)]++
	pl.imported[u.id] = typ
	if typ == 2 {
		pl.rep.Businesses++
	} else {
		pl.rep.Customers++
	}
	pl.p.users = append(pl.p.users, newUser{id: u.id, username: name, email: email, first: u.first, last: u.last,
		password: u.password, typ: typ, active: u.active, joined: u.joined})
}

// wallet plans the wallet w, or records why it needs a decision.
func (pl *planner) wallet(w oldWallet) {
	id := w.id.String()
	switch {
	case len(w.owners) > 1:
		var who []string
		for _, o := range w.owners {
			who = append(who, ownerName(o))
		}
		pl.cases = append(pl.cases, Case{Kind: "wallet with two owners", ID: id, Detail: "listed under " + strings.Join(who, " and ")})
		return
	case len(w.owners) == 0 && (w.balance != 0 || w.rows > 0):
		pl.cases = append(pl.cases, Case{Kind: "wallet no one owns", ID: id,
			Detail: fmt.Sprintf("balance %s, %d transaction rows", w.balance, w.rows)})
		return
	case len(w.owners) == 0:
		pl.rep.UnownedWallets = append(pl.rep.UnownedWallets, w.id)
		return
	}
	o := w.owners[0]
	typ, ok := pl.imported[o.user]
	switch {
	case !ok:
		pl.cases = append(pl.cases, Case{Kind: "wallet of an account not imported", ID: id, Detail: ownerName(o)})
		return
	case o.business && typ != 2:
		pl.cases = append(pl.cases, Case{Kind: "business wallet of a customer", ID: id, Detail: ownerName(o)})
		return
	case !o.business && typ != 1:
		// Customer routes would never show it to its owner.
		pl.cases = append(pl.cases, Case{Kind: "customer wallet of a business", ID: id, Detail: fmt.Sprintf("user %d", o.user)})
		return
	case w.balance < 0:
		pl.cases = append(pl.cases, Case{Kind: "negative balance", ID: id, Detail: fmt.Sprintf("balance %s", w.balance)})
		return
	}
	pl.p.owners[w.id] = o.user
	pl.p.wallets = append(pl.p.wallets, newWallet{id: w.id, user: o.user, business: o.business, balance: w.balance,
		created: w.created, modified: w.modified})
	if o.business {
		pl.rep.BusinessWallets++
	} else {
		pl.rep.CustomerWallets++
	}
	pl.rep.Balances += w.balance
	if d := w.balance - w.ledger; d != 0 {
		pl.p.adjustments = append(pl.p.adjustments, Adjustment{Wallet: w.id, Owner: o.user, Stored: w.balance,
			Ledger: w.ledger, Difference: d, Transaction: adjustmentID(w.id), at: w.modified})
	}
}

func ownerName(o owner) string {
	if o.business {
		return fmt.Sprintf("business %d", o.user)
	}
	return fmt.Sprintf("customer %d", o.user)
}

// passwordFormat names the format of a stored Django password, for the
// report.
func passwordFormat(h string) string {
	switch {
	case strings.HasPrefix(h, "!"):
		return "unusable"
	case strings.HasPrefix(h, "pbkdf2_sha256$"), strings.HasPrefix(h, "pbkdf2_sha1$"), strings.HasPrefix(h, "argon2$argon2id$"):
		algorithm, _, _ := strings.Cut(h, "$")
		return algorithm
	default:
		return "unreadable (cannot log in until reset)"
	}
}
