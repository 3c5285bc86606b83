package contract_test

// Contract tests of charges, the business directory, businesses' wallets
// and debits (API.md, "Wallets").

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wallets/internal/apitest"
)

func TestContractCharges(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "diego", apitest.Customer)
	other, otherID := s.SignUp(t, "elena", apitest.Customer)
	shop, shopID := s.SignUp(t, "shop", apitest.Business)
	mall, mallID := s.SignUp(t, "mall", apitest.Business)
	gone, goneID := s.SignUp(t, "gone", apitest.Business)
	shopWallet := s.NewBusinessWallet(t, shop)
	w := s.NewWallet(t, cust)
	s.Deposit(t, cust, w, "20.00")
	ow := s.NewWallet(t, other)
	auth := apitest.Token(cust)

	// A pending charge: status 1, type 2, positive amount, at the business.
	before := time.Now().Add(-time.Minute)
	r := s.Do(t, "POST", ctCharges(shopID), map[string]any{"amount": "15.00", "description": "Compra auriculares", "wallet": w}, auth).
		Check(t, http.StatusCreated)
	c := r.JSON(t)
	ctKeys(t, c, "uuid", "amount", "description", "status", "type", "business", "wallet", "created_date")
	if c["amount"] != "15.00" || c["description"] != "Compra auriculares" || c["status"] != float64(1) ||
		c["type"] != float64(2) || c["business"] != float64(shopID) || c["wallet"] != w {
		t.Errorf("charge %s", r.Body)
	}
	if _, err := uuid.Parse(c["uuid"].(string)); err != nil {
		t.Errorf("charge uuid: %v", err)
	}
	ctCheckTime(t, c["created_date"], before)
	// Form-encoded, a JSON number, a trailing slash, no description.
	f := s.Do(t, "POST", ctCharges(shopID)+"/", url.Values{"amount": {"2.50"}, "wallet": {w}}, auth).Check(t, http.StatusCreated).JSON(t)
	if f["amount"] != "2.50" || f["description"] != "" || f["status"] != float64(1) {
		t.Errorf("form charge %v", f)
	}
	n := s.Do(t, "POST", ctCharges(mallID), nil, auth, apitest.RawBody([]byte(`{"amount": 99.99, "wallet": "`+w+`"}`), "application/json")).
		Check(t, http.StatusCreated).JSON(t)
	if n["amount"] != "99.99" || n["business"] != float64(mallID) {
		t.Errorf("number charge %v", n)
	}
	// Opening charges moves no money, even above the balance.
	if b := ctBalance(t, s, cust, w); b != "20.00" {
		t.Errorf("balance %s after opening charges", b)
	}
	if b := ctBusinessBalance(t, s, shop); b != "0.00" {
		t.Errorf("business balance %s after charges were opened", b)
	}

	// Not an active business: 404.
	s.Do(t, "POST", "/users/delete-account", nil, apitest.Token(gone)).Check(t, http.StatusNoContent)
	body := map[string]any{"amount": "1.00", "wallet": w}
	for _, id := range []string{"999999", strconv.FormatInt(otherID, 10), strconv.FormatInt(goneID, 10), "abc", "0", "-1",
		"1.5", "99999999999999999999999", "%20", strconv.FormatInt(shopID, 10) + "x"} {
		r := s.Do(t, "POST", "/wallets/business/"+id+"/customers/transactions", body, auth)
		ctDetail(t, r, 404, "Not found.")
		r = s.Do(t, "GET", "/wallets/business/"+id+"/customers/transactions", nil, auth)
		ctDetail(t, r, 404, "Not found.")
	}
	// A wallet not the caller's (another customer's, a business's, unknown, malformed): 404.
	for _, id := range []string{ow, shopWallet, uuid.NewString(), "nope", "12"} {
		ctDetail(t, s.Do(t, "POST", ctCharges(shopID), map[string]any{"amount": "1.00", "wallet": id}, auth), 404, "Not found.")
	}
	// Amounts: > 0, well-formed; the wallet is required.
	for _, a := range []any{"0", "0.00", "-5.00", -1, 0} {
		ctJSONEq(t, s.Do(t, "POST", ctCharges(shopID), map[string]any{"amount": a, "wallet": w}, auth).Check(t, 400),
			`{"amount": ["Amount must be positive"]}`)
	}
	for _, raw := range []string{`"1.001"`, `"abc"`, `null`, `"NaN"`, `"1e3"`, `1e3`, `"123456789012"`} {
		ctFieldError(t, s.Do(t, "POST", ctCharges(shopID), nil, auth,
			apitest.RawBody([]byte(`{"amount": `+raw+`, "wallet": "`+w+`"}`), "application/json")), "amount", raw)
	}
	ctFieldError(t, s.Do(t, "POST", ctCharges(shopID), map[string]any{"wallet": w}, auth), "amount", "missing amount")
	ctFieldError(t, s.Do(t, "POST", ctCharges(shopID), map[string]any{"amount": "1.00"}, auth), "wallet", "missing wallet")
	ctFieldError(t, s.Do(t, "POST", ctCharges(shopID), map[string]any{"amount": "1.00", "wallet": w, "description": strings.Repeat("d", 251)}, auth),
		"description", "long description")

	// Businesses do not open charges.
	ctDetail(t, s.Do(t, "POST", ctCharges(mallID), body, apitest.Token(shop)), 403, "You do not have permission to perform this action.")
	ctDetail(t, s.Do(t, "GET", ctCharges(mallID), nil, apitest.Token(shop)), 403, "You do not have permission to perform this action.")

	// Another customer's charge at the shop.
	oc := s.Charge(t, other, shopID, ow, "3.00")

	// GET lists the caller's charges at that business only, newest first.
	mine := ctAll(t, s, cust, ctCharges(shopID))
	if len(mine) != 2 || mine[0]["uuid"] != f["uuid"] || mine[1]["uuid"] != c["uuid"] {
		t.Errorf("charges at the shop: %v", mine)
	}
	ctSame(t, mine[1], r.Body)
	if at := ctAll(t, s, cust, ctCharges(mallID)); len(at) != 1 || at[0]["uuid"] != n["uuid"] {
		t.Errorf("charges at the mall: %v", at)
	}
	if at := ctAll(t, s, other, ctCharges(shopID)); len(at) != 1 || at[0]["uuid"] != oc {
		t.Errorf("other's charges at the shop: %v", at)
	}
	if at := ctAll(t, s, other, ctCharges(mallID)); len(at) != 0 {
		t.Errorf("other's charges at the mall: %v", at)
	}
	// The shop sees every charge made there, and only those.
	if at := ctAll(t, s, shop, ctBusinessTxs); len(at) != 3 {
		t.Errorf("shop's charges: %v", at)
	}
	if at := ctAll(t, s, mall, ctBusinessTxs); len(at) != 1 || at[0]["uuid"] != n["uuid"] {
		t.Errorf("mall's charges: %v", at)
	}
}

