package api

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wallets/internal/api/cursor"
	"wallets/internal/apperr"
	"wallets/internal/wallet"
)

// Page sizes, as the original's PageNumberPagination had them.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// pageBody is the body of every list.
type pageBody struct {
	Count    *int    `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  any     `json:"results"`
}

// pageRequest is how the caller asked for a page.
type pageRequest struct {
	page   wallet.Page
	number int  // 1-based page number, in page-number mode
	keyset bool // cursor mode (?cursor=, empty for the first page)
	order  cursor.Order
}

var errInvalidPage = apperr.New(apperr.NotFound, "Invalid page.")
var errInvalidCursor = apperr.New(apperr.Invalid, "Invalid cursor")

// pageOf reads ?page=, ?page_size= and ?cursor= for a list in order o.
func (s *Server) pageOf(ctx context.Context, r *Request, o cursor.Order) (pageRequest, error) {
	size := DefaultPageSize
	if v, ok := r.QueryValue("page_size"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			size = min(n, MaxPageSize)
		}
	}
	pr := pageRequest{page: wallet.Page{Limit: size}, number: 1, order: o}
	if c, ok := r.QueryValue("cursor"); ok {
		pr.keyset = true
		cur := &wallet.Cursor{}
		if c != "" {
			var err error
			if cur, err = cursor.Decode(ctx, s.cursors, c, o); err != nil {
				return pr, errInvalidCursor
			}
		}
		pr.page.Cursor = cur
		return pr, nil
	}
	// An empty ?page= is the first page, as in DRF ("page or 1").
	if v, ok := r.QueryValue("page"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if v == "last" {
			n, err = 0, nil // resolved once the count is known
		} else if err != nil || n < 1 || n-1 > math.MaxInt/size {
			// A page whose offset would overflow cannot exist.
			return pr, errInvalidPage
		}
		pr.number = n
	}
	if pr.number > 0 {
		pr.page.Offset = (pr.number - 1) * size
	}
	return pr, nil
}

// listPage runs a list query for the caller's page and renders it. When the
// caller asked for ?page=last, the list is counted first.
func listPage[T, V any](ctx context.Context, s *Server, r *Request, o cursor.Order, fetch func(wallet.Page) (wallet.Listing[T], error), view func(T) V, position func(T) wallet.Cursor) (Response, error) {
	pr, err := s.pageOf(ctx, r, o)
	if err != nil {
		return Response{}, err
	}
	l, err := fetch(pr.page)
	if err != nil {
		return Response{}, err
	}
	if !pr.keyset && pr.number == 0 {
		// ?page=last: the count is known now.
		pr.number = max(1, (l.Total+pr.page.Limit-1)/pr.page.Limit)
		pr.page.Offset = (pr.number - 1) * pr.page.Limit
		if l, err = fetch(pr.page); err != nil {
			return Response{}, err
		}
	}
	results := make([]V, len(l.Items))
	for i, it := range l.Items {
		results[i] = view(it)
	}
	body := pageBody{Results: results}
	if !pr.keyset {
		if pr.number > 1 && len(l.Items) == 0 {
			return Response{}, errInvalidPage
		}
		body.Count = &l.Total
		if l.More {
			body.Next = r.link("page", strconv.Itoa(pr.number+1))
		}
		if pr.number > 1 {
			body.Previous = r.link("page", strconv.Itoa(pr.number-1))
		}
		return ok(body), nil
	}
	cur := pr.page.Cursor
	fromStart := cur.Created.IsZero() && cur.ID == 0
	n := len(l.Items)
	var next, prev *wallet.Cursor
	if n > 0 {
		last, first := position(l.Items[n-1]), position(l.Items[0])
		first.Backward = true
		if (!cur.Backward && l.More) || cur.Backward {
			next = &last
		}
		if (!cur.Backward && !fromStart) || (cur.Backward && l.More) {
			prev = &first
		}
	} else if !fromStart {
		// Past either end: offer the way back.
		back := *cur
		back.Backward = !cur.Backward
		if cur.Backward {
			next = &back
		} else {
			prev = &back
		}
	}
	if next != nil {
		body.Next = r.link("cursor", cursor.Encode(ctx, s.cursors, o, *next))
	}
	if prev != nil {
		body.Previous = r.link("cursor", cursor.Encode(ctx, s.cursors, o, *prev))
	}
	return ok(body), nil
}

// link is the absolute URL of this request with query parameter name set to
// value, built from the request's host and path (API Gateway's
// requestContext.path includes the stage when called on its own domain).
func (r *Request) link(name, value string) *string {
	scheme, _, _ := strings.Cut(strings.ToLower(r.Header("X-Forwarded-Proto")), ",")
	if scheme = strings.TrimSpace(scheme); scheme != "http" && scheme != "https" {
		scheme = "https"
	}
	host := r.Header("Host")
	if host == "" {
		host = r.Event.RequestContext.DomainName
	}
	path := r.Event.RequestContext.Path
	if path == "" {
		path = r.Event.Path
	}
	q := url.Values{}
	for k, vs := range r.Event.MultiValueQueryStringParameters {
		q[k] = append([]string(nil), vs...)
	}
	for k, v := range r.Event.QueryStringParameters {
		if _, ok := q[k]; !ok {
			q[k] = []string{v}
		}
	}
	delete(q, "page")
	delete(q, "cursor")
	q.Set(name, value)
	u := url.URL{Scheme: scheme, Host: host, Path: path, RawQuery: q.Encode()}
	s := u.String()
	return &s
}

// invalidChoice is the message of a query filter's value v that is none of
// its choices (?status=, ?type=), as the original service words it.
func invalidChoice(v string) string {
	return fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", v)
}

// transactionFilter reads the transaction list filters.
func transactionFilter(r *Request) (wallet.TransactionFilter, error) {
	var f wallet.TransactionFilter
	errs := apperr.Fields{}
	choice := func(name string, choices ...int) int {
		v, ok := r.QueryValue(name)
		if !ok || v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		for _, c := range choices {
			if err == nil && n == c {
				return n
			}
		}
		errs.Add(name, invalidChoice(v))
		return 0
	}
	when := func(name string) *time.Time {
		v, ok := r.QueryValue(name)
		if !ok || v == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			// An unescaped "+" of an offset arrives as a space.
			t, err = time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "+", 1))
		}
		if err != nil {
			errs.Add(name, "Enter a valid date/time.")
			return nil
		}
		return &t
	}
	f.Status = wallet.Status(choice("status", 1, 2, 3))
	f.Type = wallet.Type(choice("type", 1, 2))
	f.CreatedAfter = when("created_after")
	f.CreatedBefore = when("created_before")
	return f, errs.Err()
}
