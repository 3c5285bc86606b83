package contract_test

// Contract tests of the customers' wallets (API.md, "Wallets — Customers"):
// listing, opening and reading wallets, deposits and withdrawals, and the
// transactions they record. The helpers at the end are shared by the other
// contract_*_test.go files.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/apitest"
	"wallets/internal/money"
)

func TestContractWalletsCreateListGet(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "ana", apitest.Customer)
	auth := apitest.Token(token)

	ctJSONEq(t, s.Do(t, "GET", ctWallets, nil, auth).Check(t, 200),
		`{"count": 0, "next": null, "previous": null, "results": []}`)

	before := time.Now().Add(-time.Minute)
	created := s.Do(t, "POST", ctWallets, nil, auth).Check(t, http.StatusCreated)
	w := created.JSON(t)
	ctKeys(t, w, "uuid", "balance", "created_date")
	if w["balance"] != "0.00" {
		t.Errorf("new wallet's balance %v, want \"0.00\"", w["balance"])
	}
	id := w["uuid"].(string)
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		t.Errorf("uuid %q: %v", id, err)
	}
	ctCheckTime(t, w["created_date"], before)

	// Reading it answers the same object, with or without a trailing slash.
	got := s.Do(t, "GET", ctWallets+"/"+id, nil, auth).Check(t, 200)
	ctJSONEq(t, got, string(created.Body))
	ctJSONEq(t, s.Do(t, "GET", ctWallets+"/"+id+"/", nil, auth).Check(t, 200), string(created.Body))

	// A second wallet, listed newest first.
	second := s.Do(t, "POST", ctWallets+"/", nil, auth).Check(t, http.StatusCreated)
	list := s.Do(t, "GET", ctWallets, nil, auth).Check(t, 200).JSON(t)
	ctKeys(t, list, "count", "next", "previous", "results")
	if list["count"] != float64(2) || list["next"] != nil || list["previous"] != nil {
		t.Errorf("list %v", list)
	}
	results := list["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("results %v", results)
	}
	ctSame(t, results[0], second.Body)
	ctSame(t, results[1], created.Body)

	// Each customer sees only their own wallets.
	other, _ := s.SignUp(t, "bea", apitest.Customer)
	ctJSONEq(t, s.Do(t, "GET", ctWallets, nil, apitest.Token(other)).Check(t, 200),
		`{"count": 0, "next": null, "previous": null, "results": []}`)

	// Businesses are not customers; anonymous callers are refused.
	biz, _ := s.SignUp(t, "shop", apitest.Business)
	for _, m := range []string{"GET", "POST"} {
		ctDetail(t, s.Do(t, m, ctWallets, nil, apitest.Token(biz)), 403, "You do not have permission to perform this action.")
		r := s.Do(t, m, ctWallets, nil).Check(t, 401)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s without a token: no WWW-Authenticate", m)
		}
	}
	ctDetail(t, s.Do(t, "GET", ctWallets+"/"+id, nil, apitest.Token(biz)), 403, "You do not have permission to perform this action.")
	// A known path with a wrong method.
	s.Do(t, "DELETE", ctWallets+"/"+id, nil, auth).Check(t, http.StatusMethodNotAllowed)
}

