package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"wallets/internal/apitest"
	"wallets/internal/config"
	"wallets/internal/obs/obstest"
	"wallets/internal/syncbuf"
)

// since returns the lines written to logs after its first n bytes, and its
// length.
func since(logs *syncbuf.Buffer, n int) ([]string, int) {
	all := logs.String()
	return strings.Split(strings.TrimSuffix(all[n:], "\n"), "\n"), len(all)
}

// invocationLines sends one request and returns, by writer ("function" or
// "authorizer"), the lines written meanwhile, each checked to be a valid
// EMF document of that request (its request_id).
func invocationLines(t *testing.T, s *apitest.Stack, logs *syncbuf.Buffer, method, path string, body any, opts ...apitest.Opt) (int, map[string][]string) {
	t.Helper()
	_, mark := since(logs, 0)
	r := s.Do(t, method, path, body, opts...)
	rid := r.Header.Get("X-Amzn-Requestid")
	lines, _ := since(logs, mark)
	byWriter := map[string][]string{}
	for _, l := range lines {
		if l == "" {
			continue
		}
		doc, err := obstest.EMF([]byte(l))
		if err != nil {
			t.Errorf("%s %s: a line that is no EMF document (%v): %s", method, path, err, l)
			continue
		}
		if doc["request_id"] != rid {
			t.Errorf("%s %s: a line of another request (want request_id %s): %s", method, path, rid, l)
		}
		who := "function"
		if doc["Function"] == "authorizer" {
			who = "authorizer"
		}
		byWriter[who] = append(byWriter[who], l)
	}
	return r.Status, byWriter
}

// TestOneShortLinePerInvocation serves the API as `make run` does and
// checks, on realistic requests (uuid request ids and paths), that each
// invocation of a function and of the authorizer writes exactly one line,
// a valid EMF document, of at most 600 bytes unless it answered a 5xx
// (whose error text and Sentry event id it carries).
func TestOneShortLinePerInvocation(t *testing.T) {
	logs := &syncbuf.Buffer{}
	s := apitest.NewLogged(t, logs, nil)
	customer, _ := s.SignUp(t, "pablo", apitest.Customer)
	shop, shopID := s.SignUp(t, "mediamarkt", apitest.Business)
	wallet := s.NewWallet(t, customer)
	s.NewBusinessWallet(t, shop)
	s.Deposit(t, customer, wallet, "20.00")
	charge := s.Charge(t, customer, shopID, wallet, "15.00")
	big := s.Charge(t, customer, shopID, wallet, "900.00")

	type want struct {
		status               int
		function, authorizer int // lines
	}
	for _, c := range []struct {
		name         string
		method, path string
		body         any
		opts         []apitest.Opt
		want         want
	}{
		{"deposit", "PUT", "/wallets/customers/wallets/" + wallet + "/deposit", map[string]any{"amount": "200.00", "description": "Nómina"},
			[]apitest.Opt{apitest.Token(customer), apitest.IdempotencyKey("deposit-0001")}, want{200, 1, 1}},
		{"deposit replayed", "PUT", "/wallets/customers/wallets/" + wallet + "/deposit", map[string]any{"amount": "200.00", "description": "Nómina"},
			[]apitest.Opt{apitest.Token(customer), apitest.IdempotencyKey("deposit-0001")}, want{200, 1, 1}},
		{"collect", "PUT", "/wallets/business/transactions/" + charge + "/debit", nil, []apitest.Opt{apitest.Token(shop)}, want{200, 1, 1}},
		{"collect rejected", "PUT", "/wallets/business/transactions/" + big + "/debit", nil, []apitest.Opt{apitest.Token(shop)}, want{409, 1, 1}},
		{"GET /users/me", "GET", "/users/me", nil, []apitest.Opt{apitest.Token(customer)}, want{200, 1, 1}},
		{"withdrawal too large", "PUT", "/wallets/customers/wallets/" + wallet + "/retire", map[string]any{"amount": "-99999.00"},
			[]apitest.Opt{apitest.Token(customer)}, want{409, 1, 1}},
		{"someone else's wallet", "PUT", "/wallets/customers/wallets/00000000-0000-4000-8000-000000000000/deposit", map[string]any{"amount": "1.00"},
			[]apitest.Opt{apitest.Token(customer)}, want{404, 1, 1}},
		{"a bad token", "GET", "/users/me", nil, []apitest.Opt{apitest.Token("not-a-token")}, want{401, 0, 1}},
		{"login", "POST", "/users/login", map[string]any{"username": "pablo", "password": apitest.Password}, nil, want{200, 1, 0}},
	} {
		status, lines := invocationLines(t, s, logs, c.method, c.path, c.body, c.opts...)
		got := want{status, len(lines["function"]), len(lines["authorizer"])}
		if got != c.want {
			t.Errorf("%s: status %d, %d function and %d authorizer lines; want %+v", c.name, got.status, got.function, got.authorizer, c.want)
		}
		for who, ls := range lines {
			for _, l := range ls {
				t.Logf("%s: %s line, %d bytes", c.name, who, len(l)+1)
				if len(l)+1 > 600 {
					t.Errorf("%s: the %s's line is %d bytes, want at most 600: %s", c.name, who, len(l)+1, l)
				}
			}
		}
		if c.name == "deposit" {
			t.Logf("deposit: %s", lines["function"][0])
		}
	}
}

// With the database out of reach, a function's 503 and the authorizer's
// failure are still one line each, with the error and the report's id.
func TestOneLinePerFailedInvocation(t *testing.T) {
	ok := apitest.New(t)
	token, _ := ok.SignUp(t, "pablo", apitest.Customer) // valid on the other stack too: same JWT key

	sentry := newSentryStandIn(t)
	logs := &syncbuf.Buffer{}
	s := apitest.NewLogged(t, logs, func(c *config.Config) {
		c.DatabaseURL = "postgres://wallets@127.0.0.1:1/wallets?sslmode=disable"
		c.SentryDSN = sentry.dsn()
	})
	for _, c := range []struct {
		name, path           string
		opts                 []apitest.Opt
		status               int
		function, authorizer int
	}{
		{"health", "/health", nil, http.StatusServiceUnavailable, 1, 0},
		{"GET /users/me", "/users/me", []apitest.Opt{apitest.Token(token)}, http.StatusServiceUnavailable, 0, 1},
	} {
		status, lines := invocationLines(t, s, logs, "GET", c.path, nil, c.opts...)
		if status != c.status || len(lines["function"]) != c.function || len(lines["authorizer"]) != c.authorizer {
			t.Errorf("%s: status %d, lines %v", c.name, status, lines)
			continue
		}
		for who, ls := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(ls[0]), &m); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s line, %d bytes: %s", c.name, who, len(ls[0])+1, ls[0])
			if e, _ := m["error"].(string); m["level"] != "ERROR" || !strings.Contains(e, "127.0.0.1") || m["sentry_event_id"] == nil || m["5xx"] != float64(1) {
				t.Errorf("%s: the %s's line lacks the error, its report or its 5xx: %s", c.name, who, ls[0])
			}
		}
	}
}
