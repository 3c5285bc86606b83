package api_test

// Fakes of the services the HTTP edge calls, and helpers to build API
// Gateway proxy events by hand and check the answers. The edge tests
// (edge_*_test.go) run the handlers on these fakes: no database, no network.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"wallets/internal/api"
	"wallets/internal/apperr"
	"wallets/internal/auth"
	"wallets/internal/idempotency"
	"wallets/internal/keys"
	"wallets/internal/money"
	"wallets/internal/route"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// errUnexpected is what a fake answers for a method the test did not set.
var errUnexpected = errors.New("fake: unexpected call")

// unitLog records which unit of work each method of a fake service was last
// called in: the fake runner binds copies of the fakes to the request's key
// (in), and every copy shares the log, so a test can tell a method was
// called on the bound service, inside the unit of work.
type unitLog struct {
	mu   sync.Mutex
	last map[string]string // method → the unit's key, "" for none
}

func (l *unitLog) enter(method, unit string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]string{}
	}
	l.last[method] = unit
}

// unitOf returns the key of the unit method was last called in, "" for
// none (or never called).
func (l *unitLog) unitOf(method string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last[method]
}

// fakeWallets is a wallet.Service whose methods are the func fields; calling
// a method whose field is nil fails the test.
type fakeWallets struct {
	t testing.TB
	// unit is the key of the unit of work this copy is bound to ("" for
	// none); units logs the calls of every copy.
	unit  string
	units *unitLog

	ListWalletsFn        func(ctx context.Context, owner int64, p wallet.Page) (wallet.Listing[wallet.Wallet], error)
	OpenWalletFn         func(ctx context.Context, owner int64) (wallet.Wallet, error)
	WalletFn             func(ctx context.Context, owner int64, id uuid.UUID) (wallet.Wallet, error)
	DepositFn            func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (wallet.Wallet, error)
	WithdrawFn           func(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (wallet.Wallet, error)
	OpenChargeFn         func(ctx context.Context, customer, business int64, w uuid.UUID, amount money.Amount, description string) (wallet.Transaction, error)
	CollectFn            func(ctx context.Context, business int64, id uuid.UUID) (wallet.Transaction, error)
	ListTransactionsFn   func(ctx context.Context, scope wallet.TransactionScope, f wallet.TransactionFilter, p wallet.Page) (wallet.Listing[wallet.Transaction], error)
	ActiveBusinessFn     func(ctx context.Context, id int64) (wallet.Business, error)
	ListBusinessesFn     func(ctx context.Context, p wallet.Page) (wallet.Listing[wallet.Business], error)
	OpenBusinessWalletFn func(ctx context.Context, owner int64) (wallet.Wallet, error)
	BusinessWalletFn     func(ctx context.Context, owner int64) (wallet.Wallet, error)
}

var _ wallet.Service = (*fakeWallets)(nil)

// in returns f bound to the unit of work of key.
func (f *fakeWallets) in(key string) *fakeWallets {
	b := *f
	b.unit = key
	return &b
}

func (f *fakeWallets) enter(method string) { f.units.enter(method, f.unit) }

func (f *fakeWallets) unexpected(method string) error {
	f.t.Helper()
	f.t.Errorf("unexpected call of wallet.Service.%s", method)
	return errUnexpected
}

func (f *fakeWallets) ListWallets(ctx context.Context, owner int64, p wallet.Page) (wallet.Listing[wallet.Wallet], error) {
	f.enter("ListWallets")
	if f.ListWalletsFn == nil {
		return wallet.Listing[wallet.Wallet]{}, f.unexpected("ListWallets")
	}
	return f.ListWalletsFn(ctx, owner, p)
}

func (f *fakeWallets) OpenWallet(ctx context.Context, owner int64) (wallet.Wallet, error) {
	f.enter("OpenWallet")
	if f.OpenWalletFn == nil {
		return wallet.Wallet{}, f.unexpected("OpenWallet")
	}
	return f.OpenWalletFn(ctx, owner)
}

func (f *fakeWallets) Wallet(ctx context.Context, owner int64, id uuid.UUID) (wallet.Wallet, error) {
	f.enter("Wallet")
	if f.WalletFn == nil {
		return wallet.Wallet{}, f.unexpected("Wallet")
	}
	return f.WalletFn(ctx, owner, id)
}

func (f *fakeWallets) Deposit(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (wallet.Wallet, error) {
	f.enter("Deposit")
	if f.DepositFn == nil {
		return wallet.Wallet{}, f.unexpected("Deposit")
	}
	return f.DepositFn(ctx, owner, id, amount, description)
}

func (f *fakeWallets) Withdraw(ctx context.Context, owner int64, id uuid.UUID, amount money.Amount, description string) (wallet.Wallet, error) {
	f.enter("Withdraw")
	if f.WithdrawFn == nil {
		return wallet.Wallet{}, f.unexpected("Withdraw")
	}
	return f.WithdrawFn(ctx, owner, id, amount, description)
}

func (f *fakeWallets) OpenCharge(ctx context.Context, customer, business int64, w uuid.UUID, amount money.Amount, description string) (wallet.Transaction, error) {
	f.enter("OpenCharge")
	if f.OpenChargeFn == nil {
		return wallet.Transaction{}, f.unexpected("OpenCharge")
	}
	return f.OpenChargeFn(ctx, customer, business, w, amount, description)
}

func (f *fakeWallets) Collect(ctx context.Context, business int64, id uuid.UUID) (wallet.Transaction, error) {
	f.enter("Collect")
	if f.CollectFn == nil {
		return wallet.Transaction{}, f.unexpected("Collect")
	}
	return f.CollectFn(ctx, business, id)
}

func (f *fakeWallets) ListTransactions(ctx context.Context, scope wallet.TransactionScope, tf wallet.TransactionFilter, p wallet.Page) (wallet.Listing[wallet.Transaction], error) {
	f.enter("ListTransactions")
	if f.ListTransactionsFn == nil {
		return wallet.Listing[wallet.Transaction]{}, f.unexpected("ListTransactions")
	}
	return f.ListTransactionsFn(ctx, scope, tf, p)
}

func (f *fakeWallets) ActiveBusiness(ctx context.Context, id int64) (wallet.Business, error) {
	f.enter("ActiveBusiness")
	if f.ActiveBusinessFn == nil {
		return wallet.Business{}, f.unexpected("ActiveBusiness")
	}
	return f.ActiveBusinessFn(ctx, id)
}

func (f *fakeWallets) ListBusinesses(ctx context.Context, p wallet.Page) (wallet.Listing[wallet.Business], error) {
	f.enter("ListBusinesses")
	if f.ListBusinessesFn == nil {
		return wallet.Listing[wallet.Business]{}, f.unexpected("ListBusinesses")
	}
	return f.ListBusinessesFn(ctx, p)
}

func (f *fakeWallets) OpenBusinessWallet(ctx context.Context, owner int64) (wallet.Wallet, error) {
	f.enter("OpenBusinessWallet")
	if f.OpenBusinessWalletFn == nil {
		return wallet.Wallet{}, f.unexpected("OpenBusinessWallet")
	}
	return f.OpenBusinessWalletFn(ctx, owner)
}

func (f *fakeWallets) BusinessWallet(ctx context.Context, owner int64) (wallet.Wallet, error) {
	f.enter("BusinessWallet")
	if f.BusinessWalletFn == nil {
		return wallet.Wallet{}, f.unexpected("BusinessWallet")
	}
	return f.BusinessWalletFn(ctx, owner)
}

// fakeUsers is a user.Service whose methods are the func fields; calling a
// method whose field is nil fails the test.
type fakeUsers struct {
	t testing.TB
	// unit is the key of the unit of work this copy is bound to ("" for
	// none); units logs the calls of every copy.
	unit  string
	units *unitLog

	SignUpFn         func(ctx context.Context, a user.NewAccount) (user.User, error)
	LogInFn          func(ctx context.Context, username, password, source string) (user.User, error)
	UserFn           func(ctx context.Context, id int64) (user.User, error)
	UpdateProfileFn  func(ctx context.Context, id int64, c user.ProfileChange) (user.User, error)
	ChangePasswordFn func(ctx context.Context, id int64, c user.PasswordChange) error
	RevokeTokensFn   func(ctx context.Context, id int64, version int) error
	DeactivateFn     func(ctx context.Context, id int64) error
}

var _ user.Service = (*fakeUsers)(nil)

// in returns f bound to the unit of work of key.
func (f *fakeUsers) in(key string) *fakeUsers {
	b := *f
	b.unit = key
	return &b
}

func (f *fakeUsers) enter(method string) { f.units.enter(method, f.unit) }

func (f *fakeUsers) unexpected(method string) error {
	f.t.Helper()
	f.t.Errorf("unexpected call of user.Service.%s", method)
	return errUnexpected
}

func (f *fakeUsers) SignUp(ctx context.Context, a user.NewAccount) (user.User, error) {
	f.enter("SignUp")
	if f.SignUpFn == nil {
		return user.User{}, f.unexpected("SignUp")
	}
	return f.SignUpFn(ctx, a)
}

func (f *fakeUsers) LogIn(ctx context.Context, username, password, source string) (user.User, error) {
	f.enter("LogIn")
	if f.LogInFn == nil {
		return user.User{}, f.unexpected("LogIn")
	}
	return f.LogInFn(ctx, username, password, source)
}

func (f *fakeUsers) User(ctx context.Context, id int64) (user.User, error) {
	f.enter("User")
	if f.UserFn == nil {
		return user.User{}, f.unexpected("User")
	}
	return f.UserFn(ctx, id)
}

func (f *fakeUsers) UpdateProfile(ctx context.Context, id int64, c user.ProfileChange) (user.User, error) {
	f.enter("UpdateProfile")
	if f.UpdateProfileFn == nil {
		return user.User{}, f.unexpected("UpdateProfile")
	}
	return f.UpdateProfileFn(ctx, id, c)
}

func (f *fakeUsers) ChangePassword(ctx context.Context, id int64, c user.PasswordChange) error {
	f.enter("ChangePassword")
	if f.ChangePasswordFn == nil {
		return f.unexpected("ChangePassword")
	}
	return f.ChangePasswordFn(ctx, id, c)
}

func (f *fakeUsers) RevokeTokens(ctx context.Context, id int64, version int) error {
	f.enter("RevokeTokens")
	if f.RevokeTokensFn == nil {
		return f.unexpected("RevokeTokens")
	}
	return f.RevokeTokensFn(ctx, id, version)
}

func (f *fakeUsers) Deactivate(ctx context.Context, id int64) error {
	f.enter("Deactivate")
	if f.DeactivateFn == nil {
		return f.unexpected("Deactivate")
	}
	return f.DeactivateFn(ctx, id)
}

// workRun is what one run of a request's work returned.
type workRun struct {
	Answer idempotency.Answer
	Err    error
}

// fakeRunner is an in-memory idempotency.Runner. It records every Request.
// Err, when set, is returned without running the work (ErrKeyInProgress,
// ErrKeyMismatch); Replay, when set, is returned as a stored answer. Else it
// behaves as the contract says: an answer kept under (User, Key) for the
// same Hash is replayed, another Hash is ErrKeyMismatch, otherwise the work
// runs (handed the services bind returns for the key: fakes bound to it)
// and its answer is kept unless the work failed or answered 500 or more.
type fakeRunner struct {
	bind     func(key string) api.Tx
	mu       sync.Mutex
	Err      error
	Replay   *idempotency.Answer
	Requests []idempotency.Request
	Runs     []workRun
	store    map[string]storedAnswer
}

type storedAnswer struct {
	hash   []byte
	answer idempotency.Answer
}

var _ idempotency.Runner[api.Tx] = (*fakeRunner)(nil)

func (f *fakeRunner) Run(ctx context.Context, req idempotency.Request, work idempotency.Work[api.Tx]) (idempotency.Answer, bool, error) {
	f.mu.Lock()
	f.Requests = append(f.Requests, req)
	if f.Err != nil {
		defer f.mu.Unlock()
		return idempotency.Answer{}, false, f.Err
	}
	if f.Replay != nil {
		defer f.mu.Unlock()
		return *f.Replay, true, nil
	}
	k := strconv.FormatInt(req.User, 10) + "\x00" + req.Key
	if s, ok := f.store[k]; ok {
		defer f.mu.Unlock()
		if !bytes.Equal(s.hash, req.Hash) {
			return idempotency.Answer{}, false, apperr.ErrKeyMismatch
		}
		return s.answer, true, nil
	}
	f.mu.Unlock()

	a, err := work(ctx, f.bind(req.Key))

	f.mu.Lock()
	defer f.mu.Unlock()
	f.Runs = append(f.Runs, workRun{a, err})
	if err != nil {
		return idempotency.Answer{}, false, err
	}
	if a.Status < 500 {
		if f.store == nil {
			f.store = map[string]storedAnswer{}
		}
		f.store[k] = storedAnswer{req.Hash, a}
	}
	return a, false, nil
}

// stored reports how many answers the runner keeps.
func (f *fakeRunner) stored() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.store)
}