func TestContractWalletsForeignAndMalformed(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	owner, _ := s.SignUp(t, "owner", apitest.Customer)
	intruder, _ := s.SignUp(t, "intruder", apitest.Customer)
	biz, bizID := s.SignUp(t, "store", apitest.Business)
	s.NewBusinessWallet(t, biz)
	w := s.NewWallet(t, owner)
	s.Deposit(t, owner, w, "50.00")
	mine := s.NewWallet(t, intruder)
	s.Deposit(t, intruder, mine, "50.00")
	as := apitest.Token(intruder)

	// Another customer's wallet does not exist for the intruder.
	ctDetail(t, s.Do(t, "GET", ctWallets+"/"+w, nil, as), 404, "Not found.")
	for _, m := range []string{"PUT", "PATCH"} {
		ctDetail(t, s.Do(t, m, ctWallets+"/"+w+"/deposit", map[string]any{"amount": "10.00"}, as), 404, "Not found.")
		ctDetail(t, s.Do(t, m, ctWallets+"/"+w+"/retire", map[string]any{"amount": "-10.00"}, as), 404, "Not found.")
		// Whatever the body: the wallet's existence is not revealed by a 400.
		ctDetail(t, s.Do(t, m, ctWallets+"/"+w+"/deposit", map[string]any{"amount": "-1"}, as), 404, "Not found.")
		ctDetail(t, s.Do(t, m, ctWallets+"/"+w+"/retire", map[string]any{}, as), 404, "Not found.")
	}
	ctDetail(t, s.Do(t, "GET", ctWallets+"/"+w+"/transactions", nil, as), 404, "Not found.")
	ctDetail(t, s.Do(t, "POST", ctCharges(bizID), map[string]any{"amount": "5.00", "wallet": w}, as), 404, "Not found.")
	// Nothing happened to it.
	if b := ctBalance(t, s, owner, w); b != "50.00" {
		t.Errorf("owner's balance %s after the intruder's attempts", b)
	}
	if n := ctCount(t, s, owner, ctWallets+"/"+w+"/transactions"); n != 1 {
		t.Errorf("owner's wallet has %d transactions, want 1", n)
	}
	ctJSONEq(t, s.Do(t, "GET", ctBusinessTxs, nil, apitest.Token(biz)).Check(t, 200),
		`{"count": 0, "next": null, "previous": null, "results": []}`)

	// A malformed or unknown uuid is a 404 (never a 500) on every {uuid} route.
	bad := []string{
		"not-a-uuid", "123", "0", "e58bc9dc", uuid.NewString(), // unknown but well-formed
		strings.ToUpper(uuid.NewString()) + "0", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
		"{" + uuid.NewString() + "}", "urn:uuid:" + uuid.NewString(), uuid.NewString()[:35] + "g",
		url.PathEscape("' OR 1=1 --"), url.PathEscape("%00"), strings.Repeat("a", 300),
		strings.ReplaceAll(uuid.NewString(), "-", ""),
	}
	for _, id := range bad {
		for _, c := range []struct {
			method, path, token string
			body                any
		}{
			{"GET", ctWallets + "/" + id, owner, nil},
			{"PUT", ctWallets + "/" + id + "/deposit", owner, map[string]any{"amount": "1.00"}},
			{"PATCH", ctWallets + "/" + id + "/deposit", owner, map[string]any{"amount": "1.00"}},
			{"PUT", ctWallets + "/" + id + "/retire", owner, map[string]any{"amount": "-1.00"}},
			{"PATCH", ctWallets + "/" + id + "/retire", owner, map[string]any{"amount": "-1.00"}},
			{"GET", ctWallets + "/" + id + "/transactions", owner, nil},
			{"PUT", "/wallets/business/transactions/" + id + "/debit", biz, nil},
			{"PATCH", "/wallets/business/transactions/" + id + "/debit", biz, nil},
			{"POST", ctCharges(bizID), owner, map[string]any{"amount": "1.00", "wallet": id}},
		} {
			r := s.Do(t, c.method, c.path, c.body, apitest.Token(c.token))
			if r.Status != 404 {
				t.Errorf("%s %s: %s, want 404", c.method, c.path, r)
				continue
			}
			if d, _ := r.JSON(t)["detail"].(string); d == "" {
				t.Errorf("%s %s: 404 without a detail: %s", c.method, c.path, r.Body)
			}
		}
	}
	if b := ctBalance(t, s, owner, w); b != "50.00" {
		t.Errorf("owner's balance %s", b)
	}
}

