package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"wallets/internal/docs"
	"wallets/internal/obs"
)

// HealthTimeout bounds the database ping of /health.
const HealthTimeout = 2 * time.Second

type healthView struct {
	Status   string `json:"status"`
	Database string `json:"database"`
}

// Health answers 200 when the database answers within HealthTimeout, else
// 503 {"status":"unavailable","database":"unreachable"}.
func (s *Server) Health(ctx context.Context, r *Request) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	if err := s.health.Ping(ctx); err != nil {
		// The cause of the 503, in the invocation's line and its report.
		obs.RecordError(ctx, fmt.Errorf("health: database unreachable: %w", err))
		return Response{Status: http.StatusServiceUnavailable, Body: healthView{Status: "unavailable", Database: "unreachable"}}, nil
	}
	return ok(healthView{Status: "ok", Database: "ok"}), nil
}

// OpenAPI serves the OpenAPI document.
func (s *Server) OpenAPI(ctx context.Context, r *Request) (Response, error) {
	doc, err := OpenAPIJSON()
	if err != nil {
		return Response{}, err
	}
	return ok(json.RawMessage(doc)), nil
}

// Docs serves the API reference page: the document rendered by Redoc in the
// browser, from the page and bundle of internal/docs, under the page's
// Content-Security-Policy. Only the docs function links the bundle.
func (s *Server) Docs(ctx context.Context, r *Request) (Response, error) {
	page, csp := docs.Page()
	return Response{Status: http.StatusOK, Body: htmlPage(page), Headers: map[string]string{
		"Content-Security-Policy": csp,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	}}, nil
}
