package contract_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"pgregory.net/rapid"

	"wallets/internal/apitest"
	"wallets/internal/money"
	"wallets/internal/route"
)

// Property-based tests: requests generated from the served OpenAPI document
// for every operation (anonymous, as a customer and as a business, valid
// and not), and a stateful sequence (sign up → wallet → deposit → charge →
// collect). Every answer must be documented and match its schema (apitest's
// contract check), and none may be a 5xx.
//
// The default run is seeded (propertySeed) and bounded (a few hundred checks,
// at most propertyBudget); `make fuzz` runs it longer with a random seed:
//
//	WALLETS_PROPERTY_TIME=5m go test -run '^TestProperty' ./internal/contract -args -rapid.checks=1000000 -rapid.seed=0

// propertySeed is the default seed, so that plain `go test` is repeatable.
const propertySeed = 20261201

// Defaults of the property tests, unless given as flags.
const (
	operationChecks = 200
	flowChecks      = 20
)

// checksGiven reports whether -rapid.checks was given.
var checksGiven bool

// rapidDefaults makes the run seeded and bounded unless -rapid.seed or
// -rapid.checks were given. TestMain calls it once, after flag.Parse and
// before any test runs (rapid's flags are global).
func rapidDefaults() {
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	set := func(name, value string) {
		if f := flag.Lookup(name); f != nil && !given[name] {
			_ = f.Value.Set(value)
		}
	}
	checksGiven = given["rapid.checks"]
	set("rapid.seed", strconv.Itoa(propertySeed))
	set("rapid.checks", strconv.Itoa(operationChecks))
	set("rapid.nofailfile", "true")
}

// propertyBudget is how long one property test may generate requests:
// WALLETS_PROPERTY_TIME (a duration; `make fuzz` sets it to FUZZTIME), else
// 20 s. The checks left when it is spent pass without running.
func propertyBudget(t *testing.T) time.Duration {
	t.Helper()
	if v := os.Getenv("WALLETS_PROPERTY_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("WALLETS_PROPERTY_TIME: %v", err)
		}
		return d
	}
	return 20 * time.Second
}

// rtb lets apitest's helpers (which take a testing.TB) report to rapid, so
// a failure shrinks.
type rtb struct {
	testing.TB
	rt *rapid.T
}

func (r rtb) Helper()                           {}
func (r rtb) Error(args ...any)                 { r.rt.Error(args...) }
func (r rtb) Errorf(format string, args ...any) { r.rt.Errorf(format, args...) }
func (r rtb) Fatal(args ...any)                 { r.rt.Fatal(args...) }
func (r rtb) Fatalf(format string, args ...any) { r.rt.Fatalf(format, args...) }
func (r rtb) Log(args ...any)                   { r.rt.Log(args...) }
func (r rtb) Logf(format string, args ...any)   { r.rt.Logf(format, args...) }
func (r rtb) Context() context.Context          { return r.TB.Context() }

// world is the state generated requests draw on: a customer with a funded
// wallet, a business with a wallet, and a charge between them.
type world struct {
	s                       *apitest.Stack
	customer, business      string // tokens
	customerID, businessID  int64
	wallet, bizWallet, txID string
	n                       int
}

// ready (re)creates the users when a generated request logged them out,
// changed their password or deleted them.
func (w *world) ready(t *testing.T) {
	t.Helper()
	if w.customer != "" && w.s.Do(t, "GET", "/users/me", nil, apitest.Token(w.customer)).Status == 200 &&
		w.s.Do(t, "GET", "/users/me", nil, apitest.Token(w.business)).Status == 200 {
		return
	}
	w.n++
	w.customer, w.customerID = w.s.SignUp(t, fmt.Sprintf("propc%d", w.n), apitest.Customer)
	w.business, w.businessID = w.s.SignUp(t, fmt.Sprintf("propb%d", w.n), apitest.Business)
	w.wallet = w.s.NewWallet(t, w.customer)
	w.s.Deposit(t, w.customer, w.wallet, "500.00")
	w.bizWallet = w.s.NewBusinessWallet(t, w.business)
	w.txID = w.s.Charge(t, w.customer, w.businessID, w.wallet, "1.00")
}

// operation is one method of one path of the document.
type operation struct {
	method, path string
	op           *openapi3.Operation
	params       openapi3.Parameters
	access       route.Access
}

