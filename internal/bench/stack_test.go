package bench

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wallets/internal/passhash"
	"wallets/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// seeded seeds a fresh database with plan and returns its runtime-role URL
// (the API's), its owner's connection and what Seed returned.
func seeded(t *testing.T, plan Plan) (string, *pgx.Conn, Seeded) {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, pgtest.OwnerURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	hash, err := passhash.Argon2id{}.Hash(SeedPassword)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Seed(ctx, conn, plan, hash)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	return dbURL, conn, s
}

func TestSeedWritesThePlansRows(t *testing.T) {
	ctx := context.Background()
	plan := Plan{Customers: 3, CustomerFunds: 250, Businesses: 2, ListRows: 7, Charges: 5}
	_, conn, s := seeded(t, plan)

	if len(s.Customers) != 3 || len(s.Businesses) != 2 || len(s.HotCharges) != 5 || len(s.SpreadCharges) != 5 {
		t.Fatalf("seeded %d customers, %d businesses, %d+%d charges; want the plan's 3, 2, 5+5",
			len(s.Customers), len(s.Businesses), len(s.HotCharges), len(s.SpreadCharges))
	}
	for _, c := range s.HotCharges {
		if c.Business != s.Businesses[0].ID {
			t.Errorf("hot charge %v at business %d; want all at the first business %d", c.ID, c.Business, s.Businesses[0].ID)
		}
	}
	for i, c := range s.SpreadCharges {
		if want := s.Businesses[i%2].ID; c.Business != want {
			t.Errorf("spread charge %d at business %d; want %d (round robin)", i, c.Business, want)
		}
	}

	var balance, deposits int64
	if err := conn.QueryRow(ctx, `SELECT min(balance), count(*) FROM wallets WHERE NOT is_business`).Scan(&balance, &deposits); err != nil {
		t.Fatal(err)
	}
	if balance != 250 || deposits != 3 {
		t.Errorf("customer wallets: min balance %d over %d; want 3 funded with 250", balance, deposits)
	}
	var businessWallets int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM wallets WHERE is_business AND balance = 0`).Scan(&businessWallets); err != nil {
		t.Fatal(err)
	}
	if businessWallets != 3 { // the two collected at and the lister
		t.Errorf("%d empty business wallets; want 3", businessWallets)
	}
	counts := map[string]int64{}
	rows, err := conn.Query(ctx, `SELECT description || '/' || status, count(*) FROM transactions GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		counts[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"bench funds/2": 3, "bench list row/2": 7, "bench charge/1": 10}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("transactions %q: %d; want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	var listed int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE business_id = $1`, s.Lister.ID).Scan(&listed); err != nil {
		t.Fatal(err)
	}
	if listed != 7 {
		t.Errorf("the lister holds %d rows; want the plan's 7", listed)
	}
}

func TestSeedIntoASeededDatabaseFailsAtTheUsers(t *testing.T) {
	plan := Plan{Customers: 1, Businesses: 1, Charges: 1}
	_, conn, _ := seeded(t, plan)
	_, err := Seed(context.Background(), conn, plan, "hash")
	if err == nil || !strings.HasPrefix(err.Error(), "seed users bench-customer-*: ") || !strings.Contains(err.Error(), "23505") {
		t.Fatalf("second Seed = %v; want the duplicate users reported", err)
	}
}

func TestSeedReportsWhichStepFailed(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URL(t)) // the runtime role: no CHECKPOINT
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = Seed(ctx, conn, Plan{Customers: 1, Businesses: 1, Charges: 1}, "hash")
	if err == nil || !strings.HasPrefix(err.Error(), "seed: checkpoint: ") {
		t.Fatalf("Seed as the runtime role = %v; want the CHECKPOINT it may not run reported", err)
	}
}

