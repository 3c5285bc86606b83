package djangoimport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/apitest"
	"wallets/internal/config"
	"wallets/internal/djangoimport"
	"wallets/internal/money"
	"wallets/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Ids of the extra accounts of rich, beyond the fixtures' 3…102.
const (
	mediaMarket  = 200 // a business with a space in its name, and a wallet
	secondShop   = 201 // a business without a wallet, with pending charges only
	dupEmail     = 210 // user 3's email in upper case
	emptyEmail   = 211
	noProfile    = 212 // neither staff nor superuser: a customer
	staffOnly    = 213 // staff without a profile: skipped
	superOnly    = 214 // superuser without a profile: skipped
	unusable     = 215 // "!…" password
	sha1User     = 216 // pbkdf2_sha1 password
	inactive     = 217
	staffProfile = 218 // staff with a customer profile: imported
)

// rich is an old database with every awkward case the importer takes on.
type rich struct {
	*oldDB
	user3Wallet, user4Wallet, user5Wallet, bizWallet uuid.UUID
	user3Pending                                     uuid.UUID
	notApplied                                       uuid.UUID
}

func newRich(t testing.TB) *rich {
	o := &rich{oldDB: newOldDB(t)}
	o.user(mediaMarket, "Media Market", "shop@mail.com", sha256Hash, 2, false, false, true)
	o.user(secondShop, "second shop", "second@mail.com", sha256Hash, 2, false, false, true)
	o.user(dupEmail, "dup email", "0242AC140003.Gustavo.Marquez@example.com", sha256Hash, 1, false, false, true)
	o.user(emptyEmail, "noemail", "", sha256Hash, 1, false, false, true)
	o.user(noProfile, "noprofile", "noprofile@mail.com", sha256Hash, 0, false, false, true)
	o.user(staffOnly, "staff", "staff@mail.com", sha256Hash, 0, true, false, true)
	o.user(superOnly, "admin", "admin@mail.com", sha256Hash, 0, true, true, true)
	o.user(unusable, "unusable", "unusable@mail.com", "!Lw6Tmyq8xWgP5XtqTtbgcvp8UkVHRYy8wYBR2HGF", 1, false, false, true)
	o.user(sha1User, "very old", "old@mail.com", sha1Hash, 1, false, false, true)
	o.user(inactive, "inactive", "inactive@mail.com", sha256Hash, 1, false, false, false)
	o.user(staffProfile, "staff customer", "sc@mail.com", sha256Hash, 1, true, false, true)

	// 20 fixture customers with the standard history (155.00 applied);
	// user 3 has a second, empty wallet. Users 4 and 5 were edited by hand:
	// their stored balances are 5.00 over and 3.00 under their rows.
	collected := 0
	for id := int64(3); id < 23; id++ {
		balance := "155.00"
		switch id {
		case 4:
			balance = "160.00"
		case 5:
			balance = "152.00"
		}
		w := o.customerWallet(id, balance)
		pending := o.history(w, id, mediaMarket)
		collected++
		o.tx(&w, id, secondShop, "7.00", 1, 2)
		switch id {
		case 3:
			o.user3Wallet, o.user3Pending = w, pending
			o.customerWallet(id, "0.00")
		case 4:
			o.user4Wallet = w
		case 5:
			o.user5Wallet = w
		case 6:
			// A deposit the old data marks never applied.
			o.notApplied = o.tx(&w, id, 0, "50.00", 3, 1)
		}
	}
	w := o.customerWallet(noProfile, "40.00")
	o.tx(&w, noProfile, 0, "40.00", 1, 1)
	o.bizWallet = o.oldDB.businessWallet(mediaMarket, money.Amount(collected*1500).String())
	o.wallet("0.00") // an empty wallet no one owns
	return o
}

