// Package apitest runs the whole API in-process for tests: a fresh migrated
// database (package pgtest), the App, the local API Gateway and an
// httptest.Server, so a test talks HTTP to exactly what `make run` serves.
//
// The test package wires pgtest up once:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and each test starts its own stack:
//
//	s := apitest.New(t)
//	token, _ := s.SignUp(t, "pablo", apitest.Customer)
//	w := s.NewWallet(t, token)
//	s.Do(t, "PUT", "/wallets/customers/wallets/"+w+"/deposit",
//		map[string]any{"amount": "10.00", "description": "cash"}, apitest.Token(token)).Check(t, 200)
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"wallets/internal/app"
	"wallets/internal/config"
	"wallets/internal/gateway"
	"wallets/internal/obs"
	sentryreport "wallets/internal/obs/sentry"
	"wallets/internal/passhash"
	"wallets/internal/pgtest"
	"wallets/internal/route"
)

// Account types, as sign-up's "type" field takes them.
const (
	Customer = 1
	Business = 2
)

// Password is the password SignUp gives every user.
const Password = "Tr0mbone-Galaxy-42"

// JWTKey signs the stack's tokens; CursorKey its page cursors.
var (
	JWTKey    = []byte("apitest-jwt-signing-key-0123456789abcdef")
	CursorKey = []byte("apitest-cursor-signing-key-0123456789abcdef")
)

// Stack is the API running in-process on its own database.
type Stack struct {
	// URL is the server's base, e.g. http://127.0.0.1:43567; the API is at
	// URL + route.Prefix.
	URL string
	// DatabaseURL is the stack's own database, as the runtime role the
	// functions connect as; OwnerDatabaseURL the same database as its
	// schema's owner (for fixtures and fault injection the functions could
	// not do).
	DatabaseURL      string
	OwnerDatabaseURL string
	Env              *app.Env
	Server           *httptest.Server
	Client           *http.Client
}

// New starts a stack on a fresh database; it stops when the test ends.
func New(t testing.TB) *Stack {
	t.Helper()
	return NewWith(t, nil)
}

// NewWith starts a stack whose configuration configure may change first
// (a Sentry DSN, say).
func NewWith(t testing.TB, configure func(*config.Config)) *Stack {
	t.Helper()
	return newStack(t, configure, nil)
}

// NewLogged starts a stack like NewWith whose functions and authorizer
// write their log lines to logs instead of stdout (one Write per line,
// never two at once).
func NewLogged(t testing.TB, logs io.Writer, configure func(*config.Config)) *Stack {
	t.Helper()
	return newStack(t, configure, logs)
}

func newStack(t testing.TB, configure func(*config.Config), logs io.Writer) *Stack {
	t.Helper()
	dbURL := pgtest.URL(t)
	keyRings, err := config.StaticKeys(JWTKey, CursorKey)
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	cfg := config.Config{
		DatabaseURL:      dbURL,
		Keys:             keyRings,
		Environment:      "test",
		StatementTimeout: 5 * time.Second,
		MaxConns:         20,
		// The tests receive webhooks on local servers.
		WebhookAllowLocal: true,
	}
	if configure != nil {
		configure(&cfg)
	}
	e, err := app.NewEnv(context.Background(), cfg, "apitest")
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	if logs != nil {
		// The Obs NewEnv built, with the same Reporter, writing to logs.
		rep, err := sentryreport.New(sentryreport.Options{DSN: cfg.SentryDSN, Environment: cfg.Environment})
		if err != nil {
			t.Fatalf("apitest: %v", err)
		}
		e.Obs.Close(time.Second)
		e.Obs = obs.Init(context.Background(), obs.Config{Function: "apitest", Output: logs, Reporter: rep})
	}
	svc := e.All(passhash.Argon2id{})
	srv := httptest.NewServer(gateway.New(route.Routes(), e.Bind(svc), e.Authorizer(svc.Users), gateway.Options{}))
	t.Cleanup(func() {
		srv.Close()
		e.Close()
	})
	return &Stack{
		URL:              srv.URL,
		DatabaseURL:      dbURL,
		OwnerDatabaseURL: pgtest.OwnerURL(t, dbURL),
		Env:              e,
		Server:           srv,
		Client:           &http.Client{Timeout: time.Minute},
	}
}

// Result is an HTTP response, read in full.
type Result struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object, failing the test if it is not one.
func (r *Result) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("apitest: body is not a JSON object (%v): %s", err, r.Body)
	}
	return m
}

