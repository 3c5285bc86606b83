package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wallets/internal/apitest"
	"wallets/internal/config"
	"wallets/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestDatabaseOutage kills the PostgreSQL server under traffic and starts it
// again. The same process must recover without a restart: every request is
// answered within its deadline, failures are clean 503s without internals,
// and — since clients retry with their Idempotency-Key — every deposit is
// applied exactly once.
func TestDatabaseOutage(t *testing.T) {
	srv := pgtest.Server()
	if srv == nil {
		t.Skip("DATABASE_URL points at a server this test cannot stop")
	}
	sentry := newSentryStandIn(t)
	s := apitest.NewWith(t, func(c *config.Config) { c.SentryDSN = sentry.dsn() })
	token, _ := s.SignUp(t, "outage", apitest.Customer)
	wallet := s.NewWallet(t, token)
	s.Deposit(t, token, wallet, "100.00")

	const (
		workers    = 8
		perWorker  = 15
		maxLatency = 12 * time.Second // the route's 10 s timeout, plus the gateway's grace
	)
	var (
		stop        atomic.Bool
		unavailable atomic.Int64
		applied     atomic.Int64
		mu          sync.Mutex
		problems    []string
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				key := fmt.Sprintf("outage-%d-%d", w, i)
				// Retry one deposit with its key until it is applied.
				for attempt := 0; ; attempt++ {
					if attempt > 200 {
						problem("%s: never applied", key)
						return
					}
					start := time.Now()
					r := s.Do(t, "PUT", "/wallets/customers/wallets/"+wallet+"/deposit",
						map[string]any{"amount": "1.00", "description": key}, apitest.Token(token), apitest.IdempotencyKey(key))
					if d := time.Since(start); d > maxLatency {
						problem("%s: answered after %v", key, d)
					}
					if r.Status == http.StatusOK {
						applied.Add(1)
						break
					}
					body := string(r.Body)
					switch {
					case r.Status == http.StatusServiceUnavailable || r.Status == http.StatusConflict:
						// Unreachable, or the key's first attempt still holds it.
						unavailable.Add(1)
					default:
						problem("%s: unexpected %d %s", key, r.Status, body)
					}
					for _, leak := range []string{"SQL", "sql", "pgx", "pgconn", "dial", "connection refused", "goroutine", ".go:"} {
						if strings.Contains(body, leak) {
							problem("%s: body leaks internals (%q): %s", key, leak, body)
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
				if stop.Load() {
					return
				}
			}
		}()
	}

	// Let traffic flow, then take the database away for a while.
	waitFor(t, 10*time.Second, func() bool { return applied.Load() >= 10 })
	if err := srv.Kill(); err != nil {
		t.Fatalf("kill postgres: %v", err)
	}
	down := time.Now()
	waitFor(t, 20*time.Second, func() bool { return unavailable.Load() >= 5 })
	health := s.Do(t, "GET", "/health", nil)
	if health.Status != http.StatusServiceUnavailable {
		t.Errorf("health during the outage: %s", health)
	}
	time.Sleep(time.Second)
	if err := srv.Restart(context.Background()); err != nil {
		t.Fatalf("restart postgres: %v", err)
	}
	t.Logf("database down for %v; %d refusals so far", time.Since(down).Round(time.Millisecond), unavailable.Load())

	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	if got, want := applied.Load(), int64(workers*perWorker); got != want {
		t.Fatalf("%d deposits applied, want %d", got, want)
	}
	s.Do(t, "GET", "/health", nil).Check(t, http.StatusOK)

	// Exactly once: the balance and the ledger agree with the deposits made.
	var m map[string]any
	r := s.Do(t, "GET", "/wallets/customers/wallets/"+wallet, nil, apitest.Token(token)).Check(t, http.StatusOK)
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d.00", 100+workers*perWorker)
	if m["balance"] != want {
		t.Errorf("balance %v after the outage, want %s", m["balance"], want)
	}
	list := s.Do(t, "GET", "/wallets/customers/wallets/"+wallet+"/transactions?page_size=1", nil, apitest.Token(token)).
		Check(t, http.StatusOK).JSON(t)
	if n, _ := list["count"].(float64); int(n) != 1+workers*perWorker {
		t.Errorf("%v transactions recorded, want %d", list["count"], 1+workers*perWorker)
	}
	t.Logf("%d deposits applied once each; %d refusals during the outage", applied.Load(), unavailable.Load())

	// The outage's 5xx answers reached the error tracker, tagged, and
	// without secrets.
	events, raw := sentry.received()
	tagged := 0
	for _, ev := range events {
		tags, _ := ev["tags"].(map[string]any)
		if tags["function"] == "wallets-deposit" && tags["request_id"] != "" && tags["route"] != "" {
			tagged++
		}
	}
	if tagged == 0 {
		t.Errorf("no Sentry event tagged with function, route and request id among %d events", len(events))
	}
	for _, secret := range []string{token, "Authorization", apitest.Password} {
		if strings.Contains(raw, secret) {
			t.Errorf("a Sentry event carries a secret (%.12q...)", secret)
		}
	}
	t.Logf("%d Sentry events, %d of the deposit function", len(events), tagged)
}

// sentryStandIn records the events posted to a Sentry DSN.
type sentryStandIn struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
	raw    strings.Builder
}

func newSentryStandIn(t *testing.T) *sentryStandIn {
	f := &sentryStandIn{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.raw.Write(body)
		// An envelope: a header line, then item header and payload lines.
		lines := strings.Split(strings.TrimRight(string(body), "\n"), "\n")
		for i := 1; i+1 < len(lines); i += 2 {
			var hdr struct{ Type string }
			var ev map[string]any
			if json.Unmarshal([]byte(lines[i]), &hdr) == nil && hdr.Type == "event" &&
				json.Unmarshal([]byte(lines[i+1]), &ev) == nil {
				f.events = append(f.events, ev)
			}
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *sentryStandIn) dsn() string {
	return strings.Replace(f.srv.URL, "http://", "http://public@", 1) + "/1"
}

func (f *sentryStandIn) received() ([]map[string]any, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.events...), f.raw.String()
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
