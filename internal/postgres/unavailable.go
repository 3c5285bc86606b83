package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"wallets/internal/apperr"
)

// unavailable reports whether err means the database could not be reached
// or went away (a dial failure, a dropped connection, a shutdown, a timeout),
// as opposed to a bug: the request may succeed if retried later.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01-03: the server shutting down
		// or starting; 53300: too many connections; 57014: statement timeout.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300" || pgErr.Code == "57014"
	}
	return errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "conn closed") ||
		strings.Contains(err.Error(), "unexpected EOF")
}

// classify returns err with apperr.ErrUnavailable in front when it is a
// fault meaning the database is unreachable (unavailable), keeping err in the
// chain for the logs; any other error, an *apperr.Error included, comes back
// unchanged. When the statement may have reached the server and the server's
// answer was lost (maybeApplied), apperr.ErrOutcomeUnknown is in the chain
// too, so that the edge does not invite a blind retry of a change.
func classify(err error) error {
	if !unavailable(err) {
		return err
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	if maybeApplied(err) {
		return fmt.Errorf("%w: %w: %w", apperr.ErrUnavailable, apperr.ErrOutcomeUnknown, err)
	}
	return fmt.Errorf("%w: %w", apperr.ErrUnavailable, err)
}

// maybeApplied reports whether an unavailable err may have come after the
// server applied the statement (or committed the transaction): the request
// was sent (pgconn.SafeToRetry is false: something was written to the
// connection) and no answer of the server's came back. An error the server
// reported (statement timeout, shutdown) means it did not commit.
func maybeApplied(err error) bool {
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	var opErr *net.OpError
	if errors.As(err, &pgErr) || errors.As(err, &connErr) || (errors.As(err, &opErr) && opErr.Op == "dial") {
		return false // the server refused, or was never reached
	}
	return !pgconn.SafeToRetry(err)
}
