package postgres_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"wallets/internal/pgtest"
	"wallets/internal/postgres"
	"wallets/internal/wallet"
)

// readerURL returns writer's URL pointed at addr (host:port) instead.
func readerURL(t *testing.T, writer, addr string) string {
	t.Helper()
	if !strings.HasPrefix(writer, "postgres://") && !strings.HasPrefix(writer, "postgresql://") {
		host, port, _ := net.SplitHostPort(addr)
		return writer + " host=" + host + " port=" + port
	}
	u, err := url.Parse(writer)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("host") // a unix socket given as a parameter
	u.RawQuery = q.Encode()
	u.Host = addr
	return u.String()
}

// A listing pool whose reader is unreachable (connection refused) or
// unresponsive (accepts, never answers) serves from the writer.
func TestReaderFallsBackToWriter(t *testing.T) {
	writer := pgtest.URL(t)

	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()

	for name, addr := range map[string]string{"unreachable": refusedAddr, "unresponsive": silent.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			reader := readerURL(t, writer, addr)
			pool, err := postgres.Open(ctx, reader, postgres.PoolOptions{Fallback: writer, ConnectTimeout: 500 * time.Millisecond, ProbeTimeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			start := time.Now()
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM wallets").Scan(&n); err != nil {
				t.Fatalf("listing through the reader pool: %v", err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("fallback took %s", took)
			}
			// A listing service on that pool works too.
			if _, err := postgres.NewWallets(pgtest.DB(t), pool).ListBusinesses(ctx, wallet.Page{Limit: 10}); err != nil {
				t.Errorf("ListBusinesses on the fallen-back reader: %v", err)
			}

			// Without the fallback the same reader fails.
			plain, err := postgres.Open(ctx, reader, postgres.PoolOptions{ConnectTimeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer plain.Close()
			if err := plain.QueryRow(ctx, "SELECT 1").Scan(&n); err == nil {
				t.Error("the reader answered without the fallback")
			}
		})
	}
}

// A connection on which a statement failed as unavailable is dropped on
// release, so the next request dials again (and the probe can send it to
// the fallback) instead of reusing a connection to a reader that went away.
func TestFallbackPoolDropsUnavailableConnections(t *testing.T) {
	writer := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pool, err := postgres.Open(ctx, writer, postgres.PoolOptions{Fallback: writer, MaxConns: 1, StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pid := func() (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := pid()
	if again := pid(); again != first {
		t.Fatalf("a healthy connection was replaced (%d, then %d)", first, again)
	}
	if _, err := pool.Exec(ctx, "SELECT pg_sleep(2)"); err == nil {
		t.Fatal("pg_sleep(2) beat a 200ms statement timeout")
	}
	if after := pid(); after == first {
		t.Errorf("the connection on which a statement failed as unavailable (pid %d) was reused", first)
	}
}

// Back-to-back statements (a listing's count, then its page) reuse one
// connection: a connection is idle again as soon as it is released.
func TestFallbackPoolReusesAConnectionAtOnce(t *testing.T) {
	writer := pgtest.URL(t)
	ctx := context.Background()
	pool, err := postgres.Open(ctx, writer, postgres.PoolOptions{Fallback: writer, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for range 5 {
		var n int
		if err := pool.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
			t.Fatal(err)
		}
		rows, err := pool.Query(ctx, "SELECT generate_series(1, 3)")
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if n := pool.Stat().NewConnsCount(); n != 1 {
		t.Errorf("%d connections made for statements one after another, want 1", n)
	}
}