func TestContractBusinessDirectory(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "frank", apitest.Customer)
	_, aID := s.SignUp(t, "mediamarket", apitest.Business)
	gone, _ := s.SignUp(t, "closed", apitest.Business)
	// A business without a first name is listed by its username.
	u := s.Do(t, "POST", "/users/sign-up", map[string]any{
		"username": "plainshop", "email": "plainshop@example.com",
		"password": apitest.Password, "password2": apitest.Password, "type": 2,
	}).Check(t, http.StatusCreated).JSON(t)
	plainID := int64(u["id"].(float64))
	_, bID := s.SignUp(t, "zara", apitest.Business)
	s.Do(t, "POST", "/users/delete-account", nil, apitest.Token(gone)).Check(t, http.StatusNoContent)
	biz := s.Login(t, "zara", apitest.Password)

	want := `{"count": 3, "next": null, "previous": null, "results": [` +
		`{"id": ` + strconv.FormatInt(aID, 10) + `, "name": "Mediamarket"},` +
		`{"id": ` + strconv.FormatInt(plainID, 10) + `, "name": "plainshop"},` +
		`{"id": ` + strconv.FormatInt(bID, 10) + `, "name": "Zara"}]}`
	for _, tok := range []string{cust, biz} {
		ctJSONEq(t, s.Do(t, "GET", "/wallets/business", nil, apitest.Token(tok)).Check(t, 200), want)
		ctJSONEq(t, s.Do(t, "GET", "/wallets/business/", nil, apitest.Token(tok)).Check(t, 200), want)
	}
	s.Do(t, "GET", "/wallets/business", nil).Check(t, 401)

	// Paged, by page number and by cursor.
	p := ctGetPage(t, s, cust, "/wallets/business?page_size=2")
	if *p.Count != 3 || len(p.Results) != 2 || p.Next == nil || p.Previous != nil {
		t.Fatalf("first page %+v", p)
	}
	p2 := ctGetPage(t, s, cust, *p.Next)
	if len(p2.Results) != 1 || p2.Results[0]["id"] != float64(bID) || p2.Next != nil || p2.Previous == nil {
		t.Errorf("second page %+v", p2)
	}
	all := ctAll(t, s, cust, "/wallets/business?cursor=&page_size=1")
	if len(all) != 3 || all[0]["id"] != float64(aID) || all[2]["id"] != float64(bID) {
		t.Errorf("cursor walk %v", all)
	}
	ctDetail(t, s.Do(t, "GET", "/wallets/business?page=3&page_size=2", nil, apitest.Token(cust)), 404, "Invalid page.")
}

