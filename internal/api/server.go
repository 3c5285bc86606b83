// Package api is the HTTP edge: it turns API Gateway proxy events into calls
// of the domain and errors into the contract's JSON. Its route table (Routes)
// is the one list of endpoints everything else reads. Handlers run the same
// in Lambda, in the local gateway and in tests.
package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"

	"github.com/aws/aws-lambda-go/events"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/auth"
)

// Handler is a Lambda handler of API Gateway REST proxy events.
type Handler = func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Config is what a Server needs.
type Config struct {
	// DB is the writer pool.
	DB *pgxpool.Pool
	// ReadDB serves large listings; nil means DB.
	ReadDB *pgxpool.Pool
	// Tokens signs and verifies JWTs.
	Tokens *auth.Tokens
	// SigningKey derives the key that signs list cursors.
	SigningKey []byte
}

// Server holds the dependencies every handler shares. One Server lives per
// Lambda container (or local gateway process) and serves requests
// concurrently.
type Server struct {
	db        *pgxpool.Pool
	readDB    *pgxpool.Pool
	tokens    *auth.Tokens
	cursorKey []byte
}

// NewServer returns a Server over cfg.
func NewServer(cfg Config) *Server {
	read := cfg.ReadDB
	if read == nil {
		read = cfg.DB
	}
	mac := hmac.New(sha256.New, cfg.SigningKey)
	mac.Write([]byte("wallets list cursor"))
	return &Server{db: cfg.DB, readDB: read, tokens: cfg.Tokens, cursorKey: mac.Sum(nil)}
}
