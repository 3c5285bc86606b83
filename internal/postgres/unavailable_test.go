package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"wallets/internal/apperr"
	"wallets/internal/wallet"
)

func TestClassify(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name            string
		err             error
		wantUnavailable bool
		// wantUnknown: the statement may have been applied (sent, and
		// no answer of the server's came back).
		wantUnknown bool
	}{
		{"nil", nil, false, false},
		{"a bug", errors.New("syntax error"), false, false},
		{"a refusal", wallet.ErrNotFound, false, false},
		{"a unique violation", &pgconn.PgError{Code: "23505"}, false, false},
		{"a dial failure", fmt.Errorf("wallet x: %w", dial), true, false},
		{"a deadline", fmt.Errorf("begin: %w", context.DeadlineExceeded), true, true},
		{"an admin shutdown", &pgconn.PgError{Code: "57P01"}, true, false},
		{"a connection exception", &pgconn.PgError{Code: "08006"}, true, false},
		{"a statement timeout", &pgconn.PgError{Code: "57014"}, true, false},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true, false},
		{"a closed connection", fmt.Errorf("commit: %w", net.ErrClosed), true, true},
		{"a cut stream", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true, true},
		{"a connect error", &pgconn.ConnectError{}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if errors.Is(got, apperr.ErrUnavailable) != tt.wantUnavailable {
				t.Errorf("classify(%v) = %v; unavailable %v, want %v", tt.err, got, !tt.wantUnavailable, tt.wantUnavailable)
			}
			if errors.Is(got, apperr.ErrOutcomeUnknown) != tt.wantUnknown {
				t.Errorf("classify(%v) = %v; outcome unknown %v, want %v", tt.err, got, !tt.wantUnknown, tt.wantUnknown)
			}
			if tt.err != nil && !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) = %v lost the cause", tt.err, got)
			}
			if again := classify(got); again != got {
				t.Errorf("classified twice: %v", again)
			}
		})
	}
}
