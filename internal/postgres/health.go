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

// ping is the body of Ping.
func (h *Health) ping(ctx context.Context) (err error) {
	var one int
	if err := h.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}