// Check fails the test unless the status is status, showing the body.
func (r *Result) Check(t testing.TB, status int) *Result {
	t.Helper()
	if r.Status != status {
		t.Fatalf("apitest: status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// Opt changes a request of Do.
type Opt func(*http.Request)

// Token authenticates the request as login's clients do
// (Authorization: JWT <token>).
func Token(token string) Opt { return Header("Authorization", "JWT "+token) }

// IdempotencyKey sets the Idempotency-Key header.
func IdempotencyKey(key string) Opt { return Header("Idempotency-Key", key) }

// Header adds a request header.
func Header(name, value string) Opt {
	return func(r *http.Request) { r.Header.Add(name, value) }
}

// RawBody sends body as it is, with contentType (none if empty), instead of
// Do's encoded body.
func RawBody(body []byte, contentType string) Opt {
	return func(r *http.Request) {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = nil
		r.Header.Del("Content-Type")
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
	}
}

// Do sends a request and reads the response, and checks both against the
// served OpenAPI document (see CheckExchange): an undocumented status, a
// response off its schema, or a request the document refuses but the server
// accepts fails the test. path is under the API's base
// (route.Prefix: "/users/me" means /api/v1/users/me) unless it is a full URL.
// body is encoded as JSON ([]byte is taken as JSON already encoded), or
// form-encoded when it is url.Values; nil sends no body. RawBody sends
// anything else.
func (s *Stack) Do(t testing.TB, method, path string, body any, opts ...Opt) *Result {
	t.Helper()
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = s.URL + route.Prefix + path
	}
	var payload []byte
	contentType := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		payload, contentType = []byte(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		payload, contentType = b, "application/json"
	default:
		var err error
		if payload, err = json.Marshal(b); err != nil {
			t.Fatalf("apitest: encode body: %v", err)
		}
		contentType = "application/json"
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, o := range opts {
		o(req)
	}
	// The body as sent (RawBody may have replaced it), for the contract
	// check.
	sent := payload
	if req.Body != nil && req.Body != http.NoBody {
		if sent, err = io.ReadAll(req.Body); err != nil {
			t.Fatalf("apitest: read request body: %v", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(sent))
		req.ContentLength = int64(len(sent))
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("apitest: %s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("apitest: %s %s: read body: %v", method, target, err)
	}
	checkContract(t, Exchange{Request: req, RequestBody: sent, Status: resp.StatusCode, Header: resp.Header, Body: b})
	return &Result{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// SignUp creates a user of type typ (Customer or Business) with Password and
// the email <username>@example.com, logs in, and returns the token and the
// user's id.
func (s *Stack) SignUp(t testing.TB, username string, typ int) (token string, userID int64) {
	t.Helper()
	u := s.Do(t, "POST", "/users/sign-up", map[string]any{
		"username": username, "email": username + "@example.com",
		"first_name": strings.ToUpper(username[:1]) + username[1:], "last_name": "Tester",
		"password": Password, "password2": Password, "type": typ,
	}).Check(t, http.StatusCreated).JSON(t)
	id, ok := u["id"].(float64)
	if !ok {
		t.Fatalf("apitest: sign-up answered no id: %v", u)
	}
	return s.Login(t, username, Password), int64(id)
}

// Login logs a user in and returns the token.
func (s *Stack) Login(t testing.TB, username, password string) string {
	t.Helper()
	m := s.Do(t, "POST", "/users/login", map[string]any{"username": username, "password": password}).
		Check(t, http.StatusOK).JSON(t)
	token, _ := m["token"].(string)
	if token == "" {
		t.Fatalf("apitest: login answered no token: %v", m)
	}
	return token
}

// NewWallet opens a wallet for a customer and returns its uuid.
func (s *Stack) NewWallet(t testing.TB, token string) string {
	t.Helper()
	return uuidOf(t, s.Do(t, "POST", "/wallets/customers/wallets", nil, Token(token)).Check(t, http.StatusCreated))
}

// NewBusinessWallet opens a business's wallet and returns its uuid.
func (s *Stack) NewBusinessWallet(t testing.TB, token string) string {
	t.Helper()
	return uuidOf(t, s.Do(t, "POST", "/wallets/business/wallet", nil, Token(token)).Check(t, http.StatusCreated))
}

// Deposit puts amount (e.g. "25.00") into a customer's wallet and returns
// the new balance.
func (s *Stack) Deposit(t testing.TB, token, wallet, amount string) string {
	t.Helper()
	m := s.Do(t, "PUT", "/wallets/customers/wallets/"+wallet+"/deposit",
		map[string]any{"amount": amount, "description": "apitest deposit"}, Token(token)).
		Check(t, http.StatusOK).JSON(t)
	balance, _ := m["balance"].(string)
	return balance
}

// Charge opens a pending charge of amount at business against a customer's
// wallet and returns the transaction's uuid.
func (s *Stack) Charge(t testing.TB, token string, business int64, wallet, amount string) string {
	t.Helper()
	return uuidOf(t, s.Do(t, "POST", "/wallets/business/"+strconv.FormatInt(business, 10)+"/customers/transactions",
		map[string]any{"amount": amount, "description": "apitest charge", "wallet": wallet}, Token(token)).
		Check(t, http.StatusCreated))
}

func uuidOf(t testing.TB, r *Result) string {
	t.Helper()
	m := r.JSON(t)
	id, _ := m["uuid"].(string)
	if id == "" {
		t.Fatalf("apitest: no uuid in %s", r.Body)
	}
	return id
}

// String makes a Result readable in failure messages.
func (r *Result) String() string {
	return fmt.Sprintf("%d %s", r.Status, r.Body)
}

// JSONText is v encoded as JSON (for messages and comparisons of decoded
// values).
func JSONText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
