package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Health checks the database answers.
type Health struct {
	pool *pgxpool.Pool
}

// NewHealth returns the health check of pool.
func NewHealth(pool *pgxpool.Pool) *Health { return &Health{pool: pool} }

// Ping runs one trivial query on the pool within ctx (the caller bounds it).
// An unreachable database is apperr.ErrUnavailable in the error's chain.
func (h *Health) Ping(ctx context.Context) (err error) {
	defer classifyErr(&err)
	var one int
	if err := h.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}