func TestContractDepositRetire(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "carla", apitest.Customer)
	auth := apitest.Token(token)
	w := s.NewWallet(t, token)
	dep, ret := ctWallets+"/"+w+"/deposit", ctWallets+"/"+w+"/retire"

	// Amounts as JSON strings, JSON numbers and form fields; PUT and PATCH.
	steps := []struct {
		method, path string
		body         any
		raw          string // sent as is when set
		want         string
	}{
		{"PUT", dep, map[string]any{"amount": "10.50", "description": "salary"}, "", "10.50"},
		{"PATCH", dep, nil, `{"amount": 2.5}`, "13.00"},
		{"PUT", dep, nil, `{"amount": 7}`, "20.00"},
		{"PATCH", dep, nil, `{"amount": 0.1, "description": "ten cents"}`, "20.10"},
		{"PUT", dep, url.Values{"amount": {"1.25"}, "description": {"form"}}, "", "21.35"},
		{"PUT", dep, map[string]any{"amount": "+0.65"}, "", "22.00"},
		{"PUT", ret, map[string]any{"amount": "-5.25", "description": "cash"}, "", "16.75"},
		{"PATCH", ret, nil, `{"amount": -1}`, "15.75"},
		{"PUT", ret, url.Values{"amount": {"-0.75"}}, "", "15.00"},
		{"PATCH", ret, nil, `{"amount": -0.5}`, "14.50"},
	}
	for _, st := range steps {
		var r *apitest.Result
		if st.raw != "" {
			r = s.Do(t, st.method, st.path, nil, auth, apitest.RawBody([]byte(st.raw), "application/json"))
		} else {
			r = s.Do(t, st.method, st.path, st.body, auth)
		}
		r.Check(t, 200)
		m := r.JSON(t)
		ctKeys(t, m, "uuid", "balance", "created_date")
		if m["balance"] != st.want || m["uuid"] != w {
			t.Errorf("%s %s %v%s: %s, want balance %s", st.method, st.path, st.body, st.raw, r.Body, st.want)
		}
	}
	if b := ctBalance(t, s, token, w); b != "14.50" {
		t.Fatalf("balance %s, want 14.50", b)
	}

	// The recorded transactions, newest first.
	txs := ctAll(t, s, token, ctWallets+"/"+w+"/transactions?page_size=100")
	if len(txs) != len(steps) {
		t.Fatalf("%d transactions, want %d", len(txs), len(steps))
	}
	for i, st := range steps {
		tx := txs[len(txs)-1-i]
		ctKeys(t, tx, "uuid", "amount", "description", "status", "type", "business", "wallet", "created_date")
		amount := tx["amount"].(string)
		if tx["wallet"] != w || tx["business"] != nil || tx["status"] != float64(2) {
			t.Errorf("transaction %v", tx)
		}
		if _, err := uuid.Parse(tx["uuid"].(string)); err != nil {
			t.Errorf("transaction uuid: %v", err)
		}
		ctCheckTime(t, tx["created_date"], time.Time{})
		if !ctTwoDecimals(amount) {
			t.Errorf("amount %q is not a two-decimal string", amount)
		}
		if st.path == dep {
			if tx["type"] != float64(1) || strings.HasPrefix(amount, "-") {
				t.Errorf("deposit recorded as %v", tx)
			}
		} else if tx["type"] != float64(2) || !strings.HasPrefix(amount, "-") {
			t.Errorf("withdrawal recorded as %v", tx)
		}
	}
	if txs[len(txs)-1]["amount"] != "10.50" || txs[len(txs)-1]["description"] != "salary" {
		t.Errorf("first deposit %v", txs[len(txs)-1])
	}
	if txs[len(txs)-7]["amount"] != "-5.25" || txs[len(txs)-7]["description"] != "cash" {
		t.Errorf("first withdrawal %v", txs[len(txs)-7])
	}
	if txs[0]["amount"] != "-0.50" || txs[0]["description"] != "" {
		t.Errorf("last withdrawal %v", txs[0])
	}

	// Sign rules, worded exactly.
	for _, a := range []string{`"0"`, `"0.00"`, `"-1"`, `"-0.01"`, `0`, `-3`, `-0.5`, `"-0"`} {
		ctJSONEq(t, s.Do(t, "PUT", dep, nil, auth, apitest.RawBody([]byte(`{"amount": `+a+`}`), "application/json")).Check(t, 400),
			`{"amount": ["Amount must be positive"]}`)
		ctJSONEq(t, s.Do(t, "PATCH", dep, url.Values{"amount": {strings.Trim(a, `"`)}}, auth).Check(t, 400),
			`{"amount": ["Amount must be positive"]}`)
	}
	for _, a := range []string{`"0"`, `"0.00"`, `"1"`, `"0.01"`, `0`, `5`, `2.5`} {
		ctJSONEq(t, s.Do(t, "PUT", ret, nil, auth, apitest.RawBody([]byte(`{"amount": `+a+`}`), "application/json")).Check(t, 400),
			`{"amount": ["Amount must be negative"]}`)
	}

	// Retiring more than the balance changes nothing.
	for _, a := range []string{"-14.51", "-1000", "-999999999.99"} {
		ctDetail(t, s.Do(t, "PUT", ret, map[string]any{"amount": a}, auth), 409, "Balance can't be negative")
	}

	// Malformed amounts, for both operations and both encodings.
	invalid := []string{
		`"1.001"`, `1.001`, `"0.999"`, `"123456789012"`, `123456789012`, `"1234567890.12"`, `"1000000000"`,
		`"1000000000.00"`, `"NaN"`, `"nan"`, `"Infinity"`, `"-Infinity"`, `"inf"`, `"1e3"`, `1e3`, `1E2`, `-1e2`,
		`"abc"`, `null`, `""`, `" "`, `true`, `[]`, `{}`, `["1.00"]`, `"1,00"`, `"0x10"`, `"1_000"`, `"1 000"`,
		`"-1.001"`, `-1.001`, `"-123456789012"`, `"-1e3"`, `"-NaN"`, `"--1"`, `"."`, `"-"`, `"1.2.3"`, `"١٢"`, `"１"`, `"10.00€"`,
	}
	for _, path := range []string{dep, ret} {
		for _, sign := range invalid {
			r := s.Do(t, "PUT", path, nil, auth, apitest.RawBody([]byte(`{"amount": `+sign+`, "description": "x"}`), "application/json"))
			ctFieldError(t, r, "amount", path+" "+sign)
			if strings.HasPrefix(sign, `"`) {
				var v string
				_ = json.Unmarshal([]byte(sign), &v)
				r := s.Do(t, "PATCH", path, url.Values{"amount": {v}}, auth)
				ctFieldError(t, r, "amount", path+" form "+v)
			}
		}
		ctFieldError(t, s.Do(t, "PUT", path, map[string]any{"description": "no amount"}, auth), "amount", path+" missing")
		ctFieldError(t, s.Do(t, "PUT", path, nil, auth), "amount", path+" no body")
		ctFieldError(t, s.Do(t, "PUT", path, url.Values{"description": {"no amount"}}, auth), "amount", path+" form missing")
		// Not JSON at all: a parse error.
		r := s.Do(t, "PUT", path, nil, auth, apitest.RawBody([]byte(`{"amount": NaN}`), "application/json")).Check(t, 400)
		if d, _ := r.JSON(t)["detail"].(string); !strings.HasPrefix(d, "JSON parse error") {
			t.Errorf("NaN literal: %s", r.Body)
		}
		s.Do(t, "PUT", path, nil, auth, apitest.RawBody([]byte(`amount=1`), "text/plain")).Check(t, http.StatusUnsupportedMediaType)
	}

	// Descriptions: at most 250 characters (not bytes), no NUL characters.
	ok250 := strings.Repeat("é", 250)
	r := s.Do(t, "PUT", dep, map[string]any{"amount": "1.00", "description": ok250}, auth).Check(t, 200)
	if r.JSON(t)["balance"] != "15.50" {
		t.Errorf("deposit with a 250-character description: %s", r.Body)
	}
	ctFieldError(t, s.Do(t, "PUT", dep, map[string]any{"amount": "1.00", "description": strings.Repeat("x", 251)}, auth), "description", "251 characters")
	ctFieldError(t, s.Do(t, "PUT", ret, map[string]any{"amount": "-1.00", "description": strings.Repeat("é", 251)}, auth), "description", "251 characters")
	ctFieldError(t, s.Do(t, "PUT", dep, url.Values{"amount": {"1.00"}, "description": {strings.Repeat("y", 251)}}, auth), "description", "251 form")
	ctFieldError(t, s.Do(t, "PUT", dep, map[string]any{"amount": "1.00", "description": "nul\x00byte"}, auth), "description", "NUL")
	if txs := ctAll(t, s, token, ctWallets+"/"+w+"/transactions?page_size=100"); txs[0]["description"] != ok250 {
		t.Errorf("description stored as %q", txs[0]["description"])
	}

	// A body over 64 KiB.
	big := []byte(`{"amount": "1.00", "description": "` + strings.Repeat("z", 70<<10) + `"}`)
	s.Do(t, "PUT", dep, nil, auth, apitest.RawBody(big, "application/json")).Check(t, http.StatusRequestEntityTooLarge)

	if b := ctBalance(t, s, token, w); b != "15.50" {
		t.Fatalf("balance %s after refused movements, want 15.50", b)
	}
	if n := ctCount(t, s, token, ctWallets+"/"+w+"/transactions"); n != len(steps)+1 {
		t.Fatalf("%d transactions after refused movements, want %d", n, len(steps)+1)
	}

	// Retiring everything leaves "0.00"; the balance is never negative.
	ctBalanceIs(t, s.Do(t, "PUT", ret, map[string]any{"amount": "-15.50"}, auth).Check(t, 200), "0.00")
	ctDetail(t, s.Do(t, "PUT", ret, map[string]any{"amount": "-0.01"}, auth), 409, "Balance can't be negative")

	// The balance's 11 digits: up to 999999999.99, and not a cent more.
	ctBalanceIs(t, s.Do(t, "PUT", dep, map[string]any{"amount": "999999999.99"}, auth).Check(t, 200), "999999999.99")
	for _, a := range []string{"0.01", "999999999.99", "100"} {
		ctFieldError(t, s.Do(t, "PUT", dep, map[string]any{"amount": a}, auth), "amount", "overflow "+a)
	}
	if b := ctBalance(t, s, token, w); b != "999999999.99" {
		t.Fatalf("balance %s after refused overflows", b)
	}
	ctBalanceIs(t, s.Do(t, "PATCH", ret, map[string]any{"amount": "-999999999.99"}, auth).Check(t, 200), "0.00")
	if n := ctCount(t, s, token, ctWallets+"/"+w+"/transactions"); n != len(steps)+4 {
		t.Fatalf("%d transactions, want %d", n, len(steps)+4)
	}
	ctLedger(t, s, w)

	// Only customers move money in customers' wallets.
	biz, _ := s.SignUp(t, "bizz", apitest.Business)
	ctDetail(t, s.Do(t, "PUT", dep, map[string]any{"amount": "1.00"}, apitest.Token(biz)), 403, "You do not have permission to perform this action.")
	s.Do(t, "PUT", dep, map[string]any{"amount": "1.00"}).Check(t, 401)
}

