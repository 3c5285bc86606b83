package contract_test

// Contract tests of the lists (API.md, "Pagination"): page numbers with
// absolute links, page sizes, ordering, filters and cursor paging.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"wallets/internal/apitest"
)

// ctUUIDs lists the uuids of items.
func ctUUIDs(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["uuid"].(string)
	}
	return out
}

func ctEqualIDs(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d items, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: item %d is %s, want %s", what, i, got[i], want[i])
			return
		}
	}
}

// ctNewestFirst checks items are ordered by created_date, then uuid, both
// descending, and appear once each.
func ctNewestFirst(t testing.TB, what string, items []map[string]any) {
	t.Helper()
	seen := map[string]bool{}
	for i, it := range items {
		id := it["uuid"].(string)
		if seen[id] {
			t.Errorf("%s: %s twice", what, id)
		}
		seen[id] = true
		if i == 0 {
			continue
		}
		prev := items[i-1]
		pt, _ := time.Parse(time.RFC3339Nano, prev["created_date"].(string))
		ct, _ := time.Parse(time.RFC3339Nano, it["created_date"].(string))
		if ct.After(pt) || (ct.Equal(pt) && id > prev["uuid"].(string)) {
			t.Errorf("%s: item %d (%s %s) out of order after (%s %s)", what, i, it["created_date"], id, prev["created_date"], prev["uuid"])
		}
	}
}