// fakePinger is the health check's database.
type fakePinger struct {
	err         error
	calls       int
	hasDeadline bool
	deadline    time.Time
}

func (p *fakePinger) Ping(ctx context.Context) error {
	p.calls++
	p.deadline, p.hasDeadline = ctx.Deadline()
	return p.err
}

// jwtKey is the 32-byte key the edge tests sign tokens with.
var jwtKey = []byte("edge-test-jwt-key-0123456789abcd")

// edge is a Server on fakes; a test sets the fakes' funcs it expects called.
type edge struct {
	t       *testing.T
	wallets *fakeWallets
	users   *fakeUsers
	idem    *fakeRunner
	health  *fakePinger
	tokens  *auth.Tokens
	srv     *api.Server
}

func newEdge(t *testing.T) *edge {
	t.Helper()
	tokens, err := auth.StaticTokens(jwtKey)
	if err != nil {
		t.Fatal(err)
	}
	units := &unitLog{}
	e := &edge{
		t:       t,
		wallets: &fakeWallets{t: t, units: units},
		users:   &fakeUsers{t: t, units: units},
		idem:    &fakeRunner{},
		health:  &fakePinger{},
		tokens:  tokens,
	}
	e.idem.bind = func(key string) api.Tx {
		return api.Tx{Wallets: e.wallets.in(key), Users: e.users.in(key)}
	}
	e.srv = api.NewServer(api.Services{
		Wallets:     e.wallets,
		Users:       e.users,
		Idempotency: e.idem,
		Health:      e.health,
		Tokens:      tokens,
		Cursors:     testCursors(t),
	})
	return e
}