// snapshot is every row of the service's data in target, as text.
func snapshot(t testing.TB, db *pgxpool.Pool) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT coalesce(string_agg(u::text, E'\n' ORDER BY id), '') FROM users u`,
		`SELECT coalesce(string_agg(w::text, E'\n' ORDER BY uuid), '') FROM wallets w`,
		`SELECT coalesce(string_agg(x::text, E'\n' ORDER BY uuid), '') FROM transactions x`,
		`SELECT last_value::text FROM users_id_seq`,
	} {
		var s string
		if err := db.QueryRow(context.Background(), q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		b.WriteString(s + "\n")
	}
	return b.String()
}

func run(t testing.TB, old, target *pgxpool.Pool, opts djangoimport.Options) *djangoimport.Report {
	t.Helper()
	rep, err := djangoimport.Run(context.Background(), old, target, opts)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return rep
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	old := newRich(t)
	targetURL := ownerURL(t)
	target := connect(t, targetURL)

	rep := run(t, old.db, target, djangoimport.Options{BatchSize: 37})
	var out bytes.Buffer
	if _, err := rep.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", out.String())

	// The report: counts, skipped accounts, emails, adjustments.
	if rep.Customers != 107 || rep.Businesses != 2 || rep.UsersInserted != 109 {
		t.Errorf("users: %d customers, %d businesses, %d inserted; want 107, 2, 109", rep.Customers, rep.Businesses, rep.UsersInserted)
	}
	var skipped []int64
	for _, s := range rep.Skipped {
		skipped = append(skipped, s.ID)
	}
	if !slices.Equal(skipped, []int64{staffOnly, superOnly}) {
		t.Errorf("skipped %v, want the admin accounts", skipped)
	}
	if !slices.Equal(rep.NoProfile, []int64{noProfile}) || !slices.Equal(rep.AdminFlagsDropped, []int64{staffProfile}) {
		t.Errorf("no profile %v, admin flags dropped %v", rep.NoProfile, rep.AdminFlagsDropped)
	}
	var emails []int64
	for _, e := range rep.Emails {
		emails = append(emails, e.ID)
	}
	if !slices.Equal(emails, []int64{dupEmail, emptyEmail}) {
		t.Errorf("emails replaced for %v, want the duplicate and the empty one", emails)
	}
	if rep.Passwords["unusable"] != 1 || rep.Passwords["pbkdf2_sha1"] != 1 || rep.Passwords["pbkdf2_sha256"] != 107 {
		t.Errorf("password formats %v", rep.Passwords)
	}
	wantAdj := map[uuid.UUID]money.Amount{old.user4Wallet: 500, old.user5Wallet: -300}
	if len(rep.Adjustments) != 2 {
		t.Errorf("adjustments %+v, want 2", rep.Adjustments)
	}
	for _, a := range rep.Adjustments {
		if wantAdj[a.Wallet] != a.Difference {
			t.Errorf("adjustment %+v, want %v", a, wantAdj[a.Wallet])
		}
	}
	kinds := map[string]djangoimport.Kind{
		djangoimport.KindDeposit:          {Count: 41, Sum: 20*20000 + 4000},
		djangoimport.KindWithdrawal:       {Count: 20, Sum: -20 * 3000},
		djangoimport.KindChargeCollected:  {Count: 20, Sum: 20 * 1500},
		djangoimport.KindChargePending:    {Count: 60, Sum: 20 * (500 + 100000 + 700)},
		djangoimport.KindNotAppliedIgnore: {Count: 1, Sum: 5000},
	}
	for k, want := range kinds {
		if got := rep.Kinds[k]; got == nil || *got != want {
			t.Errorf("%s: %+v, want %+v", k, got, want)
		}
	}
	if rep.CustomerWallets != 22 || rep.BusinessWallets != 1 || len(rep.UnownedWallets) != 1 {
		t.Errorf("wallets: %d customer, %d business, unowned %v", rep.CustomerWallets, rep.BusinessWallets, rep.UnownedWallets)
	}

	// The database: the id sequence, the adjustments, the mapped statuses.
	var n int
	if err := target.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE uuid = $1`, old.notApplied).Scan(&n); err != nil || n != 0 {
		t.Errorf("the never-applied deposit was imported (%d, %v)", n, err)
	}
	if err := target.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE business_id IS NULL AND status <> 2`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d deposits or withdrawals not accepted (%v)", n, err)
	}

	// Through the HTTP contract: old users log in with their old passwords.
	s := apitest.NewWith(t, func(c *config.Config) { c.DatabaseURL = targetURL })
	login := func(username, password string) *apitest.Result {
		return s.Do(t, "POST", "/users/login", map[string]any{"username": username, "password": password})
	}
	for _, tt := range []struct {
		username, password string
		status             int
	}{
		{"crazywolf945", djangoPassword, http.StatusOK},
		{"crazywolf945", "wrong-password", http.StatusBadRequest},
		{"Media Market", djangoPassword, http.StatusOK},
		{"dup email", djangoPassword, http.StatusOK},
		{"noemail", djangoPassword, http.StatusOK},
		{"noprofile", djangoPassword, http.StatusOK},
		{"very old", djangoPassword, http.StatusOK},
		{"unusable", djangoPassword, http.StatusBadRequest},
		{"unusable", "!Lw6Tmyq8xWgP5XtqTtbgcvp8UkVHRYy8wYBR2HGF", http.StatusBadRequest},
		{"inactive", djangoPassword, http.StatusBadRequest},
		{"staff", djangoPassword, http.StatusBadRequest},
		{"admin", djangoPassword, http.StatusBadRequest},
	} {
		r := login(tt.username, tt.password)
		if r.Status != tt.status {
			t.Errorf("log in as %q: %d %s, want %d", tt.username, r.Status, r.Body, tt.status)
		}
		if tt.status == http.StatusBadRequest && !strings.Contains(string(r.Body), "Unable to log in with provided credentials.") {
			t.Errorf("log in as %q: %s", tt.username, r.Body)
		}
	}
	var hash string
	if err := target.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = 3`).Scan(&hash); err != nil || !strings.HasPrefix(hash, "$argon2id$") {
		t.Errorf("user 3's hash after logging in: %q %v, want argon2id", hash, err)
	}
	customer := s.Login(t, "crazywolf945", djangoPassword)
	shop := s.Login(t, "Media Market", djangoPassword)

	me := s.Do(t, "GET", "/users/me", nil, apitest.Token(customer)).Check(t, 200).JSON(t)
	if me["id"] != float64(3) || me["email"] != "0242ac140003.gustavo.marquez@example.com" {
		t.Errorf("me: %v", me)
	}
	list := s.Do(t, "GET", "/wallets/customers/wallets", nil, apitest.Token(customer)).Check(t, 200).JSON(t)
	if list["count"] != float64(2) {
		t.Errorf("user 3's wallets: %v", list)
	}
	balance := func(token, path string) string {
		t.Helper()
		return s.Do(t, "GET", path, nil, apitest.Token(token)).Check(t, 200).JSON(t)["balance"].(string)
	}
	walletPath := "/wallets/customers/wallets/" + old.user3Wallet.String()
	if b := balance(customer, walletPath); b != "155.00" {
		t.Errorf("user 3's balance %s, want 155.00", b)
	}
	txs := s.Do(t, "GET", walletPath+"/transactions", nil, apitest.Token(customer)).Check(t, 200).JSON(t)
	if txs["count"] != float64(7) {
		t.Errorf("user 3's transactions: %v", txs["count"])
	}
	if b := balance(shop, "/wallets/business/wallet"); b != "300.00" {
		t.Errorf("the business's balance %s, want 300.00", b)
	}
	// An adjusted wallet: stored balance and its adjustment, visible.
	user4 := s.Login(t, "greenfrog681", djangoPassword)
	if b := balance(user4, "/wallets/customers/wallets/"+old.user4Wallet.String()); b != "160.00" {
		t.Errorf("user 4's balance %s, want the stored 160.00", b)
	}
	body := s.Do(t, "GET", "/wallets/customers/wallets/"+old.user4Wallet.String()+"/transactions", nil, apitest.Token(user4)).Check(t, 200).Body
	if !strings.Contains(string(body), "Import adjustment") || !strings.Contains(string(body), `"5.00"`) {
		t.Errorf("user 4's transactions do not show the adjustment: %s", body)
	}

	// The business collects an old pending charge.
	s.Do(t, "PUT", "/wallets/business/transactions/"+old.user3Pending.String()+"/debit", nil, apitest.Token(shop)).Check(t, 200)
	if b := balance(customer, walletPath); b != "150.00" {
		t.Errorf("user 3's balance after the collection %s, want 150.00", b)
	}
	if b := balance(shop, "/wallets/business/wallet"); b != "305.00" {
		t.Errorf("the business's balance after the collection %s, want 305.00", b)
	}
	// New accounts get ids after the imported ones.
	if _, id := s.SignUp(t, "newcomer", apitest.Customer); id <= staffProfile {
		t.Errorf("a new account got id %d, not after the imported ones", id)
	}

	// A second run changes nothing, not even what the service did since.
	before := snapshot(t, target)
	again := run(t, old.db, target, djangoimport.Options{})
	if again.UsersInserted != 0 || again.WalletsInserted != 0 || again.TxInserted != 0 || again.AdjInserted != 0 {
		t.Errorf("the second run inserted %d users, %d wallets, %d transactions, %d adjustments",
			again.UsersInserted, again.WalletsInserted, again.TxInserted, again.AdjInserted)
	}
	if after := snapshot(t, target); after != before {
		t.Errorf("the second run changed the data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if err := target.QueryRow(ctx, `SELECT count(*) FROM import_runs WHERE status = 'done' AND report IS NOT NULL`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d runs recorded as done (%v), want 2", n, err)
	}
}

