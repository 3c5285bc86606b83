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
	}{
		{"nil", nil, false},
		{"a bug", errors.New("syntax error"), false},
		{"a refusal", wallet.ErrNotFound, false},
		{"a unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"a dial failure", fmt.Errorf("wallet x: %w", dial), true},
		{"a deadline", fmt.Errorf("begin: %w", context.DeadlineExceeded), true},
		{"an admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"a connection exception", &pgconn.PgError{Code: "08006"}, true},
		{"a statement timeout", &pgconn.PgError{Code: "57014"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"a closed connection", fmt.Errorf("commit: %w", net.ErrClosed), true},
		{"a cut stream", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if errors.Is(got, apperr.ErrUnavailable) != tt.wantUnavailable {
				t.Errorf("classify(%v) = %v; unavailable %v, want %v", tt.err, got, !tt.wantUnavailable, tt.wantUnavailable)
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
