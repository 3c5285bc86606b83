package api

import (
	"context"
	"net/http"
	"time"

	"wallets/internal/obs"
	"wallets/internal/postgres"
)

// HealthTimeout bounds the database ping of /health.
const HealthTimeout = 2 * time.Second

type healthView struct {
	Status   string `json:"status"`
	Database string `json:"database"`
}

func (s *Server) health(ctx context.Context, r *Request) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	if err := postgres.Ping(ctx, s.db); err != nil {
		obs.Logger(ctx).Warn("health: database unreachable", "error", err.Error())
		return Response{Status: http.StatusServiceUnavailable, Body: healthView{Status: "unavailable", Database: "unreachable"}}, nil
	}
	return ok(healthView{Status: "ok", Database: "ok"}), nil
}