// cancelAt is a progress writer that cancels the run once the n-th line
// starting with prefix appears.
type cancelAt struct {
	mu     sync.Mutex
	prefix string
	n      int
	cancel context.CancelFunc
}

func (c *cancelAt) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bytes.HasPrefix(p, []byte(c.prefix)) {
		if c.n--; c.n == 0 {
			c.cancel()
		}
	}
	return len(p), nil
}

func TestImportKilledAndResumed(t *testing.T) {
	old := newRich(t)
	// More history, so that the run is cut in the middle of the transactions.
	for id := int64(23); id < 63; id++ {
		w := old.customerWallet(id, "155.00")
		old.history(w, id, mediaMarket)
	}
	old.exec(`UPDATE wallets_wallet SET balance = 900.00 WHERE uuid = $1`, old.bizWallet)

	clean := connect(t, ownerURL(t))
	run(t, old.db, clean, djangoimport.Options{BatchSize: 50})

	target := connect(t, ownerURL(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := djangoimport.Run(ctx, old.db, target, djangoimport.Options{BatchSize: 50,
		Progress: &cancelAt{prefix: "transactions: ", n: 3, cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the cut run: %v, want context.Canceled", err)
	}
	var n int
	if err := target.QueryRow(context.Background(), `SELECT count(*) FROM transactions`).Scan(&n); err != nil || n == 0 || n >= 300 {
		t.Fatalf("the cut run left %d transactions (%v), want some", n, err)
	}
	rep := run(t, old.db, target, djangoimport.Options{BatchSize: 50})
	if rep.TxInserted == 0 || rep.UsersInserted != 0 {
		t.Errorf("the resumed run inserted %d users, %d transactions", rep.UsersInserted, rep.TxInserted)
	}
	if got, want := snapshot(t, target), snapshot(t, clean); got != want {
		t.Errorf("killed and resumed differs from a clean run:\n%s\nclean:\n%s", got, want)
	}
	var status string
	if err := target.QueryRow(context.Background(), `SELECT string_agg(status, ',' ORDER BY id) FROM import_runs`).Scan(&status); err != nil || status != "failed,done" {
		t.Errorf("runs %q (%v), want failed,done", status, err)
	}
}

func TestImportRefuses(t *testing.T) {
	ctx := context.Background()
	old := newOldDB(t)
	old.user(mediaMarket, "Media Market", "shop@mail.com", sha256Hash, 2, false, false, true)
	// A wallet under two customers.
	shared := old.customerWallet(3, "10.00")
	old.exec(`INSERT INTO wallets_customerwallets_wallets (customerwallets_id, wallet_id)
		SELECT id, $1 FROM wallets_customerwallets WHERE user_id = 4`, shared)
	// A transaction on a wallet no one owns, and one on no wallet.
	lost := old.wallet("20.00")
	onLost := old.tx(&lost, 5, 0, "20.00", 1, 1)
	noWallet := old.tx(nil, 5, 0, "1.00", 1, 1)
	// A business's wallet kept as a customer's.
	misfiled := old.customerWallet(mediaMarket, "0.00")
	// A fine wallet, so there is something the refusal does not write.
	fine := old.customerWallet(6, "1.00")
	old.tx(&fine, 6, 0, "1.00", 1, 1)

	target := connect(t, ownerURL(t))
	_, err := djangoimport.Run(ctx, old.db, target, djangoimport.Options{})
	refused, ok := errors.AsType[*djangoimport.RefusedError](err)
	if !ok {
		t.Fatalf("error %v, want a refusal", err)
	}
	want := map[string]string{
		shared.String():   "wallet with two owners",
		lost.String():     "wallet no one owns",
		onLost.String():   "transaction on a wallet no one owns",
		noWallet.String(): "transaction on a wallet no one owns",
		misfiled.String(): "customer wallet of a business",
	}
	got := map[string]string{}
	for _, c := range refused.Cases {
		got[c.ID] = c.Kind
	}
	for id, kind := range want {
		if got[id] != kind {
			t.Errorf("case %s: %q, want %q (all: %v)", id, got[id], kind, refused.Cases)
		}
	}
	if len(refused.Cases) != len(want) {
		t.Errorf("cases %v, want %d", refused.Cases, len(want))
	}
	if before := snapshot(t, target); before != "\n\n\n1\n" {
		t.Errorf("the refused run wrote:\n%s", before)
	}
	var runs int
	if err := target.QueryRow(ctx, `SELECT count(*) FROM import_runs`).Scan(&runs); err != nil || runs != 0 {
		t.Errorf("%d import runs recorded (%v)", runs, err)
	}

	// A target with accounts no import wrote is refused too.
	clean := newOldDB(t)
	other := connect(t, ownerURL(t))
	if _, err := other.Exec(ctx, `INSERT INTO users (username, email, password_hash) VALUES ('x', 'x@example.com', 'h')`); err != nil {
		t.Fatal(err)
	}
	if _, err := djangoimport.Run(ctx, clean.db, other, djangoimport.Options{}); !isRefusal(err, "target not empty") {
		t.Errorf("import into a used database: %v, want a refusal", err)
	}
}

func isRefusal(err error, kind string) bool {
	r, ok := errors.AsType[*djangoimport.RefusedError](err)
	return ok && len(r.Cases) == 1 && r.Cases[0].Kind == kind
}

var _ io.Writer = (*cancelAt)(nil)
