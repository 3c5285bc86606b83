package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"wallets/internal/postgres"
)

// TestIAMAuthToken checks each new connection gets an RDS IAM token for its
// own endpoint and user as its password (signed locally; no network).
func TestIAMAuthToken(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "example/secret/key/example/secret/key0000")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	hook, err := postgres.IAMAuth(context.Background(), "eu-west-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := &pgx.ConnConfig{}
	cc.Host, cc.Port, cc.User = "wallets-proxy.proxy-abc.eu-west-1.rds.amazonaws.com", 5432, "wallets"
	if err := hook(context.Background(), cc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{cc.Host + ":5432?", "Action=connect", "DBUser=wallets", "X-Amz-Signature="} {
		if !strings.Contains(cc.Password, want) {
			t.Errorf("token %q lacks %q", cc.Password, want)
		}
	}
}
