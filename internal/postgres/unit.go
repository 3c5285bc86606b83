package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Unit is the unit of work of one claimed Idempotency-Key: the claim, and the
// database transaction that holds it, begun by the first write of a service
// bound to the unit ((*Wallets).In, (*Users).In, (*Events).In). Idempotency.Run makes it,
// hands it to the work and ends it; it never rides in a context. A Unit
// serves one request: its services must be called one at a time, as a
// transaction runs one statement at a time.
type Unit struct {
	pool  *pgxpool.Pool
	user  int64
	key   string
	token uuid.UUID
	tx    pgx.Tx // nil until a bound service writes
	// aborted is set when a writing method of a bound service failed: the
	// unit must not commit.
	aborted bool
	// ended is set once Run ends the unit: a bound service writes no more.
	ended bool
}

// ErrUnitEnded is the fault of a write by a service bound to a Unit that
// Idempotency.Run has already ended (the service was kept past the work).
var ErrUnitEnded = errors.New("postgres: unit of work already ended")

// scope is where a service's writes run: with unit nil, each method's
// statement or transaction of its own on pool; else the unit's transaction.
// A service's methods reach the database for writes only through its
// scope's inTx and inStatement, and end through wrote or read (the
// service's boundary, see services.go).
type scope struct {
	pool *pgxpool.Pool
	unit *Unit
}

// inTx runs fn in a database transaction: the unit's (begun on first use,
// on the unit's pool, and made to hold the key's claim at once) when the
// scope is bound to one, else one of its own on pool that commits when fn
// returns nil and rolls back otherwise.
func (s scope) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	if s.unit != nil {
		return s.unit.do(ctx, fn)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// inStatement runs fn, which makes one statement, on a querier: the unit's
// transaction when the scope is bound to one (as inTx), else the pool
// itself, so that the statement commits on its own in one round trip.
func (s scope) inStatement(ctx context.Context, fn func(querier) error) error {
	if s.unit != nil {
		return s.unit.do(ctx, func(tx pgx.Tx) error { return fn(tx) })
	}
	return fn(s.pool)
}

// committed is a refusal whose changes commit (Collect's rejection): write
// returns the refusal without aborting the unit.
type committed struct{ error }

func (c committed) Unwrap() error { return c.error }

// wrote ends a writing method of a service on s, which returned err: any
// error but a committed refusal keeps s's unit, if any, from committing,
// whether the method reached its transaction or refused before (a rule
// broken). The error comes back classified.
func (s scope) wrote(err error) error {
	var c committed
	if errors.As(err, &c) {
		return c.error
	}
	if err != nil && s.unit != nil {
		s.unit.aborted = true
	}
	return classify(err)
}

// read ends a service method that writes nothing in a unit of work (a read,
// or a statement that must commit on its own): its error comes back
// classified, and the unit is not affected.
func read[T any](v T, err error) (T, error) { return v, classify(err) }

// do runs fn in the unit's transaction, beginning it and locking the claim
// on first use.
func (u *Unit) do(ctx context.Context, fn func(pgx.Tx) error) error {
	if u.ended {
		return ErrUnitEnded
	}
	if u.tx == nil {
		tx, err := u.pool.Begin(ctx)
		if err != nil {
			u.aborted = true
			return fmt.Errorf("begin: %w", err)
		}
		if err := holdKey(ctx, tx, u.user, u.key, u.token); err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			u.aborted = true
			return err
		}
		u.tx = tx
	}
	if err := fn(u.tx); err != nil {
		u.aborted = true
		return err
	}
	return nil
}