// ---- Shared helpers of the contract tests ----

const (
	ctWallets     = "/wallets/customers/wallets"
	ctBusinessTxs = "/wallets/business/transactions"
)

// ctCharges is the path of a customer's charges at business id.
func ctCharges(id int64) string {
	return "/wallets/business/" + strconv.FormatInt(id, 10) + "/customers/transactions"
}

func ctDebit(charge string) string { return ctBusinessTxs + "/" + charge + "/debit" }

// ctJSONEq fails unless r's body is the JSON value want.
func ctJSONEq(t testing.TB, r *apitest.Result, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Errorf("body is not JSON (%v): %s", err, r.Body)
		return
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("body %s, want %s", r.Body, want)
	}
}

// ctSame fails unless the decoded value v equals the JSON body b.
func ctSame(t testing.TB, v any, b []byte) {
	t.Helper()
	var exp any
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	if !reflect.DeepEqual(v, exp) {
		t.Errorf("got %v, want %s", v, b)
	}
}

// ctDetail fails unless r is status with exactly {"detail": detail}.
func ctDetail(t testing.TB, r *apitest.Result, status int, detail string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d; body: %s", r.Status, status, r.Body)
		return
	}
	b, _ := json.Marshal(map[string]string{"detail": detail})
	ctJSONEq(t, r, string(b))
}

