package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/event"
	"wallets/internal/wallet"
)

// Events implements event.Service (a user's events and webhook endpoints)
// and event.Outbox (the relay's and the delivery worker's view), over the
// tables of migrations/00008_events.sql. The events themselves are written
// by the money movements (move_money, collect_charge and OpenCharge's
// insert), in the statement that moves the money.
type Events struct {
	writer, reader *pgxpool.Pool
	// scope is where the endpoints' writes run: on writer, or in the unit
	// of work the service is bound to (In).
	scope scope
}

// NewEvents returns the events service over the writer pool and the reader
// pool that serves lists; a nil reader means the writer.
func NewEvents(writer, reader *pgxpool.Pool) *Events {
	if reader == nil {
		reader = writer
	}
	return &Events{writer: writer, reader: reader, scope: scope{pool: writer}}
}

// In returns the service bound to unit u: its endpoints' writes run in u's
// transaction and commit with u's answer (see Idempotency.Run); its reads
// and the outbox's statements run as s's do.
func (s *Events) In(u *Unit) *Events {
	b := *s
	b.scope.unit = u
	return &b
}

var (
	_ event.Service = (*Events)(nil)
	_ event.Outbox  = (*Events)(nil)
)

func scanEvent(row pgx.Row) (event.Event, error) {
	var e event.Event
	t := &e.Transaction
	err := row.Scan(&e.ID, &e.Type, &e.Created, &e.Customer, &e.Business,
		&t.UUID, &t.Amount, &t.Description, &t.Status, &t.Type, &t.WalletID, &t.Created)
	t.BusinessID = e.Business
	return e, err
}

// userEvents is every event once per recipient, as a table listNewestFirst
// reads (its key column named uuid) where recipient = $1: the customer's
// arm and the business's arm are each read from their index in order and
// merged (a Merge Append: no OR, no sort). The recipient is compared
// outside the UNION ALL so that the planner sees it as a constant in both
// arms (a condition inside an arm would keep its index's order from being
// used). A user is a customer or a business, never both on one event, so
// no event is listed twice.
const userEvents = `(
	SELECT customer_id AS recipient, id AS uuid, ` + eventColumnsAfterID + ` FROM events
	UNION ALL
	SELECT business_id, id, ` + eventColumnsAfterID + ` FROM events) events`

const eventColumnsAfterID = `type, created_at, customer_id, business_id,
	transaction_id, amount, description, status, transaction_type, wallet_id, transaction_created_at`

// listEvents is the body of event.Service.ListEvents, on the reader.
func (s *Events) listEvents(ctx context.Context, user int64, f event.Filter, p wallet.Page) (l wallet.Listing[event.Event], err error) {
	w := where{sql: "recipient = $1", args: []any{user}}
	if f.Type != "" {
		w.and("type = %s", string(f.Type))
	}
	l, err = listNewestFirst(ctx, s.reader, userEvents, "uuid, "+eventColumnsAfterID, w, p, scanEvent)
	if err != nil {
		return l, fmt.Errorf("list events of user %d: %w", user, err)
	}
	return l, nil
}

const endpointColumns = `id, user_id, url, events, created_at`

func scanEndpoint(row pgx.Row) (event.Endpoint, error) {
	var (
		e     event.Endpoint
		types []string
	)
	err := row.Scan(&e.ID, &e.Owner, &e.URL, &types, &e.Created)
	e.Events = toTypes(types)
	return e, err
}

// toTypes converts a text[] read back: NULL (every type) stays nil.
func toTypes(types []string) []event.Type {
	if types == nil {
		return nil
	}
	out := make([]event.Type, len(types))
	for i, t := range types {
		out[i] = event.Type(t)
	}
	return out
}

// fromTypes is the text[] of types: nil (every type) is NULL.
func fromTypes(types []event.Type) []string {
	if types == nil {
		return nil
	}
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return out
}