func TestContractListPaging(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "iris", apitest.Customer)
	auth := apitest.Token(token)
	w := s.NewWallet(t, token)
	for i := 1; i <= 45; i++ {
		s.Deposit(t, token, w, strconv.Itoa(i)+".00")
	}
	base := ctWallets + "/" + w + "/transactions"
	abs := s.URL + "/api/v1" + base

	// Page numbers: 20 a page, absolute links from the request's host and path.
	p1 := ctGetPage(t, s, token, base)
	if p1.Count == nil || *p1.Count != 45 || len(p1.Results) != 20 || p1.Previous != nil || p1.Next == nil || *p1.Next != abs+"?page=2" {
		t.Fatalf("page 1: count %v next %v previous %v, %d results", p1.Count, p1.Next, p1.Previous, len(p1.Results))
	}
	p2 := ctGetPage(t, s, token, *p1.Next)
	if *p2.Count != 45 || len(p2.Results) != 20 || p2.Next == nil || *p2.Next != abs+"?page=3" || p2.Previous == nil {
		t.Fatalf("page 2: next %v previous %v, %d results", p2.Next, p2.Previous, len(p2.Results))
	}
	p3 := ctGetPage(t, s, token, *p2.Next)
	if len(p3.Results) != 5 || p3.Next != nil || p3.Previous == nil || *p3.Previous != abs+"?page=2" {
		t.Fatalf("page 3: next %v previous %v, %d results", p3.Next, p3.Previous, len(p3.Results))
	}
	// previous links lead back to the same pages.
	ctEqualIDs(t, "page 3's previous", ctUUIDs(ctGetPage(t, s, token, *p3.Previous).Results), ctUUIDs(p2.Results))
	ctEqualIDs(t, "page 2's previous", ctUUIDs(ctGetPage(t, s, token, *p2.Previous).Results), ctUUIDs(p1.Results))
	all := append(append(append([]map[string]any{}, p1.Results...), p2.Results...), p3.Results...)
	ctNewestFirst(t, "pages", all)
	for i, it := range all {
		if want := strconv.Itoa(45-i) + ".00"; it["amount"] != want {
			t.Fatalf("item %d: amount %v, want %s (newest first)", i, it["amount"], want)
		}
	}
	ids := ctUUIDs(all)
	ctEqualIDs(t, "page=last", ctUUIDs(ctGetPage(t, s, token, base+"?page=last").Results), ids[40:])
	ctEqualIDs(t, "empty page is page 1", ctUUIDs(ctGetPage(t, s, token, base+"?page=").Results), ids[:20])
	ctEqualIDs(t, "trailing slash", ctUUIDs(ctGetPage(t, s, token, base+"/?page=2").Results), ids[20:40])

	// Out of range or not a page number: 404 Invalid page.
	for _, p := range []string{"4", "0", "-1", "abc", "1.5", "99999999999999999999", "2e1", "9223372036854775807", "461168601842738792"} {
		ctDetail(t, s.Do(t, "GET", base+"?page="+p, nil, auth), 404, "Invalid page.")
	}
	ctDetail(t, s.Do(t, "GET", base+"?page=10&page_size=5", nil, auth), 404, "Invalid page.")

	// page_size, kept in the links; invalid sizes fall back to 20.
	p := ctGetPage(t, s, token, base+"?page_size=7")
	if len(p.Results) != 7 || p.Next == nil || *p.Next != abs+"?page=2&page_size=7" {
		t.Errorf("page_size=7: %d results, next %v", len(p.Results), p.Next)
	}
	ctEqualIDs(t, "page_size=7 walk", ctUUIDs(ctAll(t, s, token, base+"?page_size=7")), ids)
	ctEqualIDs(t, "page_size=100", ctUUIDs(ctGetPage(t, s, token, base+"?page_size=100").Results), ids)
	for _, size := range []string{"0", "-3", "abc", ""} {
		if p := ctGetPage(t, s, token, base+"?page_size="+size); len(p.Results) != 20 {
			t.Errorf("page_size=%s: %d results", size, len(p.Results))
		}
	}

	// Cursors: ?cursor= starts, next goes through everything once, in order.
	c1 := ctGetPage(t, s, token, base+"?cursor=")
	if len(c1.Results) != 20 || c1.Previous != nil || c1.Next == nil || !strings.HasPrefix(*c1.Next, abs+"?cursor=") {
		t.Fatalf("cursor page 1: next %v previous %v, %d results", c1.Next, c1.Previous, len(c1.Results))
	}
	if c1.Count != nil && *c1.Count != 45 {
		t.Errorf("cursor page count %d", *c1.Count)
	}
	ctEqualIDs(t, "cursor page 1", ctUUIDs(c1.Results), ids[:20])
	c2 := ctGetPage(t, s, token, *c1.Next)
	c3 := ctGetPage(t, s, token, *c2.Next)
	if c3.Next != nil || len(c3.Results) != 5 || c2.Previous == nil || c3.Previous == nil {
		t.Fatalf("cursor pages 2 and 3: %+v %+v", c2, c3)
	}
	ctEqualIDs(t, "cursor walk", ctUUIDs(ctAll(t, s, token, base+"?cursor=")), ids)
	ctEqualIDs(t, "cursor walk, page_size=6", ctUUIDs(ctAll(t, s, token, base+"?cursor=&page_size=6")), ids)
	// previous goes back, page by page, to the start.
	b2 := ctGetPage(t, s, token, *c3.Previous)
	ctEqualIDs(t, "back to page 2", ctUUIDs(b2.Results), ids[20:40])
	if b2.Previous == nil || b2.Next == nil {
		t.Fatalf("page 2 reached backwards: %+v", b2)
	}
	ctEqualIDs(t, "forward again", ctUUIDs(ctGetPage(t, s, token, *b2.Next).Results), ids[40:])
	b1 := ctGetPage(t, s, token, *b2.Previous)
	ctEqualIDs(t, "back to page 1", ctUUIDs(b1.Results), ids[:20])
	if b1.Previous != nil {
		t.Errorf("page 1 reached backwards has a previous link %s", *b1.Previous)
	}

	// New items at the head do not disturb a walk in progress.
	w1 := ctGetPage(t, s, token, base+"?cursor=&page_size=10")
	for i := 0; i < 5; i++ {
		s.Deposit(t, token, w, "0.0"+strconv.Itoa(i+1))
	}
	walked := ctUUIDs(w1.Results)
	rest := ctAll(t, s, token, *w1.Next)
	walked = append(walked, ctUUIDs(rest)...)
	ctEqualIDs(t, "walk with inserts", walked, ids)
	// Going back from the second page shows the first, then the new items.
	w2 := ctGetPage(t, s, token, *w1.Next)
	back := ctGetPage(t, s, token, *w2.Previous)
	ctEqualIDs(t, "back after inserts", ctUUIDs(back.Results), ids[:10])
	if back.Previous == nil {
		t.Fatal("no way back to the new items")
	}
	fresh := ctGetPage(t, s, token, *back.Previous)
	if len(fresh.Results) != 5 || fresh.Results[0]["amount"] != "0.05" || fresh.Results[4]["amount"] != "0.01" || fresh.Previous != nil {
		t.Errorf("new items: %v, previous %v", fresh.Results, fresh.Previous)
	}
	if fresh.Next == nil {
		t.Error("no next from the new items")
	} else {
		ctEqualIDs(t, "from the new items forward", ctUUIDs(ctGetPage(t, s, token, *fresh.Next).Results), ids[:10])
	}

	// Forged, tampered and garbage cursors: 400, never 500.
	good := (*c1.Next)[strings.Index(*c1.Next, "cursor=")+len("cursor="):]
	if i := strings.IndexByte(good, '&'); i >= 0 {
		good = good[:i]
	}
	good, _ = url.QueryUnescape(good)
	payload, sig, _ := strings.Cut(good, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	dirCursor := ""
	if d := ctGetPage(t, s, token, "/wallets/business?cursor=&page_size=1"); d.Next != nil {
		dirCursor = *d.Next
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"k":"t","t":1,"u":"00000000-0000-0000-0000-000000000000"}`))
	bad := []string{
		"garbage", "abc.def", ".", "..", payload, payload + ".", "." + sig, flip(payload, 3) + "." + sig,
		payload + "." + flip(sig, 2), payload[:len(payload)-2] + "." + sig, payload + "." + sig + "x",
		forged + "." + sig, forged + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 16)),
		strings.Repeat("A", 10000) + "." + sig, "€€€", "%00", "null", "{}", good + good,
		// The last character of each part also carries padding bits: any
		// other spelling of it is a tampered cursor too.
		payload + "." + lastCharVariant(sig), lastCharVariant(payload) + "." + sig,
	}
	for _, c := range bad {
		r := s.Do(t, "GET", base+"?cursor="+url.QueryEscape(c), nil, auth)
		if r.Status != 400 {
			t.Errorf("cursor %.40q: %s, want 400", c, r)
		}
	}
	if dirCursor != "" {
		// The business directory's cursors are not transaction cursors.
		u, _ := url.Parse(dirCursor)
		r := s.Do(t, "GET", base+"?cursor="+url.QueryEscape(u.Query().Get("cursor")), nil, auth)
		if r.Status != 400 {
			t.Errorf("directory cursor on a transaction list: %s", r)
		}
	}
	// The same cursor, intact, still works.
	ctEqualIDs(t, "intact cursor", ctUUIDs(ctGetPage(t, s, token, base+"?cursor="+url.QueryEscape(good)).Results), ids[20:40])

	// Another customer cannot page through this wallet with a cursor.
	other, _ := s.SignUp(t, "jon", apitest.Customer)
	ctDetail(t, s.Do(t, "GET", base+"?cursor="+url.QueryEscape(good), nil, apitest.Token(other)), 404, "Not found.")
}

func TestContractWalletListPaging(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "kai", apitest.Customer)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append([]string{s.NewWallet(t, token)}, ids...)
	}
	ctEqualIDs(t, "wallets", ctUUIDs(ctAll(t, s, token, ctWallets)), ids)
	ctEqualIDs(t, "wallets by 2", ctUUIDs(ctAll(t, s, token, ctWallets+"?page_size=2")), ids)
	ctEqualIDs(t, "wallets by cursor", ctUUIDs(ctAll(t, s, token, ctWallets+"?cursor=&page_size=2")), ids)
	p := ctGetPage(t, s, token, ctWallets+"?page_size=2&page=3")
	if len(p.Results) != 1 || p.Next != nil || p.Previous == nil || *p.Previous != s.URL+"/api/v1"+ctWallets+"?page=2&page_size=2" {
		t.Errorf("last page of wallets %+v", p)
	}
	ctDetail(t, s.Do(t, "GET", ctWallets+"?page=2", nil, apitest.Token(token)), 404, "Invalid page.")
	// An empty list's first page is a page, not a 404.
	empty, _ := s.SignUp(t, "lea", apitest.Customer)
	ctJSONEq(t, s.Do(t, "GET", ctWallets+"?page=1", nil, apitest.Token(empty)).Check(t, 200),
		`{"count": 0, "next": null, "previous": null, "results": []}`)
	r := ctGetPage(t, s, empty, ctWallets+"?cursor=")
	if len(r.Results) != 0 || r.Next != nil || r.Previous != nil {
		t.Errorf("empty cursor page %+v", r)
	}
}

func TestContractListOrderAndCap(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, userID := s.SignUp(t, "mia", apitest.Customer)
	w := s.NewWallet(t, token)
	pool := ctPool(t, s)
	// 60 transactions sharing one created_at, 70 with distinct ones around
	// it: ties must be broken stably (by uuid) in every way of paging.
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	_, err := pool.Exec(context.Background(), `
		INSERT INTO transactions (uuid, wallet_id, customer_id, amount, description, status, type, created_at)
		SELECT gen_random_uuid(), $1::uuid, $2::bigint, 1.00, 'tie ' || i, 2, 1, $3::timestamptz FROM generate_series(1, 60) i
		UNION ALL
		SELECT gen_random_uuid(), $1::uuid, $2::bigint, 2.00, 'spread ' || i, 2, 1, $3::timestamptz + (i - 35) * interval '1 second'
		  FROM generate_series(1, 70) i`, w, userID, at)
	ctMust(t, err, "insert transactions")
	base := ctWallets + "/" + w + "/transactions"

	p := ctGetPage(t, s, token, base+"?page_size=1000")
	if *p.Count != 130 || len(p.Results) != 100 || p.Next == nil || !strings.Contains(*p.Next, "page_size=1000") {
		t.Fatalf("page_size=1000: count %v, %d results, next %v", *p.Count, len(p.Results), p.Next)
	}
	if r := ctGetPage(t, s, token, *p.Next); len(r.Results) != 30 || r.Next != nil {
		t.Errorf("page 2 of 100: %d results", len(r.Results))
	}
	all := ctAll(t, s, token, base+"?page_size=100")
	ctNewestFirst(t, "page_size=100", all)
	ids := ctUUIDs(all)
	if len(ids) != 130 {
		t.Fatalf("%d items", len(ids))
	}
	for _, size := range []string{"7", "20", "60", "59"} {
		ctEqualIDs(t, "pages of "+size, ctUUIDs(ctAll(t, s, token, base+"?page_size="+size)), ids)
		ctEqualIDs(t, "cursor pages of "+size, ctUUIDs(ctAll(t, s, token, base+"?cursor=&page_size="+size)), ids)
	}
	// Repeating a request gives the same page.
	for i := 0; i < 3; i++ {
		ctEqualIDs(t, "page 5 again", ctUUIDs(ctGetPage(t, s, token, base+"?page=5&page_size=9").Results), ids[36:45])
	}
	// Walking backwards from the end gives the same order.
	var back []string
	path := base + "?cursor=&page_size=9"
	for {
		pg := ctGetPage(t, s, token, path)
		if pg.Next == nil {
			back = ctUUIDs(pg.Results)
			for pg.Previous != nil {
				pg = ctGetPage(t, s, token, *pg.Previous)
				back = append(ctUUIDs(pg.Results), back...)
			}
			break
		}
		path = *pg.Next
	}
	ctEqualIDs(t, "backward walk", back, ids)
}

func TestContractListFilters(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	cust, _ := s.SignUp(t, "nora", apitest.Customer)
	biz, bizID := s.SignUp(t, "shop", apitest.Business)
	s.NewBusinessWallet(t, biz)
	auth := apitest.Token(cust)
	w := s.NewWallet(t, cust)
	base := ctWallets + "/" + w + "/transactions"

	// Batch 1: three deposits and a withdrawal.
	for _, a := range []string{"10.00", "20.00", "30.00"} {
		s.Deposit(t, cust, w, a)
	}
	s.Do(t, "PUT", ctWallets+"/"+w+"/retire", map[string]any{"amount": "-5.00"}, auth).Check(t, 200)
	time.Sleep(5 * time.Millisecond)
	// Batch 2: two deposits, and charges pending, accepted and rejected.
	s.Deposit(t, cust, w, "1.00")
	s.Deposit(t, cust, w, "2.00")
	pending := s.Charge(t, cust, bizID, w, "1.00")
	accepted := s.Charge(t, cust, bizID, w, "50.00")
	s.Do(t, "PUT", ctDebit(accepted), nil, apitest.Token(biz)).Check(t, 200)
	rejected := s.Charge(t, cust, bizID, w, "500.00")
	ctDetail(t, s.Do(t, "PUT", ctDebit(rejected), nil, apitest.Token(biz)), 409, "Balance can't be negative")

	all := ctAll(t, s, cust, base)
	if len(all) != 9 {
		t.Fatalf("%d transactions", len(all))
	}
	batch1, batch2 := ctUUIDs(all[5:]), ctUUIDs(all[:5])

	count := func(token, path string) int {
		t.Helper()
		items := ctAll(t, s, token, path)
		if len(items) != ctCount(t, s, token, path) {
			t.Errorf("%s: count disagrees with the items", path)
		}
		return len(items)
	}
	for q, want := range map[string]int{
		"type=1": 5, "type=2": 4, "status=1": 1, "status=2": 7, "status=3": 1, "status=2&type=2": 2,
		"status=1&type=1": 0, "status=": 9, "type=": 9, "status=2&page_size=2": 7,
	} {
		if got := count(cust, base+"?"+q); got != want {
			t.Errorf("wallet transactions ?%s: %d, want %d", q, got, want)
		}
	}
	for _, it := range ctAll(t, s, cust, base+"?type=1&page_size=2") {
		if it["type"] != float64(1) {
			t.Errorf("type=1 over pages gave %v", it)
		}
	}
	for _, it := range ctAll(t, s, cust, base+"?cursor=&status=2&page_size=3") {
		if it["status"] != float64(2) {
			t.Errorf("status=2 over cursor pages gave %v", it)
		}
	}
	for q, want := range map[string][]string{
		"status=1": {pending}, "status=2": {accepted}, "status=3": {rejected}, "type=1": {}, "type=2": {rejected, accepted, pending},
	} {
		ctEqualIDs(t, "business ?"+q, ctUUIDs(ctAll(t, s, biz, ctBusinessTxs+"?"+q)), want)
		ctEqualIDs(t, "charges ?"+q, ctUUIDs(ctAll(t, s, cust, ctCharges(bizID)+"?"+q)), want)
	}

	// Time bounds are inclusive, in any RFC 3339 offset.
	first2 := all[4]["created_date"].(string)
	last1 := all[5]["created_date"].(string)
	t2, _ := time.Parse(time.RFC3339Nano, first2)
	plus2 := t2.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)
	minus5 := t2.In(time.FixedZone("", -5*3600)).Format(time.RFC3339Nano)
	ctEqualIDs(t, "created_after", ctUUIDs(ctAll(t, s, cust, base+"?created_after="+url.QueryEscape(first2))), batch2)
	ctEqualIDs(t, "created_after +02:00", ctUUIDs(ctAll(t, s, cust, base+"?created_after="+url.QueryEscape(plus2))), batch2)
	ctEqualIDs(t, "created_after unescaped +02:00", ctUUIDs(ctAll(t, s, cust, base+"?created_after="+plus2)), batch2)
	ctEqualIDs(t, "created_after -05:00", ctUUIDs(ctAll(t, s, cust, base+"?created_after="+url.QueryEscape(minus5))), batch2)
	ctEqualIDs(t, "created_before", ctUUIDs(ctAll(t, s, cust, base+"?created_before="+url.QueryEscape(last1))), batch1)
	ctEqualIDs(t, "both", ctUUIDs(ctAll(t, s, cust, base+"?created_after="+url.QueryEscape(last1)+"&created_before="+url.QueryEscape(last1))), batch1[:1])
	ctEqualIDs(t, "empty range", ctUUIDs(ctAll(t, s, cust, base+"?created_after="+url.QueryEscape(first2)+"&created_before="+url.QueryEscape(last1))), nil)
	// Filters stay in the links.
	p := ctGetPage(t, s, cust, base+"?page_size=1&created_after="+url.QueryEscape(first2))
	if p.Next == nil || !strings.Contains(*p.Next, "created_after=") {
		t.Errorf("next link lost the filter: %v", p.Next)
	}
	ctEqualIDs(t, "business created_after", ctUUIDs(ctAll(t, s, biz, ctBusinessTxs+"?created_after="+url.QueryEscape(first2))), []string{rejected, accepted, pending})
	ctEqualIDs(t, "business created_before", ctUUIDs(ctAll(t, s, biz, ctBusinessTxs+"?created_before="+url.QueryEscape(last1))), nil)

	// Invalid filters: 400 naming the parameter, on every transaction list.
	for _, path := range []string{base, ctBusinessTxs, ctCharges(bizID)} {
		token := cust
		if path == ctBusinessTxs {
			token = biz
		}
		for q, field := range map[string]string{
			"status=4": "status", "status=0": "status", "status=abc": "status", "status=1.0": "status",
			"type=3": "type", "type=x": "type",
			"created_after=yesterday": "created_after", "created_after=2021-13-01T00:00:00Z": "created_after",
			"created_before=2021-04-20T25:00:00Z": "created_before", "created_before=1618912594": "created_before",
			"created_after=" + url.QueryEscape("2021-04-20T09:56:34Z junk"): "created_after",
		} {
			ctFieldError(t, s.Do(t, "GET", path+"?"+q, nil, apitest.Token(token)), field, fmt.Sprintf("%s?%s", path, q))
		}
	}
}

// lastCharVariant changes s's last base64url character. Where that
// character also carries padding bits (len(s)%4 is 2 or 3), it flips the
// lowest of them, which a lenient decoder ignores: the same bytes, spelt
// differently.
func lastCharVariant(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	if len(s)%4 == 0 {
		return s[:len(s)-1] + string(alphabet[(last+1)%64])
	}
	return s[:len(s)-1] + string(alphabet[last^1])
}