// ctFieldError fails unless r is a 400 whose body names field with a
// non-empty list of messages.
func ctFieldError(t testing.TB, r *apitest.Result, field, what string) {
	t.Helper()
	if r.Status != 400 {
		t.Errorf("%s: status %d, want 400; body: %s", what, r.Status, r.Body)
		return
	}
	var m map[string][]string
	if err := json.Unmarshal(r.Body, &m); err != nil || len(m[field]) == 0 || m[field][0] == "" {
		t.Errorf("%s: body %s, want {%q: [...]}", what, r.Body, field)
	}
}

// ctKeys fails unless m has exactly keys.
func ctKeys(t testing.TB, m map[string]any, keys ...string) {
	t.Helper()
	if len(m) != len(keys) {
		t.Errorf("object %v, want exactly the keys %v", m, keys)
		return
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("object %v lacks %q", m, k)
		}
	}
}

// ctCheckTime fails unless v is an RFC 3339 UTC ("Z") timestamp not before
// after nor (much) in the future.
func ctCheckTime(t testing.TB, v any, after time.Time) time.Time {
	t.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Errorf("timestamp %q is not RFC 3339 in UTC: %v", s, err)
		return ts
	}
	if ts.Before(after) || ts.After(time.Now().Add(time.Minute)) {
		t.Errorf("timestamp %s out of range (after %s)", s, after)
	}
	return ts
}

func ctTwoDecimals(s string) bool {
	i := strings.IndexByte(s, '.')
	if i < 1 || len(s)-i != 3 {
		return false
	}
	_, err := money.Parse(s)
	return err == nil
}