func TestContractBusinessWallet(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	biz, _ := s.SignUp(t, "bakery", apitest.Business)
	cust, _ := s.SignUp(t, "gina", apitest.Customer)
	auth := apitest.Token(biz)

	ctDetail(t, s.Do(t, "GET", "/wallets/business/wallet", nil, auth), 404, "Business wallet does not exist")
	before := time.Now().Add(-time.Minute)
	r := s.Do(t, "POST", "/wallets/business/wallet", nil, auth).Check(t, http.StatusCreated)
	w := r.JSON(t)
	ctKeys(t, w, "uuid", "balance", "created_date")
	if w["balance"] != "0.00" {
		t.Errorf("wallet %s", r.Body)
	}
	ctCheckTime(t, w["created_date"], before)
	again := s.Do(t, "POST", "/wallets/business/wallet/", nil, auth).Check(t, http.StatusConflict)
	if d, _ := again.JSON(t)["detail"].(string); d == "" {
		t.Errorf("second wallet: %s", again.Body)
	}
	ctJSONEq(t, s.Do(t, "GET", "/wallets/business/wallet", nil, auth).Check(t, 200), string(r.Body))
	ctJSONEq(t, s.Do(t, "GET", "/wallets/business/wallet/", nil, auth).Check(t, 200), string(r.Body))

	// It is not a customer's wallet: the business cannot use those routes,
	// and customers do not see it.
	for _, m := range []string{"GET", "POST"} {
		ctDetail(t, s.Do(t, m, "/wallets/business/wallet", nil, apitest.Token(cust)), 403, "You do not have permission to perform this action.")
	}
	ctDetail(t, s.Do(t, "GET", ctBusinessTxs, nil, apitest.Token(cust)), 403, "You do not have permission to perform this action.")
	ctDetail(t, s.Do(t, "GET", ctWallets+"/"+w["uuid"].(string), nil, apitest.Token(cust)), 404, "Not found.")
	ctDetail(t, s.Do(t, "PUT", ctWallets+"/"+w["uuid"].(string)+"/deposit", map[string]any{"amount": "5.00"}, apitest.Token(cust)), 404, "Not found.")
	s.Do(t, "GET", "/wallets/business/wallet", nil).Check(t, 401)
}