// TestStackServesTheWorkloadsAndMetersThem runs every workload of Specs for
// a moment against the in-process stack over a small seed: each must get
// answers, no 5xx, and the stack must meter its function and the authorizer.
func TestStackServesTheWorkloadsAndMetersThem(t *testing.T) {
	ctx := context.Background()
	dbURL, _, s := seeded(t, Plan{Customers: 3, CustomerFunds: 1_000_000, Businesses: 2, ListRows: 45, Charges: 50})
	key := make([]byte, 32)
	rand.Read(key)
	stack, err := StartStack(ctx, dbURL, key, 4)
	if err != nil {
		t.Fatalf("StartStack: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			stack.Close()
		}
	}()
	if !strings.HasPrefix(stack.BaseURL, "http://127.0.0.1:") || !strings.HasSuffix(stack.BaseURL, "/api/v1") {
		t.Errorf("BaseURL = %q; want a loopback API base", stack.BaseURL)
	}

	c := Client{BaseURL: stack.BaseURL, HTTP: &http.Client{Timeout: time.Minute}}
	if _, err := c.Login(ctx, s.Customers[0].Username, "not the password"); err == nil ||
		!strings.Contains(err.Error(), "login "+s.Customers[0].Username+": POST /users/login: status 400") {
		t.Errorf("Login with a wrong password = %v; want the 400 reported", err)
	}
	users := []string{s.Lister.Username}
	for _, a := range append(s.Businesses, s.Customers...) {
		users = append(users, a.Username)
	}
	tokens, err := c.LoginAll(ctx, users)
	if err != nil {
		t.Fatalf("LoginAll: %v", err)
	}
	for _, u := range users {
		if tokens[u] == "" {
			t.Errorf("no token for %s", u)
		}
	}
	if _, err := c.LoginAll(ctx, []string{"nobody-" + users[0]}); err == nil {
		t.Error("LoginAll of an unknown user succeeded")
	}

	// 45 rows are three pages of 20.
	cursor, err := c.DeepCursor(ctx, tokens[s.Lister.Username], 3)
	if err != nil || !strings.HasPrefix(cursor, "?cursor=") || len(cursor) <= len("?cursor=") {
		t.Fatalf("DeepCursor to page 3 = %q, %v; want page 3's cursor", cursor, err)
	}
	if _, err := c.DeepCursor(ctx, tokens[s.Lister.Username], 4); err == nil || !strings.Contains(err.Error(), "cursor page 3 is the last") {
		t.Errorf("DeepCursor past the last page = %v; want it reported", err)
	}
	if _, err := c.DeepCursor(ctx, "not-a-token", 2); err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Errorf("DeepCursor without a valid token = %v; want the 401 reported", err)
	}

	in := Inputs{Seeded: s, Tokens: tokens, DepositWallets: 2, CursorQuery: cursor, CursorPage: 3, DeepPage: 2}
	specs := Specs(in, 2)
	if len(specs) != 8 {
		t.Fatalf("Specs returned %d workloads; want 8", len(specs))
	}
	for _, spec := range specs {
		before := stack.Usage()
		st := Attack{Name: spec.Name, BaseURL: stack.BaseURL, Clients: spec.Clients, Duration: 300 * time.Millisecond, Next: spec.Next}.Run(ctx)
		used := stack.Usage().Sub(before)
		if st.Requests == 0 || st.Status5xx != 0 {
			t.Errorf("%s: %d requests, %d 5xx; want answers and no 5xx", spec.Name, st.Requests, st.Status5xx)
			continue
		}
		if !strings.Contains(spec.Name, "collect") && st.Non2xx != 0 {
			t.Errorf("%s: %d non-2xx answers to valid requests", spec.Name, st.Non2xx)
		}
		fn := used.Invocations[spec.Function]
		if fn.Count < int64(st.Requests) || fn.MemoryMB == 0 {
			t.Errorf("%s: %s metered %+v for %d requests", spec.Name, spec.Function, fn, st.Requests)
		}
		if authz := used.Invocations[AuthorizerFunction]; authz.Count == 0 || authz.MemoryMB != AuthorizerMemoryMB {
			t.Errorf("%s: authorizer metered %+v; want its invocations at %d MB", spec.Name, authz, AuthorizerMemoryMB)
		}
		if used.AccessLines < int64(st.Requests) || used.LogLines == 0 || used.AuthorizerLogLines == 0 || used.LogBytes <= used.AuthorizerLogBytes {
			t.Errorf("%s: usage %+v for %d requests; want an access line each and function and authorizer log lines", spec.Name, used, st.Requests)
		}
	}

	if err := stack.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	closed = true
	if _, err := c.Login(ctx, s.Customers[0].Username, SeedPassword); err == nil {
		t.Error("the stack still answers after Close")
	}
}

func TestAttackStopsWhenTheContextIsDone(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "JWT tok" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusTeapot)
	})}
	ln := listen(t)
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	st := Attack{Name: "teapot", BaseURL: "http://" + ln.Addr().String(), Clients: 1, Duration: time.Minute,
		Next: func(int64) Request { return Request{Method: "POST", Path: "/x", Token: "tok", Body: []byte(`{}`)} }}.Run(ctx)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Run took %v after its context ended; want it to stop", took)
	}
	if st.Name != "teapot" || st.Clients != 1 || st.Requests == 0 || st.Non2xx != st.Requests || st.Status5xx != 0 {
		t.Errorf("Stats = %+v; want every request counted as a non-2xx, none as a 5xx", st)
	}
}