// req is one request to a route, described by its route function.
type req struct {
	fn      string            // the route's function, e.g. "wallets-deposit"
	method  string            // default: the route's first method
	params  map[string]string // path parameters
	headers map[string]string
	body    string
	caller  map[string]any // requestContext.authorizer; nil is anonymous
	// multi are multi-value headers, as API Gateway also sends them.
	multi map[string][]string
	query map[string]string
	// sourceIP is requestContext.identity.sourceIp; "" leaves it out.
	sourceIP string
}

// event builds the API Gateway proxy event of q and returns its route.
func (q req) event(t testing.TB) (route.Route, events.APIGatewayProxyRequest) {
	t.Helper()
	rt, ok := route.ByFunction(q.fn)
	if !ok {
		t.Fatalf("no route %q", q.fn)
	}
	method := q.method
	if method == "" {
		method = rt.Methods[0]
	}
	path := rt.Path
	for k, v := range q.params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	headers := map[string]string{}
	if q.body != "" {
		headers["Content-Type"] = "application/json"
	}
	for k, v := range q.headers {
		headers[k] = v
	}
	ev := events.APIGatewayProxyRequest{
		HTTPMethod:            method,
		Path:                  path,
		Resource:              rt.Path,
		PathParameters:        q.params,
		QueryStringParameters: q.query,
		Headers:               headers,
		MultiValueHeaders:     q.multi,
		Body:                  q.body,
		RequestContext: events.APIGatewayProxyRequestContext{
			HTTPMethod:   method,
			ResourcePath: rt.Path,
			Path:         "/prod" + path,
			Stage:        "prod",
			DomainName:   "api.example.com",
			RequestID:    "test-request",
			Authorizer:   q.caller,
			Identity:     events.APIGatewayRequestIdentity{SourceIP: q.sourceIP},
		},
	}
	return rt, ev
}