// createEndpoint is the body of event.Service.CreateEndpoint. The owner's
// users row is locked first (FOR NO KEY UPDATE: the movements' foreign-key
// checks, KEY SHARE, do not wait on it), so concurrent creations for one
// owner take turns and each counts, in a statement of its own begun after the
// lock, the endpoints the ones before it committed: never more than
// MaxEndpoints.
func (s *Events) createEndpoint(ctx context.Context, owner int64, e event.NewEndpoint) (ep event.Endpoint, err error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return event.Endpoint{}, fmt.Errorf("new endpoint id: %w", err)
	}
	err = s.scope.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, owner).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("create endpoint: no user %d", owner)
		}
		if err != nil {
			return fmt.Errorf("lock user %d: %w", owner, err)
		}
		ep, err = scanEndpoint(tx.QueryRow(ctx, `
			INSERT INTO webhook_endpoints (id, user_id, url, events, secret)
			SELECT $1, $2, $3, $4, $5
			 WHERE (SELECT count(*) FROM webhook_endpoints WHERE user_id = $2) < $6
			RETURNING `+endpointColumns,
			id, owner, e.URL, fromTypes(e.Events), e.Secret, event.MaxEndpoints))
		if errors.Is(err, pgx.ErrNoRows) {
			return event.ErrTooManyEndpoints
		}
		if err != nil {
			return fmt.Errorf("create endpoint of user %d: %w", owner, err)
		}
		return nil
	})
	if err != nil {
		return event.Endpoint{}, err
	}
	return ep, nil
}

// listEndpoints is the body of event.Service.ListEndpoints, on the reader.
func (s *Events) listEndpoints(ctx context.Context, owner int64) (eps []event.Endpoint, err error) {
	eps, err = query(ctx, s.reader, `
		SELECT `+endpointColumns+` FROM webhook_endpoints WHERE user_id = $1
		 ORDER BY created_at DESC, id DESC LIMIT $2`, []any{owner, event.MaxEndpoints}, scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("list endpoints of user %d: %w", owner, err)
	}
	return eps, nil
}

