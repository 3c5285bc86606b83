package contract_test

// Concurrent money movements over HTTP (API.md, "Money": "money is never
// created or lost by ... two requests racing"). Run with -race.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"wallets/internal/apitest"
	"wallets/internal/money"
)

// ctRaceWorkers bounds the goroutines sending requests at once: more than
// the pool's 20 connections, so requests queue for them too.
const ctRaceWorkers = 64

// ctRace runs n calls of f, at most ctRaceWorkers at a time, released
// together, and returns their results in order.
func ctRace(n int, f func(i int) *apitest.Result) []*apitest.Result {
	out := make([]*apitest.Result, n)
	start := make(chan struct{})
	sem := make(chan struct{}, ctRaceWorkers)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// ctAmount parses a two-decimal amount of a response.
func ctAmount(t testing.TB, v any) money.Amount {
	t.Helper()
	s, _ := v.(string)
	a, err := money.Parse(s)
	if err != nil || !ctTwoDecimals(s) {
		t.Fatalf("amount %v: %v", v, err)
	}
	return a
}

const ctInProgress = "A request with this Idempotency-Key is still in progress."

func ctDetailOf(r *apitest.Result) string {
	var d struct{ Detail string }
	_ = json.Unmarshal(r.Body, &d)
	return d.Detail
}

func TestContractRaceDepositsAndRetires(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "uma", apitest.Customer)
	w := s.NewWallet(t, cust)
	s.Deposit(t, cust, w, "10.00")

	// 40 deposits of 1.00..4.00 and 40 withdrawals of 3.00, interleaved:
	// some withdrawals must find too little money.
	const n = 80
	amounts := make([]money.Amount, n)
	for i := range amounts {
		if i%2 == 0 {
			amounts[i] = money.Amount(100 * (1 + i%4))
		} else {
			amounts[i] = -300
		}
	}
	results := ctRace(n, func(i int) *apitest.Result {
		path, method := ctWallets+"/"+w+"/deposit", "PUT"
		if amounts[i] < 0 {
			path = ctWallets + "/" + w + "/retire"
		}
		if i%3 == 0 {
			method = "PATCH"
		}
		return s.Do(t, method, path, map[string]any{"amount": amounts[i].String(), "description": fmt.Sprint("race ", i)}, apitest.Token(cust))
	})
	want := money.Amount(1000)
	accepted, refused := 0, 0
	for i, r := range results {
		switch {
		case r.Status == 200:
			accepted++
			want += amounts[i]
			if b := ctAmount(t, r.JSON(t)["balance"]); b < 0 {
				t.Errorf("answered a negative balance %s", b)
			}
		case r.Status == 409 && amounts[i] < 0 && ctDetailOf(r) == "Balance can't be negative":
			refused++
		default:
			t.Errorf("movement %d (%s): %s", i, amounts[i], r)
		}
	}
	t.Logf("%d accepted, %d refused", accepted, refused)
	if got := ctBalance(t, s, cust, w); got != want.String() {
		t.Errorf("balance %s, want %s (the sum of the accepted movements)", got, want)
	}
	if got := ctLedger(t, s, w); got != want {
		t.Errorf("ledger %s, want %s", got, want)
	}
	if cnt := ctCount(t, s, cust, ctWallets+"/"+w+"/transactions"); cnt != accepted+1 {
		t.Errorf("%d transactions, want %d", cnt, accepted+1)
	}
}

