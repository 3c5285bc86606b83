package config

import (
	"context"
	"strings"
	"testing"
)

// Both JWT keys are read during a rotation: the current one signs, the
// previous one still verifies.
func TestLoadReadsCurrentAndPreviousJWTKeys(t *testing.T) {
	current, previous := strings.Repeat("c", 32), strings.Repeat("p", 32)
	t.Setenv("JWT_SECRET_ARN", "")
	t.Setenv("SENTRY_DSN_SECRET_ARN", "")
	t.Setenv("DB_MAX_CONNS", "")
	t.Setenv("DB_STATEMENT_TIMEOUT", "")
	t.Setenv("JWT_SECRET", current)
	t.Setenv("JWT_SECRET_PREVIOUS", previous)
	c, err := Load(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if string(c.JWTKey) != current || string(c.JWTPreviousKey) != previous {
		t.Errorf("keys %q / %q", c.JWTKey, c.JWTPreviousKey)
	}
	t.Setenv("JWT_SECRET_PREVIOUS", "")
	if c, err = Load(context.Background(), Options{}); err != nil || c.JWTPreviousKey != nil {
		t.Errorf("no previous key: %q, %v", c.JWTPreviousKey, err)
	}
	t.Setenv("JWT_SECRET_PREVIOUS", current) // the same value is no second key
	if c, err = Load(context.Background(), Options{}); err != nil || c.JWTPreviousKey != nil {
		t.Errorf("previous = current: %q, %v", c.JWTPreviousKey, err)
	}
}
