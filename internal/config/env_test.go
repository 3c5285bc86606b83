package config

import (
	"strings"
	"testing"
	"time"
)

// FromEnv in the shapes the deployments give it: the CDK app's variables
// (an RDS Proxy host, the database user per function, IAM auth), a local
// DATABASE_URL, and the limits' defaults and refusals.
func TestFromEnv(t *testing.T) {
	vars := []string{"DATABASE_URL", "READ_DATABASE_URL", "DATABASE_HOST", "DATABASE_READ_HOST", "DATABASE_USER",
		"DATABASE_PORT", "DATABASE_NAME", "DATABASE_IAM_AUTH", "WALLETS_ENV", "AWS_REGION",
		"DB_STATEMENT_TIMEOUT", "DB_MAX_CONNS", "SECRETS_REFRESH"}
	tests := []struct {
		name    string
		env     map[string]string
		want    func(Config) bool
		wantErr string
	}{
		{"nothing set: local defaults", nil, func(c Config) bool {
			return c.DatabaseURL == "" && c.Environment == "local" && c.StatementTimeout == 5*time.Second &&
				c.MaxConns == 2 && c.KeyTTL == 5*time.Minute && !c.IAMAuth && !c.ProxyTLS
		}, ""},
		{"a route function in AWS: the runtime role through the proxy", map[string]string{
			"DATABASE_HOST": "proxy.example", "DATABASE_READ_HOST": "ro.proxy.example", "DATABASE_IAM_AUTH": "true",
			"DATABASE_NAME": "wallets", "DATABASE_PORT": "5432", "WALLETS_ENV": "prod", "AWS_REGION": "eu-west-1",
		}, func(c Config) bool {
			return c.DatabaseURL == "postgres://wallets_app@proxy.example:5432/wallets?sslmode=verify-full" &&
				c.ReadDatabaseURL == "postgres://wallets_app@ro.proxy.example:5432/wallets?sslmode=verify-full" &&
				c.ProxyTLS && c.IAMAuth && c.Environment == "prod" && c.Region == "eu-west-1"
		}, ""},
		{"the migrate function: the owner", map[string]string{"DATABASE_HOST": "proxy.example", "DATABASE_USER": "wallets"},
			func(c Config) bool {
				return c.DatabaseURL == "postgres://wallets@proxy.example:5432/wallets?sslmode=verify-full" && c.ReadDatabaseURL == ""
			}, ""},
		{"DATABASE_URL wins over a host", map[string]string{"DATABASE_URL": "postgres://me@db/x", "DATABASE_HOST": "proxy.example"},
			func(c Config) bool { return c.DatabaseURL == "postgres://me@db/x" && !c.ProxyTLS }, ""},
		{"limits set", map[string]string{"DB_STATEMENT_TIMEOUT": "2s", "DB_MAX_CONNS": "4", "SECRETS_REFRESH": "30s"},
			func(c Config) bool {
				return c.StatementTimeout == 2*time.Second && c.MaxConns == 4 && c.KeyTTL == 30*time.Second
			}, ""},
		{"a statement timeout that is no duration", map[string]string{"DB_STATEMENT_TIMEOUT": "5"}, nil, "DB_STATEMENT_TIMEOUT"},
		{"no connections", map[string]string{"DB_MAX_CONNS": "0"}, nil, "DB_MAX_CONNS"},
		{"connections that are no number", map[string]string{"DB_MAX_CONNS": "two"}, nil, "DB_MAX_CONNS"},
		{"a refresh that never refreshes", map[string]string{"SECRETS_REFRESH": "0s"}, nil, "SECRETS_REFRESH"},
		{"a negative refresh", map[string]string{"SECRETS_REFRESH": "-1m"}, nil, "SECRETS_REFRESH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range vars {
				t.Setenv(v, tt.env[v])
			}
			c, err := FromEnv()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c) {
				t.Errorf("got %+v", c)
			}
		})
	}
}
