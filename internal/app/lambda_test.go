package app

import (
	"context"
	"testing"

	"wallets/internal/pgtest"
)

// A Lambda container's init leaves its first connection idle in the pool
// when its function queries the database, and makes none otherwise.
func TestLambdaInitConnects(t *testing.T) {
	for k, v := range map[string]string{
		"DATABASE_URL": pgtest.URL(t), "JWT_SECRET": "lambda-init-test-key-0123456789abcdef",
		"READ_DATABASE_URL": "", "DATABASE_HOST": "", "DATABASE_IAM_AUTH": "", "JWT_SECRET_ARN": "",
		"SENTRY_DSN_SECRET_ARN": "", "SENTRY_DSN": "", "DB_MAX_CONNS": "", "DB_STATEMENT_TIMEOUT": "",
	} {
		t.Setenv(k, v)
	}
	for _, usesDB := range []bool{true, false} {
		e, err := startLambda(context.Background(), "health", func(*Env) bool { return usesDB })
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if usesDB {
			want = 1
		}
		if s := e.DB.Stat(); int(s.TotalConns()) != want || int(s.IdleConns()) != want {
			t.Errorf("uses the database: %v; after init %d connections, %d idle; want %d", usesDB, s.TotalConns(), s.IdleConns(), want)
		}
		e.Close()
	}
}