func TestAttackCountsTransportErrorsAs5xx(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close() // nobody listens: every request fails to connect
	st := Attack{Name: "down", BaseURL: "http://" + addr, Clients: 1, Duration: 200 * time.Millisecond,
		Next: func(int64) Request { return Request{Method: "GET", Path: "/"} }}.Run(context.Background())
	if st.Requests == 0 || st.Status5xx != st.Requests {
		t.Errorf("Stats = %+v; want every failed request counted as a 5xx", st)
	}
}

func TestPGBenchBaselines(t *testing.T) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		t.Skip("no pgbench on PATH")
	}
	ctx := context.Background()
	url := pgtest.OwnerURL(t, pgtest.URL(t))
	if !strings.HasPrefix(url, "postgres://") {
		t.Skip("pgbench needs a postgres:// URL")
	}
	p := PGBench{URL: url, Clients: 1, Threads: 1, Duration: 0, Dir: t.TempDir()}
	if err := p.Init(ctx); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if tps, err := p.Builtin(ctx, "simple-update"); err != nil || tps <= 0 {
		t.Errorf("Builtin simple-update = %v, %v; want a positive TPS", tps, err)
	}
	if tps, err := p.Script(ctx, "hot-row", HotRowScript); err != nil || tps <= 0 {
		t.Errorf("Script hot-row = %v, %v; want a positive TPS", tps, err)
	}
	if b, err := os.ReadFile(p.Dir + "/hot-row.sql"); err != nil || string(b) != HotRowScript {
		t.Errorf("script file = %q, %v; want the script", b, err)
	}
	if _, err := p.Builtin(ctx, "no-such-builtin"); err == nil || !strings.Contains(err.Error(), "pgbench [-b no-such-builtin") {
		t.Errorf("Builtin of an unknown script = %v; want pgbench's failure with its arguments", err)
	}
	missing := p
	missing.Dir = p.Dir + "/missing"
	if _, err := missing.Script(ctx, "x", "SELECT 1;\n"); err == nil || !strings.Contains(err.Error(), "pgbench script:") {
		t.Errorf("Script into a missing folder = %v; want the write error", err)
	}
}

func TestPGBenchRejectsABadDatabaseURL(t *testing.T) {
	p := PGBench{URL: "postgres://%zz", Dir: t.TempDir()}
	if err := p.Init(context.Background()); err == nil || !strings.Contains(err.Error(), "pgbench: database URL") {
		t.Errorf("Init = %v; want the URL error", err)
	}
	if _, err := p.Builtin(context.Background(), "tpcb-like"); err == nil || !strings.Contains(err.Error(), "pgbench: database URL") {
		t.Errorf("Builtin = %v; want the URL error", err)
	}
}

func TestPGBenchConnectionArguments(t *testing.T) {
	got, err := PGBench{URL: "postgres://bench@127.0.0.1:5433/pgbench"}.connArgs()
	want := []string{"-h", "127.0.0.1", "-p", "5433", "-U", "bench", "pgbench"}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("connArgs = %q, %v; want %q", got, err, want)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestDeliveryLatencyTimesEveryDeposit: every deposit of the run reaches
// the receiver through the stack's relay and worker, and the row reports
// the deliveries with ordered, positive latencies.
func TestDeliveryLatencyTimesEveryDeposit(t *testing.T) {
	ctx := context.Background()
	dbURL, _, s := seeded(t, Plan{Customers: 1, CustomerFunds: 1_000_000, Businesses: 1, ListRows: 1, Charges: 1})
	key := make([]byte, 32)
	rand.Read(key)
	stack, err := StartStack(ctx, dbURL, key, 4)
	if err != nil {
		t.Fatalf("StartStack: %v", err)
	}
	defer stack.Close()
	c := Client{BaseURL: stack.BaseURL, HTTP: &http.Client{Timeout: time.Minute}}
	cu := s.Customers[0]
	token, err := c.Login(ctx, cu.Username, SeedPassword)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	st, err := DeliveryLatency(ctx, stack.BaseURL, token, cu.Wallet.String(), 2*time.Second)
	if err != nil {
		t.Fatalf("DeliveryLatency: %v", err)
	}
	if st.Name != Delivery || st.Requests == 0 || st.Non2xx != 0 {
		t.Fatalf("DeliveryLatency = %+v; want every deposit delivered", st)
	}
	if st.P50 <= 0 || st.P99 < st.P50 || st.Rate <= 0 {
		t.Errorf("DeliveryLatency = %+v; want 0 < p50 <= p99 and a rate", st)
	}
}