// do runs q through the route's Lambda handler.
func (e *edge) do(q req) events.APIGatewayProxyResponse {
	e.t.Helper()
	return e.doCtx(context.Background(), q)
}

func (e *edge) doCtx(ctx context.Context, q req) events.APIGatewayProxyResponse {
	e.t.Helper()
	rt, ev := q.event(e.t)
	h, ok := api.Handlers()[rt.Function]
	if !ok {
		e.t.Fatalf("no handler for %q", rt.Function)
	}
	resp, err := e.srv.Handler(rt, h)(ctx, ev)
	if err != nil {
		e.t.Fatalf("%s %s: handler error %v", ev.HTTPMethod, ev.Path, err)
	}
	return resp
}

// Callers, as the authorizer passes them (strings, as API Gateway does).
func customer(id int64) map[string]any { return caller(id, user.CustomerType) }
func business(id int64) map[string]any { return caller(id, user.BusinessType) }

func caller(id int64, typ user.Type) map[string]any {
	return map[string]any{
		route.CtxUserID:       strconv.FormatInt(id, 10),
		route.CtxUserType:     strconv.Itoa(int(typ)),
		route.CtxTokenVersion: strconv.Itoa(tokenVersion),
	}
}

// Fixtures.
const (
	customerID   int64 = 7
	businessID   int64 = 9
	tokenVersion       = 3
)