// deleteEndpoint is the body of event.Service.DeleteEndpoint, in one
// statement. Its deliveries go with it, pending and dead alike (the foreign
// key cascades).
func (s *Events) deleteEndpoint(ctx context.Context, owner int64, id uuid.UUID) (err error) {
	return s.scope.inStatement(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1 AND user_id = $2`, id, owner)
		if err != nil {
			return fmt.Errorf("delete endpoint %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return event.ErrNotFound
		}
		return nil
	})
}

// deliveryColumns reads a delivery joined with its endpoint (ep) and its
// event (e), its key column named uuid and its time created_at (when it was
// last updated: for a dead delivery, when it died) for listNewestFirst.
const deliveryColumns = `d.id AS uuid, d.updated_at AS created_at, d.status, d.attempts, d.last_error,
	ep.id, ep.user_id, ep.url, ep.events, ep.created_at, ep.secret,
	e.id, e.type, e.created_at, e.customer_id, e.business_id,
	e.transaction_id, e.amount, e.description, e.status, e.transaction_type, e.wallet_id, e.transaction_created_at`

func scanDelivery(row pgx.Row) (event.Delivery, error) {
	var (
		d     event.Delivery
		types []string
	)
	ev, t := &d.Event, &d.Event.Transaction
	err := row.Scan(&d.ID, &d.Updated, &d.Status, &d.Attempts, &d.LastError,
		&d.Endpoint.ID, &d.Endpoint.Owner, &d.Endpoint.URL, &types, &d.Endpoint.Created, &d.Secret,
		&ev.ID, &ev.Type, &ev.Created, &ev.Customer, &ev.Business,
		&t.UUID, &t.Amount, &t.Description, &t.Status, &t.Type, &t.WalletID, &t.Created)
	d.Endpoint.Events = toTypes(types)
	t.BusinessID = ev.Business
	return d, err
}

// listedDeliveryColumns are the columns of deliveryColumns' table as
// listNewestFirst selects them.
const listedDeliveryColumns = `uuid, created_at, status, attempts, last_error,
	endpoint_id, endpoint_owner, endpoint_url, endpoint_events, endpoint_created_at, secret,
	event_id, event_type, event_created_at, customer_id, business_id,
	transaction_id, amount, description, status_at_event, transaction_type, wallet_id, transaction_created_at`

// deadDeliveries is the body of event.Service.DeadDeliveries, on the reader:
// the endpoint is looked up first (someone else's is ErrNotFound, and an
// endpoint without dead deliveries an empty page), then its dead letters are
// read from their index, newest first. The secret is not read.
func (s *Events) deadDeliveries(ctx context.Context, owner int64, id uuid.UUID, p wallet.Page) (l wallet.Listing[event.Delivery], err error) {
	var one int
	err = s.reader.QueryRow(ctx, `SELECT 1 FROM webhook_endpoints WHERE id = $1 AND user_id = $2`, id, owner).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, event.ErrNotFound
	}
	if err != nil {
		return l, fmt.Errorf("endpoint %s: %w", id, err)
	}
	table := `(SELECT d.id AS uuid, d.updated_at AS created_at, d.status, d.attempts, d.last_error,
		       ep.id AS endpoint_id, ep.user_id AS endpoint_owner, ep.url AS endpoint_url,
		       ep.events AS endpoint_events, ep.created_at AS endpoint_created_at, '' AS secret,
		       e.id AS event_id, e.type AS event_type, e.created_at AS event_created_at, e.customer_id,
		       e.business_id, e.transaction_id, e.amount, e.description, e.status AS status_at_event,
		       e.transaction_type, e.wallet_id, e.transaction_created_at
		  FROM webhook_deliveries d
		  JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
		  JOIN events e ON e.id = d.event_id
		 WHERE d.endpoint_id = $1 AND d.status = 'dead') deliveries`
	l, err = listNewestFirst(ctx, s.reader, table, listedDeliveryColumns, where{sql: "true", args: []any{id}}, p, scanDelivery)
	if err != nil {
		return l, fmt.Errorf("list dead deliveries of endpoint %s: %w", id, err)
	}
	return l, nil
}

// relay is the body of event.Outbox.Relay, in one transaction on the writer
// of one statement and the commit: the statement takes the oldest rows of
// the outbox (event_outbox) not held by another relay (FOR UPDATE SKIP
// LOCKED, held to the end), deletes them (the events are published) and
// inserts their events' deliveries, one per endpoint of a
// recipient that wants the event's type; publish then runs with the
// transaction open, and its error rolls all of it back.
func (s *Events) relay(ctx context.Context, limit int, publish func(context.Context, []event.Batch) error) (n int, err error) {
	tx, err := s.writer.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	batches, err := query(ctx, tx, `
		WITH taken AS (
		    DELETE FROM event_outbox o WHERE o.seq IN (
		        SELECT seq FROM event_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
		    RETURNING o.seq, o.event_id),
		published AS (
		    SELECT taken.seq, `+eventColumnsOf("e.")+` FROM taken JOIN events e ON e.id = taken.event_id),
		delivered AS (
		    INSERT INTO webhook_deliveries (endpoint_id, event_id)
		    SELECT ep.id, p.id FROM published p
		      JOIN webhook_endpoints ep ON ep.user_id IN (p.customer_id, p.business_id)
		                               AND (ep.events IS NULL OR p.type = ANY (ep.events))
		    RETURNING id, event_id)
		SELECT `+eventColumnsOf("p.")+`,
		       COALESCE((SELECT array_agg(d.id ORDER BY d.id) FROM delivered d WHERE d.event_id = p.id), '{}')
		  FROM published p ORDER BY p.seq`, []any{limit}, func(row pgx.Row) (event.Batch, error) {
		var (
			b event.Batch
			t = &b.Event.Transaction
		)
		err := row.Scan(&b.Event.ID, &b.Event.Type, &b.Event.Created, &b.Event.Customer, &b.Event.Business,
			&t.UUID, &t.Amount, &t.Description, &t.Status, &t.Type, &t.WalletID, &t.Created, &b.Deliveries)
		t.BusinessID = b.Event.Business
		return b, err
	})
	if err != nil {
		return 0, fmt.Errorf("relay: %w", err)
	}
	if len(batches) == 0 {
		return 0, nil
	}
	if err := publish(ctx, batches); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("relay: commit: %w", err)
	}
	return len(batches), nil
}

// eventColumnsOf is the columns scanEvent reads, each qualified by prefix.
func eventColumnsOf(prefix string) string {
	return prefix + `id, ` + prefix + `type, ` + prefix + `created_at, ` + prefix + `customer_id, ` + prefix + `business_id, ` +
		prefix + `transaction_id, ` + prefix + `amount, ` + prefix + `description, ` + prefix + `status, ` +
		prefix + `transaction_type, ` + prefix + `wallet_id, ` + prefix + `transaction_created_at`
}

// outboxAge is the body of event.Outbox.OutboxAge, on the writer: the age of
// the oldest row of the outbox (the first in relay order).
func (s *Events) outboxAge(ctx context.Context) (age time.Duration, err error) {
	var us int64
	err = s.writer.QueryRow(ctx, `
		SELECT COALESCE((SELECT (extract(epoch FROM now() - queued_at) * 1000000)::bigint
		                   FROM event_outbox ORDER BY seq LIMIT 1), 0)`).Scan(&us)
	if err != nil {
		return 0, fmt.Errorf("outbox age: %w", err)
	}
	return max(time.Duration(us)*time.Microsecond, 0), nil
}

// delivery is the body of event.Outbox.Delivery, on the writer.
func (s *Events) delivery(ctx context.Context, id uuid.UUID) (d event.Delivery, err error) {
	d, err = scanDelivery(s.writer.QueryRow(ctx, `
		SELECT `+deliveryColumns+`
		  FROM webhook_deliveries d
		  JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
		  JOIN events e ON e.id = d.event_id
		 WHERE d.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return event.Delivery{}, event.ErrNotFound
	}
	if err != nil {
		return event.Delivery{}, fmt.Errorf("delivery %s: %w", id, err)
	}
	return d, nil
}

// recordAttempt is the body of event.Outbox.RecordAttempt, in one conditional
// update: only a pending delivery whose attempts are n-1 changes, so a
// duplicate message (the same attempt again, or one after the delivery ended)
// changes nothing.
func (s *Events) recordAttempt(ctx context.Context, id uuid.UUID, n int, a event.Attempt, next time.Time, dead bool) (ok bool, err error) {
	status, nextAt := event.Pending, &next
	switch {
	case a.Delivered():
		status, nextAt = event.Delivered, nil
	case dead:
		status, nextAt = event.Dead, nil
	}
	var lastStatus *int
	if a.Status != 0 {
		lastStatus = &a.Status
	}
	tag, err := s.writer.Exec(ctx, `
		UPDATE webhook_deliveries
		   SET attempts = $2, status = $3, last_status = $4, last_error = $5,
		       next_attempt_at = COALESCE($6, next_attempt_at), updated_at = now(),
		       delivered_at = CASE WHEN $3 = 'delivered' THEN now() END
		 WHERE id = $1 AND status = 'pending' AND attempts = $2 - 1`,
		id, n, string(status), lastStatus, a.Error, nextAt)
	if err != nil {
		return false, fmt.Errorf("record attempt %d of delivery %s: %w", n, id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// overdue is the body of event.Outbox.Overdue, in one statement; deliveries
// another caller is pushing right now are skipped.
func (s *Events) overdue(ctx context.Context, grace time.Duration, limit int) (ids []uuid.UUID, err error) {
	ids, err = query(ctx, s.writer, `
		UPDATE webhook_deliveries SET next_attempt_at = now() + $1::float8 * interval '1 microsecond'
		 WHERE id IN (SELECT id FROM webhook_deliveries
		               WHERE status = 'pending' AND next_attempt_at < now() - $1::float8 * interval '1 microsecond'
		               ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING id`, []any{grace.Microseconds(), limit}, func(row pgx.Row) (uuid.UUID, error) {
		var id uuid.UUID
		err := row.Scan(&id)
		return id, err
	})
	if err != nil {
		return nil, fmt.Errorf("overdue deliveries: %w", err)
	}
	return ids, nil
}

// purge is the body of event.Outbox.Purge, in one statement: their
// deliveries, delivered or dead, go with them (the foreign key cascades).
func (s *Events) purge(ctx context.Context, limit int) (n int64, err error) {
	tag, err := s.writer.Exec(ctx, `
		DELETE FROM events WHERE id = ANY (ARRAY(
			SELECT e.id FROM events e
			 WHERE e.created_at < now() - make_interval(days => $1)
			   AND NOT EXISTS (SELECT 1 FROM event_outbox o WHERE o.event_id = e.id)
			   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
			 LIMIT $2))`, event.RetentionDays, limit)
	if err != nil {
		return 0, fmt.Errorf("purge events: %w", err)
	}
	return tag.RowsAffected(), nil
}