func TestContractRaceDebitOneCharge(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "vera", apitest.Customer)
	biz, bizID := s.SignUp(t, "shop", apitest.Business)
	bw := s.NewBusinessWallet(t, biz)
	w := s.NewWallet(t, cust)
	s.Deposit(t, cust, w, "100.00")
	charge := s.Charge(t, cust, bizID, w, "10.00")

	results := ctRace(60, func(i int) *apitest.Result {
		method := "PUT"
		if i%2 == 1 {
			method = "PATCH"
		}
		return s.Do(t, method, ctDebit(charge), nil, apitest.Token(biz))
	})
	ok := 0
	for i, r := range results {
		switch {
		case r.Status == 200:
			ok++
			if st := r.JSON(t)["status"]; st != float64(2) {
				t.Errorf("debit %d: %s", i, r)
			}
		case r.Status == 409 && ctDetailOf(r) == "Transaction already processed":
		default:
			t.Errorf("debit %d: %s", i, r)
		}
	}
	if ok != 1 {
		t.Errorf("%d debits succeeded, want exactly 1", ok)
	}
	if b := ctBalance(t, s, cust, w); b != "90.00" {
		t.Errorf("customer's balance %s, want 90.00", b)
	}
	if b := ctBusinessBalance(t, s, biz); b != "10.00" {
		t.Errorf("business's balance %s, want 10.00", b)
	}
	ctLedger(t, s, w)
	ctLedger(t, s, bw)
}

func TestContractRaceDebitManyCharges(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	c1, _ := s.SignUp(t, "wilma", apitest.Customer)
	c2, _ := s.SignUp(t, "xavi", apitest.Customer)
	b1, b1ID := s.SignUp(t, "shop", apitest.Business)
	b2, b2ID := s.SignUp(t, "mall", apitest.Business)
	bw1, bw2 := s.NewBusinessWallet(t, b1), s.NewBusinessWallet(t, b2)
	w1, w2 := s.NewWallet(t, c1), s.NewWallet(t, c2)
	s.Deposit(t, c1, w1, "100.00") // room for 14 charges of 7.00
	s.Deposit(t, c2, w2, "50.00")  // room for 7

	// 30 charges on each wallet, at either business.
	type charge struct {
		id, biz string
		cust    int
	}
	var charges []charge
	for i := 0; i < 60; i++ {
		tok, w, cust := c1, w1, 1
		if i%2 == 1 {
			tok, w, cust = c2, w2, 2
		}
		biz, bizID := b1, b1ID
		if i%3 == 0 {
			biz, bizID = b2, b2ID
		}
		charges = append(charges, charge{s.Charge(t, tok, bizID, w, "7.00"), biz, cust})
	}
	// A few withdrawals race too.
	results := ctRace(len(charges)+4, func(i int) *apitest.Result {
		if i >= len(charges) {
			return s.Do(t, "PUT", ctWallets+"/"+w1+"/retire", map[string]any{"amount": "-1.00"}, apitest.Token(c1))
		}
		return s.Do(t, "PATCH", ctDebit(charges[i].id), nil, apitest.Token(charges[i].biz))
	})
	accepted := map[int]int{}
	retired := 0
	for i, r := range results {
		if i >= len(charges) {
			if r.Status == 200 {
				retired++
			} else if r.Status != 409 {
				t.Errorf("withdrawal: %s", r)
			}
			continue
		}
		switch {
		case r.Status == 200:
			accepted[charges[i].cust]++
		case r.Status == 409 && ctDetailOf(r) == "Balance can't be negative":
		default:
			t.Errorf("debit %d: %s", i, r)
		}
	}
	t.Logf("accepted %v, %d withdrawals", accepted, retired)
	// Each wallet pays exactly as many charges as its money covers.
	if want := (10000 - 100*retired) / 700; accepted[1] != want {
		t.Errorf("%d charges collected from the first wallet, want %d", accepted[1], want)
	}
	if accepted[2] != 7 {
		t.Errorf("%d charges collected from the second wallet, want 7", accepted[2])
	}
	// Statuses agree with the answers: accepted or rejected, none pending.
	statuses := map[float64]int{}
	for _, b := range []string{b1, b2} {
		for _, it := range ctAll(t, s, b, ctBusinessTxs+"?page_size=100") {
			statuses[it["status"].(float64)]++
		}
	}
	if statuses[2] != accepted[1]+accepted[2] || statuses[3] != 60-statuses[2] || statuses[1] != 0 {
		t.Errorf("charge statuses %v", statuses)
	}
	// Money is conserved across all wallets and each balance is its ledger.
	total := ctLedger(t, s, w1) + ctLedger(t, s, w2) + ctLedger(t, s, bw1) + ctLedger(t, s, bw2)
	if want := money.Amount(15000 - 100*retired); total != want {
		t.Errorf("total money %s, want %s", total, want)
	}
	collected := ctAmount(t, ctBusinessBalance(t, s, b1)) + ctAmount(t, ctBusinessBalance(t, s, b2))
	if want := money.Amount(700 * (accepted[1] + accepted[2])); collected != want {
		t.Errorf("businesses collected %s, want %s", collected, want)
	}
}

func TestContractRaceSameIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "yago", apitest.Customer)
	biz, bizID := s.SignUp(t, "shop", apitest.Business)
	s.NewBusinessWallet(t, biz)
	w := s.NewWallet(t, cust)
	body := map[string]any{"amount": "5.00", "description": "same key"}

	check := func(what string, results []*apitest.Result, okStatus int) {
		t.Helper()
		var first *apitest.Result
		busy := 0
		for _, r := range results {
			switch {
			case r.Status == okStatus:
				if first == nil {
					first = r
				} else if string(r.Body) != string(first.Body) {
					t.Errorf("%s: answers differ: %s and %s", what, r.Body, first.Body)
				}
			case r.Status == http.StatusConflict && ctDetailOf(r) == ctInProgress:
				busy++
			default:
				t.Errorf("%s: %s", what, r)
			}
		}
		t.Logf("%s: %d answered, %d in progress", what, len(results)-busy, busy)
		if first == nil {
			t.Errorf("%s: no request succeeded", what)
		}
	}

	// Deposits.
	results := ctRace(30, func(int) *apitest.Result {
		return s.Do(t, "PUT", ctWallets+"/"+w+"/deposit", body, apitest.Token(cust), apitest.IdempotencyKey("same"))
	})
	check("deposit", results, 200)
	if b := ctBalance(t, s, cust, w); b != "5.00" {
		t.Errorf("balance %s: the deposit ran more than once", b)
	}
	if n := ctCount(t, s, cust, ctWallets+"/"+w+"/transactions"); n != 1 {
		t.Errorf("%d transactions", n)
	}
	// Once settled, every retry is the replay.
	r := s.Do(t, "PUT", ctWallets+"/"+w+"/deposit", body, apitest.Token(cust), apitest.IdempotencyKey("same")).Check(t, 200)
	ctBalanceIs(t, r, "5.00")

	// Charges and their debits.
	charge := map[string]any{"amount": "2.00", "wallet": w}
	results = ctRace(24, func(int) *apitest.Result {
		return s.Do(t, "POST", ctCharges(bizID), charge, apitest.Token(cust), apitest.IdempotencyKey("same-charge"))
	})
	check("charge", results, http.StatusCreated)
	list := ctAll(t, s, cust, ctCharges(bizID))
	if len(list) != 1 {
		t.Fatalf("%d charges from one key", len(list))
	}
	results = ctRace(24, func(int) *apitest.Result {
		return s.Do(t, "PUT", ctDebit(list[0]["uuid"].(string)), nil, apitest.Token(biz), apitest.IdempotencyKey("same-debit"))
	})
	check("debit", results, 200)
	if b := ctBalance(t, s, cust, w); b != "3.00" {
		t.Errorf("balance %s after the debit", b)
	}
	// Wallets.
	results = ctRace(24, func(int) *apitest.Result {
		return s.Do(t, "POST", ctWallets, nil, apitest.Token(cust), apitest.IdempotencyKey("same-wallet"))
	})
	check("wallet", results, http.StatusCreated)
	if n := ctCount(t, s, cust, ctWallets); n != 2 {
		t.Errorf("%d wallets", n)
	}
}
