package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"wallets/internal/api"
	"wallets/internal/wallet"
)

const walletsURL = "https://api.example.com/prod/api/v1/wallets/customers/wallets"

// pageOf decodes a list body.
type pageOf struct {
	Count    *int              `json:"count"`
	Next     *string           `json:"next"`
	Previous *string           `json:"previous"`
	Results  []json.RawMessage `json:"results"`
}

func TestEdgeLists(t *testing.T) {
	list := func(query map[string]string) req {
		return req{fn: "wallets-list", caller: customer(customerID), query: query}
	}

	t.Run("first page with a next link", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.ListWalletsFn = func(ctx context.Context, owner int64, p wallet.Page) (wallet.Listing[wallet.Wallet], error) {
			if owner != customerID || !reflect.DeepEqual(p, wallet.Page{Limit: api.DefaultPageSize}) {
				t.Errorf("ListWallets(%d, %+v)", owner, p)
			}
			return wallet.Listing[wallet.Wallet]{Items: []wallet.Wallet{customerWallet(100)}, Total: 21, More: true}, nil
		}
		resp := e.do(list(nil))
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, `{"count":21,"next":"`+walletsURL+`?page=2","previous":null,"results":[`+walletJSON("1.00")+`]}`)
	})

	t.Run("page 2 of 5 with a previous link", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.ListWalletsFn = func(ctx context.Context, owner int64, p wallet.Page) (wallet.Listing[wallet.Wallet], error) {
			if !reflect.DeepEqual(p, wallet.Page{Limit: 5, Offset: 5}) {
				t.Errorf("page %+v", p)
			}
			return wallet.Listing[wallet.Wallet]{Items: []wallet.Wallet{customerWallet(0)}, Total: 6}, nil
		}
		resp := e.do(list(map[string]string{"page": "2", "page_size": "5"}))
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, `{"count":6,"next":null,"previous":"`+walletsURL+`?page=1&page_size=5","results":[`+walletJSON("0.00")+`]}`)
	})

	t.Run("page size is capped", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.ListWalletsFn = func(ctx context.Context, owner int64, p wallet.Page) (wallet.Listing[wallet.Wallet], error) {
			if p.Limit != api.MaxPageSize {
				t.Errorf("limit %d, want %d", p.Limit, api.MaxPageSize)
			}
			return wallet.Listing[wallet.Wallet]{}, nil
		}
		checkBody(t, e.do(list(map[string]string{"page_size": "1000"})), `{"count":0,"next":null,"previous":null,"results":[]}`)
	})

	for _, page := range []string{"0", "-1", "abc", "99999999999999999999"} {
		t.Run("page "+page+" is 404 Invalid page", func(t *testing.T) {
			e := newEdge(t) // ListWallets unset
			resp := e.do(list(map[string]string{"page": page}))
			checkStatus(t, resp, http.StatusNotFound)
			checkBody(t, resp, `{"detail":"Invalid page."}`)
		})
	}

	t.Run("a page past the end is 404 Invalid page", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.ListWalletsFn = func(context.Context, int64, wallet.Page) (wallet.Listing[wallet.Wallet], error) {
			return wallet.Listing[wallet.Wallet]{Total: 3}, nil
		}
		resp := e.do(list(map[string]string{"page": "2"}))
		checkStatus(t, resp, http.StatusNotFound)
		checkBody(t, resp, `{"detail":"Invalid page."}`)
	})

	t.Run("cursors go round and refuse forgeries", func(t *testing.T) {
		e := newEdge(t)
		var got []wallet.Page
		e.wallets.ListWalletsFn = func(ctx context.Context, owner int64, p wallet.Page) (wallet.Listing[wallet.Wallet], error) {
			got = append(got, p)
			return wallet.Listing[wallet.Wallet]{Items: []wallet.Wallet{customerWallet(0)}, Total: -1, More: true}, nil
		}
		resp := e.do(list(map[string]string{"cursor": ""}))
		checkStatus(t, resp, http.StatusOK)
		var body pageOf
		decode(t, resp.Body, &body)
		if body.Count != nil || body.Previous != nil || body.Next == nil {
			t.Fatalf("first cursor page %s", resp.Body)
		}
		next, err := url.Parse(*body.Next)
		if err != nil {
			t.Fatal(err)
		}
		cursor := next.Query().Get("cursor")
		checkStatus(t, e.do(list(map[string]string{"cursor": cursor})), http.StatusOK)
		if len(got) != 2 || got[0].Cursor == nil || *got[0].Cursor != (wallet.Cursor{}) || got[1].Cursor == nil ||
			!got[1].Cursor.Created.Equal(created.Truncate(time.Microsecond)) || got[1].Cursor.UUID != walletID || got[1].Cursor.Backward {
			t.Fatalf("pages asked %+v", got)
		}

		other := newEdge(t) // another signing key
		bad := []string{cursor + "x", cursor[:len(cursor)-2] + "AA", "e30.AAAA", "nodot"}
		for _, c := range bad {
			for _, s := range []*edge{e, other} {
				n := len(got)
				resp := s.do(list(map[string]string{"cursor": c}))
				checkStatus(t, resp, http.StatusBadRequest)
				checkBody(t, resp, `{"detail":"Invalid cursor"}`)
				if len(got) != n {
					t.Errorf("cursor %q reached the service", c)
				}
			}
		}
		// A cursor of another order (the business directory's) is refused.
		e.wallets.ListBusinessesFn = func(context.Context, wallet.Page) (wallet.Listing[wallet.Business], error) {
			return wallet.Listing[wallet.Business]{Items: []wallet.Business{{ID: 4, Name: "Media Market"}}, Total: -1, More: true}, nil
		}
		resp = e.do(req{fn: "business-list", caller: customer(customerID), query: map[string]string{"cursor": ""}})
		decode(t, resp.Body, &body)
		next, _ = url.Parse(*body.Next)
		resp = e.do(list(map[string]string{"cursor": next.Query().Get("cursor")}))
		checkStatus(t, resp, http.StatusBadRequest)
	})

	t.Run("transactions of someone else's wallet: 404 before the list", func(t *testing.T) {
		e := newEdge(t) // ListTransactions unset
		e.wallets.WalletFn = ownWallet
		resp := e.do(req{fn: "wallets-transactions", params: map[string]string{"uuid": uuid.NewString()}, caller: customer(customerID)})
		checkStatus(t, resp, http.StatusNotFound)
		checkBody(t, resp, bodyNotFound)
	})

	t.Run("transaction filters are checked", func(t *testing.T) {
		e := newEdge(t)
		resp := e.do(req{fn: "wallets-transactions", params: walletParams, caller: customer(customerID),
			query: map[string]string{"status": "4", "type": "x", "created_after": "yesterday"}})
		checkStatus(t, resp, http.StatusBadRequest)
		checkBody(t, resp, `{"created_after":["Enter a valid date/time."],`+
			`"status":["Select a valid choice. 4 is not one of the available choices."],`+
			`"type":["Select a valid choice. x is not one of the available choices."]}`)
	})

	t.Run("charges at a business: the caller's, filtered", func(t *testing.T) {
		e := newEdge(t)
		e.wallets.ActiveBusinessFn = func(ctx context.Context, id int64) (wallet.Business, error) { return wallet.Business{ID: id}, nil }
		e.wallets.ListTransactionsFn = func(ctx context.Context, scope wallet.TransactionScope, f wallet.TransactionFilter, p wallet.Page) (wallet.Listing[wallet.Transaction], error) {
			if scope.Wallet != nil || scope.Business == nil || *scope.Business != businessID || scope.Customer == nil || *scope.Customer != customerID {
				t.Errorf("scope %+v", scope)
			}
			after := time.Date(2021, 4, 20, 0, 0, 0, 0, time.FixedZone("", 2*60*60))
			if f.Status != wallet.Pending || f.Type != wallet.DebitType || f.CreatedAfter == nil || !f.CreatedAfter.Equal(after) || f.CreatedBefore != nil {
				t.Errorf("filter %+v", f)
			}
			return wallet.Listing[wallet.Transaction]{Items: []wallet.Transaction{charge(wallet.Pending)}, Total: 1}, nil
		}
		// An unescaped "+" of the offset arrives as a space.
		resp := e.do(req{fn: "charges-list", params: map[string]string{"business_id": "9"}, caller: customer(customerID),
			query: map[string]string{"status": "1", "type": "2", "created_after": "2021-04-20T00:00:00 02:00"}})
		checkStatus(t, resp, http.StatusOK)
		checkBody(t, resp, `{"count":1,"next":null,"previous":null,"results":[`+chargeJSON(1)+`]}`)
	})
}