func documentOperations(t *testing.T) []operation {
	t.Helper()
	doc, err := apitest.Document()
	if err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			rt, _, _, ok := route.Match(route.Routes(), method, route.Prefix+path)
			if !ok {
				t.Fatalf("%s %s is no route", method, path)
			}
			ops = append(ops, operation{method: method, path: path, op: op, access: rt.Access,
				params: append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...)})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].op.OperationID < ops[j].op.OperationID })
	if len(ops) == 0 {
		t.Fatal("no operations")
	}
	return ops
}

// TestPropertyOperations sends requests generated from the document to
// every operation, as every kind of caller.
func TestPropertyOperations(t *testing.T) {
	t.Parallel()
	w := &world{s: apitest.New(t)}
	ops := documentOperations(t)
	deadline := time.Now().Add(propertyBudget(t))
	sent := 0
	defer func() { t.Logf("%d generated requests sent", sent) }()
	rapid.Check(t, func(rt *rapid.T) {
		if time.Now().After(deadline) {
			return // the time budget is spent: pass the remaining checks
		}
		sent++
		w.ready(t)
		o := rapid.SampledFrom(ops).Draw(rt, "operation")
		sendGenerated(rt, t, w, o)
	})
}

// sendGenerated draws one request of o and sends it; apitest checks the
// exchange against the document.
func sendGenerated(rt *rapid.T, t *testing.T, w *world, o operation) {
	path := o.path
	query := url.Values{}
	var opts []apitest.Opt
	for _, p := range o.params {
		v := p.Value
		switch v.In {
		case openapi3.ParameterInPath:
			path = strings.ReplaceAll(path, "{"+v.Name+"}", url.PathEscape(pathValue(rt, w, o.path, v.Name)))
		case openapi3.ParameterInQuery:
			if rapid.IntRange(0, 2).Draw(rt, "with "+v.Name) == 0 {
				query.Set(v.Name, paramValue(rt, v.Schema.Value, v.Name))
			}
		case openapi3.ParameterInHeader:
			if rapid.Bool().Draw(rt, "with "+v.Name) {
				opts = append(opts, apitest.Header(v.Name, headerValue(rt, v)))
			}
		}
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	// Mostly the caller the operation is for, so requests get past the
	// authorizer; sometimes anyone.
	caller := rapid.IntRange(0, 7).Draw(rt, "caller")
	if caller < 4 {
		caller = 0
		switch o.access {
		case route.Customer:
			caller = 1
		case route.Business:
			caller = 2
		case route.User, route.Optional:
			caller = rapid.IntRange(1, 3).Draw(rt, "user")
		}
	} else {
		caller -= 4
	}
	switch caller {
	case 1:
		opts = append(opts, apitest.Token(w.customer))
	case 2:
		opts = append(opts, apitest.Header("Authorization", "Bearer "+w.business))
	case 3:
		if o.access == route.Business {
			opts = append(opts, apitest.Header("Cookie", "theme=dark; jwt="+w.business))
		} else {
			opts = append(opts, apitest.Header("Cookie", "jwt="+w.customer))
		}
	case 4:
		opts = append(opts, apitest.Header("Authorization", rapid.SampledFrom([]string{
			"JWT x.y.z", "Bearer ", "Basic Zm9vOmJhcg==", "JWT " + w.customer + "x"}).Draw(rt, "bad credentials")))
	}
	var body any
	if o.op.RequestBody != nil {
		schema := o.op.RequestBody.Value.Content.Get("application/json").Schema.Value
		v := genValue(rt, w, schema, "body", 0)
		switch rapid.IntRange(0, 5).Draw(rt, "encoding") {
		case 0, 1, 2:
			body = v
		case 3, 4:
			body = formValues(v)
		case 5:
			raw := rapid.SampledFrom([]string{"", "{", "[]", "null", `{"amount": }`, "\xff", "amount=1"}).Draw(rt, "raw")
			ct := rapid.SampledFrom([]string{"application/json", "text/plain", "application/x-www-form-urlencoded", ""}).
				Draw(rt, "content type")
			opts = append(opts, apitest.RawBody([]byte(raw), ct))
		}
	}
	r := w.s.Do(rtb{t, rt}, o.method, path, body, opts...)
	if r.Status >= 500 {
		rt.Fatalf("%s %s answered %d: %s", o.method, path, r.Status, r.Body)
	}
}

func pathValue(rt *rapid.T, w *world, path, name string) string {
	if rapid.Bool().Draw(rt, name+" is the right one") {
		switch {
		case name == "business_id":
			return strconv.FormatInt(w.businessID, 10)
		case strings.Contains(path, "/debit"):
			return w.txID
		default:
			return w.wallet
		}
	}
	switch name {
	case "uuid":
		return rapid.SampledFrom([]string{w.wallet, w.bizWallet, w.txID, "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10",
			"not-a-uuid", "E58BC9DC-5C3C-4C3E-9D55-2F0D1D1B7A10", "0"}).Draw(rt, "uuid")
	case "business_id":
		return rapid.SampledFrom([]string{strconv.FormatInt(w.businessID, 10), strconv.FormatInt(w.customerID, 10),
			"999999", "0", "-1", "x", "99999999999999999999"}).Draw(rt, "business_id")
	}
	return rapid.StringMatching(`[a-z0-9-]{1,12}`).Draw(rt, name)
}

func headerValue(rt *rapid.T, p *openapi3.Parameter) string {
	if p.Name == "Idempotency-Key" {
		n := rapid.SampledFrom([]int{1, 8, 40, 190, 191, 200, 255}).Draw(rt, "key length")
		return rapid.StringMatching(fmt.Sprintf(`[ -~]{%d}`, n)).Draw(rt, "key")
	}
	return rapid.String().Draw(rt, p.Name)
}

// paramValue draws a query parameter: mostly what its schema describes,
// sometimes anything.
func paramValue(rt *rapid.T, s *openapi3.Schema, name string) string {
	if rapid.IntRange(0, 4).Draw(rt, name+" garbage") == 0 {
		return rapid.SampledFrom([]string{"", "0", "-1", "abc", "1000", "2.5", "last", "1e3", " 1"}).Draw(rt, name)
	}
	v := genValue(rt, nil, s, name, 0)
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// formValues is a JSON object as form fields.
func formValues(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	vals := url.Values{}
	for k, x := range m {
		switch x := x.(type) {
		case string:
			vals.Set(k, x)
		case float64:
			vals.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
		case nil:
		default:
			b, _ := json.Marshal(x)
			vals.Set(k, string(b))
		}
	}
	return vals
}

// genValue draws a value of schema s: usually a valid one, sometimes one
// that breaks a rule (a missing field, a wrong type, a too-long string).
func genValue(rt *rapid.T, w *world, s *openapi3.Schema, label string, depth int) any {
	if len(s.AnyOf) > 0 {
		return genValue(rt, w, rapid.SampledFrom(s.AnyOf).Draw(rt, label+" anyOf").Value, label, depth+1)
	}
	if len(s.AllOf) > 0 && s.Type.IsEmpty() {
		return genValue(rt, w, s.AllOf[0].Value, label, depth+1)
	}
	if depth > 0 && rapid.IntRange(0, 14).Draw(rt, label+" break") == 0 {
		return rapid.SampledFrom([]any{nil, true, float64(7), "", strings.Repeat("ñ", 300), []any{1},
			map[string]any{}}).Draw(rt, label+" broken")
	}
	if len(s.Enum) > 0 {
		return rapid.SampledFrom(s.Enum).Draw(rt, label)
	}
	if len(s.Examples) > 0 && rapid.IntRange(0, 3).Draw(rt, label+" example?") == 0 {
		return rapid.SampledFrom(s.Examples).Draw(rt, label)
	}
	types := s.Type.Slice()
	if len(types) == 0 {
		types = []string{"string"}
	}
	switch typ := rapid.SampledFrom(types).Draw(rt, label+" type"); typ {
	case "object":
		out := map[string]any{}
		names := make([]string, 0, len(s.Properties))
		for name := range s.Properties {
			names = append(names, name)
		}
		sort.Strings(names)
		required := map[string]bool{}
		for _, r := range s.Required {
			required[r] = true
		}
		for _, name := range names {
			keep := required[name] && rapid.IntRange(0, 19).Draw(rt, label+"."+name+" drop") != 0
			if keep || rapid.Bool().Draw(rt, label+"."+name+"?") {
				out[name] = genValue(rt, w, s.Properties[name].Value, label+"."+name, depth+1)
			}
		}
		return out
	case "integer":
		lo, hi := -5.0, 1e6
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		return float64(rapid.Int64Range(int64(lo), int64(hi)).Draw(rt, label))
	case "number":
		return amountNumber(rt, s, label)
	default:
		return genString(rt, w, s, label)
	}
}

// amountNumber draws a number for an amount schema (the only numbers
// bodies take): cents in and beyond the range, and odd decimals.
func amountNumber(rt *rapid.T, s *openapi3.Schema, label string) any {
	sign := 1.0
	if s.ExclusiveMax.Value != nil && *s.ExclusiveMax.Value == 0 {
		sign = -1
	}
	cents := rapid.OneOf(rapid.Int64Range(1, 100_000), rapid.Int64Range(1, int64(money.Max)+1000)).Draw(rt, label+" cents")
	v := sign * float64(cents) / 100
	switch rapid.IntRange(0, 9).Draw(rt, label+" odd") {
	case 0:
		return -v
	case 1:
		return 0.0
	case 2:
		return v + 0.001
	case 3:
		return math.Trunc(v)
	}
	return v
}

func genString(rt *rapid.T, w *world, s *openapi3.Schema, label string) string {
	if s.Pattern != "" {
		if strings.Contains(s.Pattern, `\.`) && strings.Contains(s.Pattern, "[1-9]") && !strings.Contains(s.Pattern, "T") {
			// An amount.
			neg := strings.Contains(s.Pattern, `-(`)
			cents := rapid.Int64Range(1, int64(money.Max)).Draw(rt, label+" cents")
			if neg {
				cents = -cents
			}
			a := money.Amount(cents).String()
			return rapid.SampledFrom([]string{a, " " + a + " ", strings.TrimSuffix(a, "0"), "+" + a, "0.00",
				"-" + strings.TrimPrefix(a, "-"), a + "1", "1e3", "NaN"}).Draw(rt, label)
		}
		return rapid.StringMatching(s.Pattern).Draw(rt, label)
	}
	switch s.Format {
	case "uuid":
		if w != nil {
			return rapid.SampledFrom([]string{w.wallet, w.bizWallet, "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10", "x"}).
				Draw(rt, label)
		}
	case "email":
		return rapid.StringMatching(`[a-z]{1,10}@[a-z]{1,8}\.(com|es)`).Draw(rt, label)
	}
	lo := int(s.MinLength)
	hi := lo + 20
	if s.MaxLength != nil {
		hi = min(hi, int(*s.MaxLength))
		if rapid.IntRange(0, 9).Draw(rt, label+" long?") == 0 {
			lo, hi = int(*s.MaxLength), int(*s.MaxLength)+1
		}
	}
	return rapid.StringN(lo, hi, -1).Draw(rt, label)
}

// TestPropertyMoneyFlow runs generated sequences of a customer's and a
// business's life (sign up → wallet → deposits → a withdrawal → charges →
// collections, the business wallet opened before or after the charges)
// against a model of the balances.
func TestPropertyMoneyFlow(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	deadline := time.Now().Add(propertyBudget(t))
	n := 0
	defer func() { t.Logf("%d sequences run", n) }()
	rapid.Check(t, func(rt *rapid.T) {
		if time.Now().After(deadline) || (!checksGiven && n >= flowChecks) {
			return // the budget is spent: pass the remaining checks
		}
		n++
		tb := rtb{t, rt}
		cust, _ := s.SignUp(tb, fmt.Sprintf("flowc%d", n), apitest.Customer)
		biz, bizID := s.SignUp(tb, fmt.Sprintf("flowb%d", n), apitest.Business)
		w := s.NewWallet(tb, cust)
		var balance, bizBalance money.Amount
		encode := func(a money.Amount, label string) any {
			switch rapid.IntRange(0, 2).Draw(rt, label+" as") {
			case 0:
				return map[string]any{"amount": a.String()}
			case 1:
				f, _ := strconv.ParseFloat(a.String(), 64)
				return map[string]any{"amount": f}
			}
			return url.Values{"amount": {a.String()}}
		}
		for i := range rapid.IntRange(1, 3).Draw(rt, "deposits") {
			a := money.Amount(rapid.Int64Range(1, 100_000).Draw(rt, fmt.Sprintf("deposit %d", i)))
			r := s.Do(tb, "PUT", "/wallets/customers/wallets/"+w+"/deposit", encode(a, "deposit"), apitest.Token(cust))
			r.Check(tb, 200)
			balance += a
			if got := r.JSON(tb)["balance"]; got != balance.String() {
				rt.Fatalf("balance %v after depositing %s, want %s", got, a, balance)
			}
		}
		if rapid.Bool().Draw(rt, "withdraw?") {
			a := money.Amount(rapid.Int64Range(1, int64(balance)+5_000).Draw(rt, "withdrawal"))
			r := s.Do(tb, "PUT", "/wallets/customers/wallets/"+w+"/retire", encode(-a, "withdrawal"), apitest.Token(cust))
			if a > balance {
				r.Check(tb, 409)
			} else {
				r.Check(tb, 200)
				balance -= a
			}
		}
		hasBizWallet := false
		openBiz := func() {
			s.NewBusinessWallet(tb, biz)
			hasBizWallet = true
		}
		early := rapid.Bool().Draw(rt, "business wallet first?")
		if early {
			openBiz()
		}
		type charge struct {
			id       string
			amount   money.Amount
			accepted bool
		}
		var charges []*charge
		for i := range rapid.IntRange(1, 3).Draw(rt, "charges") {
			a := money.Amount(rapid.Int64Range(1, 150_000).Draw(rt, fmt.Sprintf("charge %d", i)))
			charges = append(charges, &charge{id: s.Charge(tb, cust, bizID, w, a.String()), amount: a})
		}
		collect := func(c *charge) {
			r := s.Do(tb, "PUT", "/wallets/business/transactions/"+c.id+"/debit", nil,
				apitest.Header("Authorization", "Bearer "+biz))
			detail, _ := r.JSON(tb)["detail"].(string)
			switch {
			case !hasBizWallet:
				r.Check(tb, 409)
				if detail != "Business wallet does not exist" {
					rt.Fatalf("collect without a business wallet: %s", r.Body)
				}
			case c.accepted:
				r.Check(tb, 409)
				if detail != "Transaction already processed" {
					rt.Fatalf("collect twice: %s", r.Body)
				}
			case c.amount > balance:
				r.Check(tb, 409)
				if detail != "Balance can't be negative" {
					rt.Fatalf("collect %s of %s: %s", c.amount, balance, r.Body)
				}
			default:
				r.Check(tb, 200)
				c.accepted = true
				balance -= c.amount
				bizBalance += c.amount
			}
		}
		for i := range rapid.IntRange(1, 6).Draw(rt, "collections") {
			if !hasBizWallet && rapid.IntRange(0, 2).Draw(rt, fmt.Sprintf("open now %d?", i)) == 0 {
				openBiz()
			}
			collect(rapid.SampledFrom(charges).Draw(rt, fmt.Sprintf("collect %d", i)))
		}
		got := s.Do(tb, "GET", "/wallets/customers/wallets/"+w, nil, apitest.Token(cust)).Check(tb, 200).JSON(tb)
		if got["balance"] != balance.String() {
			rt.Fatalf("customer balance %v, want %s", got["balance"], balance)
		}
		if hasBizWallet {
			got := s.Do(tb, "GET", "/wallets/business/wallet", nil, apitest.Token(biz)).Check(tb, 200).JSON(tb)
			if got["balance"] != bizBalance.String() {
				rt.Fatalf("business balance %v, want %s", got["balance"], bizBalance)
			}
		}
		// Every charge is listed with its status.
		list := s.Do(tb, "GET", "/wallets/business/transactions?page_size=100", nil, apitest.Token(biz)).Check(tb, 200).JSON(tb)
		results, _ := list["results"].([]any)
		if len(results) != len(charges) {
			rt.Fatalf("business lists %d charges, want %d", len(results), len(charges))
		}
		accepted := map[string]bool{}
		for _, c := range charges {
			accepted[c.id] = c.accepted
		}
		for _, x := range results {
			m := x.(map[string]any)
			if (m["status"] == float64(2)) != accepted[m["uuid"].(string)] {
				rt.Fatalf("charge %v: status %v, accepted %v", m["uuid"], m["status"], accepted[m["uuid"].(string)])
			}
		}
	})
}