func TestContractDebit(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "hugo", apitest.Customer)
	shop, shopID := s.SignUp(t, "shop", apitest.Business)
	rival, _ := s.SignUp(t, "rival", apitest.Business)
	poor, poorID := s.SignUp(t, "poor", apitest.Business) // no wallet
	sw := s.NewBusinessWallet(t, shop)
	rw := s.NewBusinessWallet(t, rival)
	w := s.NewWallet(t, cust)
	s.Deposit(t, cust, w, "100.00")
	as := apitest.Token(shop)

	balances := func(cb, sb string) {
		t.Helper()
		if got := ctBalance(t, s, cust, w); got != cb {
			t.Errorf("customer's balance %s, want %s", got, cb)
		}
		if got := ctBusinessBalance(t, s, shop); got != sb {
			t.Errorf("shop's balance %s, want %s", got, sb)
		}
	}

	// PUT and PATCH both collect.
	c1 := s.Charge(t, cust, shopID, w, "30.00")
	r := s.Do(t, "PUT", ctDebit(c1), nil, as).Check(t, 200)
	tx := r.JSON(t)
	ctKeys(t, tx, "uuid", "amount", "description", "status", "type", "business", "wallet", "created_date")
	if tx["uuid"] != c1 || tx["status"] != float64(2) || tx["type"] != float64(2) || tx["amount"] != "30.00" ||
		tx["business"] != float64(shopID) || tx["wallet"] != w || tx["description"] != "apitest charge" {
		t.Errorf("debited %s", r.Body)
	}
	balances("70.00", "30.00")
	c2 := s.Charge(t, cust, shopID, w, "20.00")
	s.Do(t, "PATCH", ctDebit(c2)+"/", nil, as).Check(t, 200)
	balances("50.00", "50.00")

	// Accepted charges are never collected again.
	for _, m := range []string{"PUT", "PATCH"} {
		ctDetail(t, s.Do(t, m, ctDebit(c1), nil, as), 409, "Transaction already processed")
	}
	balances("50.00", "50.00")

	// Another business's charge, an unknown one: 404, nothing moves.
	c3 := s.Charge(t, cust, shopID, w, "80.00")
	ctDetail(t, s.Do(t, "PUT", ctDebit(c3), nil, apitest.Token(rival)), 404, "Not found.")
	ctDetail(t, s.Do(t, "PUT", ctDebit(c1), nil, apitest.Token(rival)), 404, "Not found.")
	ctDetail(t, s.Do(t, "PUT", ctDebit(uuid.NewString()), nil, as), 404, "Not found.")
	// A customer's own deposit is not a charge of anyone's.
	dep := ctAll(t, s, cust, ctWallets+"/"+w+"/transactions?type=1")[0]["uuid"].(string)
	ctDetail(t, s.Do(t, "PUT", ctDebit(dep), nil, as), 404, "Not found.")
	// Customers do not debit.
	ctDetail(t, s.Do(t, "PUT", ctDebit(c3), nil, apitest.Token(cust)), 403, "You do not have permission to perform this action.")
	balances("50.00", "50.00")
	if b := ctBusinessBalance(t, s, rival); b != "0.00" {
		t.Errorf("rival's balance %s", b)
	}

	// Too little money: the charge is rejected (and that sticks), nothing moves.
	ctDetail(t, s.Do(t, "PATCH", ctDebit(c3), nil, as), 409, "Balance can't be negative")
	balances("50.00", "50.00")
	statusOf := func(token, path, id string) float64 {
		t.Helper()
		for _, it := range ctAll(t, s, token, path) {
			if it["uuid"] == id {
				return it["status"].(float64)
			}
		}
		t.Errorf("%s not in %s", id, path)
		return 0
	}
	if st := statusOf(shop, ctBusinessTxs, c3); st != 3 {
		t.Errorf("rejected charge in the shop's list: status %v", st)
	}
	if st := statusOf(cust, ctCharges(shopID), c3); st != 3 {
		t.Errorf("rejected charge in the customer's list: status %v", st)
	}
	if st := statusOf(cust, ctWallets+"/"+w+"/transactions", c3); st != 3 {
		t.Errorf("rejected charge in the wallet's list: status %v", st)
	}
	if rej := ctAll(t, s, shop, ctBusinessTxs+"?status=3"); len(rej) != 1 || rej[0]["uuid"] != c3 {
		t.Errorf("rejected charges: %v", rej)
	}
	// Rejected again while still short.
	ctDetail(t, s.Do(t, "PUT", ctDebit(c3), nil, as), 409, "Balance can't be negative")

	// With funds, a rejected charge is collected.
	s.Deposit(t, cust, w, "40.00")
	r = s.Do(t, "PUT", ctDebit(c3), nil, as).Check(t, 200)
	if st := r.JSON(t)["status"]; st != float64(2) {
		t.Errorf("collected rejected charge: %s", r.Body)
	}
	balances("10.00", "130.00")
	ctDetail(t, s.Do(t, "PUT", ctDebit(c3), nil, as), 409, "Transaction already processed")

	// No business wallet yet: 409, the charge stays pending, nothing moves.
	c4 := s.Charge(t, cust, poorID, w, "5.00")
	ctDetail(t, s.Do(t, "PUT", ctDebit(c4), nil, apitest.Token(poor)), 409, "Business wallet does not exist")
	ctDetail(t, s.Do(t, "PATCH", ctDebit(c4), nil, apitest.Token(poor)), 409, "Business wallet does not exist")
	if st := statusOf(poor, ctBusinessTxs, c4); st != 1 {
		t.Errorf("charge at a business without a wallet: status %v", st)
	}
	balances("10.00", "130.00")
	// Once it has one, the charge is collected.
	pw := s.NewBusinessWallet(t, poor)
	s.Do(t, "PUT", ctDebit(c4), nil, apitest.Token(poor)).Check(t, 200)
	balances("5.00", "130.00")
	if b := ctBusinessBalance(t, s, poor); b != "5.00" {
		t.Errorf("poor's balance %s", b)
	}

	// The shop's list: only charges made at the shop.
	list := ctAll(t, s, shop, ctBusinessTxs)
	if len(list) != 3 || list[0]["uuid"] != c3 || list[1]["uuid"] != c2 || list[2]["uuid"] != c1 {
		t.Errorf("shop's transactions %v", list)
	}
	for _, it := range list {
		if it["status"] != float64(2) || it["business"] != float64(shopID) {
			t.Errorf("shop's transaction %v", it)
		}
	}
	if l := ctAll(t, s, rival, ctBusinessTxs); len(l) != 0 {
		t.Errorf("rival's transactions %v", l)
	}

	// Money is conserved, every balance is its ledger.
	total := ctLedger(t, s, w) + ctLedger(t, s, sw) + ctLedger(t, s, rw) + ctLedger(t, s, pw)
	if total.String() != "140.00" {
		t.Errorf("total money %s, want the 140.00 deposited", total)
	}
}
