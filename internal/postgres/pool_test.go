package postgres_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"testing"

	"wallets/internal/apperr"
	"wallets/internal/pgtest"
	"wallets/internal/postgres"
)

// Warm leaves one connection idle in the pool, for the first query; with the
// database unreachable it fails as unavailable and leaves none.
func TestWarm(t *testing.T) {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, pgtest.URL(t), postgres.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Warm(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if s := pool.Stat(); s.TotalConns() != 1 || s.IdleConns() != 1 {
		t.Errorf("after Warm: %d connections, %d idle; want 1, 1", s.TotalConns(), s.IdleConns())
	}
	if err := postgres.NewHealth(pool).Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if s := pool.Stat(); s.TotalConns() != 1 || s.NewConnsCount() != 1 {
		t.Errorf("the first query dialled: %d connections, %d made", s.TotalConns(), s.NewConnsCount())
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "postgres://postgres@" + l.Addr().String() + "/wallets?sslmode=disable"
	l.Close()
	pool, err = postgres.Open(ctx, down, postgres.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Warm(ctx, pool); !errors.Is(err, apperr.ErrUnavailable) {
		t.Errorf("Warm with the database down: %v, want ErrUnavailable", err)
	}
	if n := pool.Stat().TotalConns(); n != 0 {
		t.Errorf("%d connections after a failed Warm", n)
	}
}

// RootCAs replaces the trust store of every server the pool may dial: the
// URL's hosts and a reader's fallback.
func TestRootCAs(t *testing.T) {
	roots := x509.NewCertPool()
	pool, err := postgres.Open(context.Background(),
		"postgres://wallets@reader.example.com:5432/wallets?sslmode=verify-full",
		postgres.PoolOptions{RootCAs: roots, Fallback: "postgres://wallets@writer.example.com:5432/wallets?sslmode=verify-full"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cc := pool.Config().ConnConfig
	if cc.TLSConfig == nil || cc.TLSConfig.RootCAs != roots {
		t.Errorf("the URL's host does not verify against RootCAs")
	}
	if len(cc.Fallbacks) == 0 {
		t.Fatal("no fallback")
	}
	for _, f := range cc.Fallbacks {
		if f.TLSConfig == nil || f.TLSConfig.RootCAs != roots {
			t.Errorf("fallback %s does not verify against RootCAs", f.Host)
		}
	}
}
