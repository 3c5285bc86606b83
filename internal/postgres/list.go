package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"wallets/internal/wallet"
)

// where is a SQL condition with its arguments, numbered from $1.
type where struct {
	sql  string
	args []any
	// counted, when set, is the scope in transaction_counts that holds the
	// exact number of rows matching sql, so a page-number list need not
	// count them (migrations/00004_transaction_counts.sql).
	counted string
}

// and appends a condition; its "%s" stands for arg's placeholder.
func (w *where) and(cond string, arg any) {
	w.sql += " AND " + fmt.Sprintf(cond, w.arg(arg))
}

func (w *where) arg(a any) string {
	w.args = append(w.args, a)
	return "$" + strconv.Itoa(len(w.args))
}

// listNewestFirst serves a page of table ordered by (created_at, uuid)
// descending: by offset with a total count, or by keyset from a cursor. Each
// list the API serves has an index in exactly this order.
func listNewestFirst[T any](ctx context.Context, q querier, table, columns string, w where, p wallet.Page, scan func(pgx.Row) (T, error)) (wallet.Listing[T], error) {
	order := "created_at DESC, uuid DESC"
	if p.Cursor == nil {
		return listByOffset(ctx, q, table, columns, w, order, p, scan)
	}
	c := p.Cursor
	if !c.Created.IsZero() {
		op := "<"
		if c.Backward {
			op = ">"
		}
		t, u := w.arg(c.Created), w.arg(c.UUID)
		w.sql += fmt.Sprintf(" AND (created_at, uuid) %s (%s, %s)", op, t, u)
	}
	if c.Backward {
		order = "created_at ASC, uuid ASC"
	}
	return listByKeyset(ctx, q, table, columns, w, order, p, scan)
}

// listByID serves a page of table ordered by id ascending.
func listByID[T any](ctx context.Context, q querier, table, columns string, w where, p wallet.Page, scan func(pgx.Row) (T, error)) (wallet.Listing[T], error) {
	order := "id ASC"
	if p.Cursor == nil {
		return listByOffset(ctx, q, table, columns, w, order, p, scan)
	}
	c := p.Cursor
	if c.ID != 0 {
		op := ">"
		if c.Backward {
			op = "<"
		}
		w.sql += fmt.Sprintf(" AND id %s %s", op, w.arg(c.ID))
	}
	if c.Backward {
		order = "id DESC"
	}
	return listByKeyset(ctx, q, table, columns, w, order, p, scan)
}

func listByOffset[T any](ctx context.Context, q querier, table, columns string, w where, order string, p wallet.Page, scan func(pgx.Row) (T, error)) (wallet.Listing[T], error) {
	var l wallet.Listing[T]
	countSQL, countArgs := "SELECT count(*) FROM "+table+" WHERE "+w.sql, w.args
	if w.counted != "" {
		countSQL, countArgs = `SELECT coalesce(sum(n), 0) FROM transaction_counts WHERE scope = $1`, []any{w.counted}
	}
	limit, offset := w.arg(p.Limit), w.arg(p.Offset)
	pageSQL := "SELECT " + columns + " FROM " + table + " WHERE " + w.sql + " ORDER BY " + order + " LIMIT " + limit + " OFFSET " + offset
	if p.Offset == 0 {
		// The first page cannot be past the end: the count and the page
		// go together, in one round trip.
		var b pgx.Batch
		b.Queue(countSQL, countArgs...).QueryRow(func(row pgx.Row) error { return row.Scan(&l.Total) })
		b.Queue(pageSQL, w.args...).Query(func(rows pgx.Rows) error {
			var err error
			l.Items, err = collect(rows, scan)
			return err
		})
		if err := q.SendBatch(ctx, &b).Close(); err != nil {
			return l, fmt.Errorf("count and first page: %w", err)
		}
		l.More = len(l.Items) < l.Total
		return l, nil
	}
	if err := q.QueryRow(ctx, countSQL, countArgs...).Scan(&l.Total); err != nil {
		return l, fmt.Errorf("count: %w", err)
	}
	if p.Offset >= l.Total {
		// Past the end: no need to skip every row to find nothing.
		return l, nil
	}
	items, err := query(ctx, q, pageSQL, w.args, scan)
	if err != nil {
		return l, err
	}
	l.Items = items
	l.More = p.Offset+len(items) < l.Total
	return l, nil
}

func listByKeyset[T any](ctx context.Context, q querier, table, columns string, w where, order string, p wallet.Page, scan func(pgx.Row) (T, error)) (wallet.Listing[T], error) {
	l := wallet.Listing[T]{Total: -1}
	limit := w.arg(p.Limit + 1)
	items, err := query(ctx, q, "SELECT "+columns+" FROM "+table+" WHERE "+w.sql+" ORDER BY "+order+" LIMIT "+limit, w.args, scan)
	if err != nil {
		return l, err
	}
	if len(items) > p.Limit {
		items, l.More = items[:p.Limit], true
	}
	if p.Cursor.Backward {
		slices.Reverse(items)
	}
	l.Items = items
	return l, nil
}

func query[T any](ctx context.Context, q querier, sql string, args []any, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return collect(rows, scan)
}

// collect scans every row of rows, and closes them.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rows: %w", err)
	}
	return items, nil
}