var (
	walletID = uuid.MustParse("e58bc9dc-5c3a-4e7d-9f61-3b8f0d8d2a11")
	chargeID = uuid.MustParse("0b7e3c2a-91f4-4d1e-8a57-6c2d9e4f1b30")
	// created is not in UTC: the views print it in UTC.
	created     = time.Date(2021, 4, 20, 11, 56, 34, 583945123, time.FixedZone("CEST", 2*60*60))
	createdJSON = "2021-04-20T09:56:34.583945Z"
)

func pablo() user.User {
	return user.User{ID: customerID, Username: "pablo", Email: "pablo@mail.com", FirstName: "Pablo", LastName: "Moreno",
		Type: user.CustomerType, IsActive: true, TokenVersion: tokenVersion, PasswordHash: "$argon2id$secret"}
}

const pabloJSON = `{"id":7,"username":"pablo","email":"pablo@mail.com","first_name":"Pablo","last_name":"Moreno","profile":{"type":1}}`

// checkStatus fails unless resp has status.
func checkStatus(t testing.TB, resp events.APIGatewayProxyResponse, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, resp.Body)
	}
}

// checkBody fails unless resp's body is exactly want, a JSON body.
func checkBody(t testing.TB, resp events.APIGatewayProxyResponse, want string) {
	t.Helper()
	if resp.Body != want {
		t.Errorf("body = %s\nwant   %s", resp.Body, want)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

// checkHeaders fails unless resp carries each header of want; a want of ""
// means the header must be absent.
func checkHeaders(t testing.TB, resp events.APIGatewayProxyResponse, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, present := resp.Headers[k]
		switch {
		case v == "" && present:
			t.Errorf("header %s = %q, want none", k, got)
		case v != "" && got != v:
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

// cookies returns the Set-Cookie values of resp.
func cookies(resp events.APIGatewayProxyResponse) []string {
	return resp.MultiValueHeaders["Set-Cookie"]
}

// counter counts calls of a fake's func.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// customerWallet is the wallet the fakes know, owned by customerID.
func customerWallet(balance money.Amount) wallet.Wallet {
	return wallet.Wallet{UUID: walletID, OwnerID: customerID, Balance: balance, Created: created}
}

// ownWallet is a WalletFn knowing only customerWallet.
func ownWallet(ctx context.Context, owner int64, id uuid.UUID) (wallet.Wallet, error) {
	if owner != customerID || id != walletID {
		return wallet.Wallet{}, wallet.ErrNotFound
	}
	return customerWallet(0), nil
}

// walletJSON is the view of customerWallet(balance).
func walletJSON(balance string) string {
	return `{"uuid":"` + walletID.String() + `","balance":"` + balance + `","created_date":"` + createdJSON + `"}`
}

// decode unmarshals a JSON body into v.
func decode(t testing.TB, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
}

// testCursors is a cursor key's ring that never changes.
func testCursors(t testing.TB) *keys.Ring {
	t.Helper()
	r, err := keys.StaticRing("cursor", keys.Set{Current: []byte("edge-test-cursor-key-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