func ctBalanceIs(t testing.TB, r *apitest.Result, want string) {
	t.Helper()
	if got := r.JSON(t)["balance"]; got != want {
		t.Errorf("balance %v, want %s; body: %s", got, want, r.Body)
	}
}

// ctBalance reads a customer's wallet's balance over the API.
func ctBalance(t testing.TB, s *apitest.Stack, token, w string) string {
	t.Helper()
	b, _ := s.Do(t, "GET", ctWallets+"/"+w, nil, apitest.Token(token)).Check(t, 200).JSON(t)["balance"].(string)
	if !ctTwoDecimals(b) {
		t.Errorf("balance %q is not a two-decimal string", b)
	}
	return b
}

// ctBusinessBalance reads a business's wallet's balance over the API.
func ctBusinessBalance(t testing.TB, s *apitest.Stack, token string) string {
	t.Helper()
	b, _ := s.Do(t, "GET", "/wallets/business/wallet", nil, apitest.Token(token)).Check(t, 200).JSON(t)["balance"].(string)
	return b
}

// ctCount is a list's count.
func ctCount(t testing.TB, s *apitest.Stack, token, path string) int {
	t.Helper()
	n, ok := s.Do(t, "GET", path, nil, apitest.Token(token)).Check(t, 200).JSON(t)["count"].(float64)
	if !ok {
		t.Fatalf("%s: no count", path)
	}
	return int(n)
}

// ctPage is a decoded page of a list.
type ctPage struct {
	Count    *int             `json:"count"`
	Next     *string          `json:"next"`
	Previous *string          `json:"previous"`
	Results  []map[string]any `json:"results"`
}

func ctGetPage(t testing.TB, s *apitest.Stack, token, path string) ctPage {
	t.Helper()
	r := s.Do(t, "GET", path, nil, apitest.Token(token)).Check(t, 200)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatalf("%s: %s", path, r.Body)
	}
	for _, k := range []string{"next", "previous", "results"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("%s: page without %q: %s", path, k, r.Body)
		}
	}
	var p ctPage
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	if err := dec.Decode(&p); err != nil || p.Results == nil {
		t.Fatalf("%s: not a page (%v): %s", path, err, r.Body)
	}
	for _, l := range []*string{p.Next, p.Previous} {
		if l != nil && !strings.HasPrefix(*l, s.URL+"/api/v1/") {
			t.Errorf("%s: link %q is not an absolute URL under %s/api/v1/", path, *l, s.URL)
		}
	}
	return p
}

// ctAll follows next links from path and returns every item.
func ctAll(t testing.TB, s *apitest.Stack, token, path string) []map[string]any {
	t.Helper()
	var all []map[string]any
	for hops := 0; ; hops++ {
		if hops > 1000 {
			t.Fatalf("%s: endless next links", path)
		}
		p := ctGetPage(t, s, token, path)
		all = append(all, p.Results...)
		if p.Next == nil {
			return all
		}
		path = *p.Next
	}
}

// ctPool connects to the stack's database as its owner, for checks and
// fault injection the HTTP API cannot express.
func ctPool(t testing.TB, s *apitest.Stack) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), s.OwnerDatabaseURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// ctLedger checks that wallet w's balance (customer or business) is the sum
// of its accepted transactions, and returns it.
func ctLedger(t testing.TB, s *apitest.Stack, w string) money.Amount {
	t.Helper()
	pool := ctPool(t, s)
	var balance, sum string
	err := pool.QueryRow(context.Background(), `
		SELECT wallet_balance(w.uuid)::text, COALESCE((
			SELECT sum(CASE WHEN w.is_business THEN tx.amount
			                WHEN tx.business_id IS NULL THEN tx.amount
			                ELSE -tx.amount END)
			  FROM transactions tx
			 WHERE tx.status = 2 AND (tx.wallet_id = w.uuid
			    OR (w.is_business AND tx.business_id = w.user_id))), 0)::text
		  FROM wallets w WHERE w.uuid = $1`, w).Scan(&balance, &sum)
	if err != nil {
		t.Fatalf("ledger of %s: %v", w, err)
	}
	b, err1 := money.Parse(balance)
	l, err2 := money.Parse(sum)
	if err1 != nil || err2 != nil || b != l {
		t.Errorf("wallet %s: balance %s, ledger sum %s", w, balance, sum)
	}
	if b < 0 {
		t.Errorf("wallet %s: negative balance %s", w, balance)
	}
	return b
}

// ctMust fails the test on err.
func ctMust(t testing.TB, err error, what ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprint(what...), err)
	}
}
