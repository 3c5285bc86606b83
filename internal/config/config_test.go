package config

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wallets/internal/keys"
	"wallets/internal/route"
	"wallets/migrations"
)

// Both versions of a key are read during a rotation: the current one
// signs, the previous one still verifies; each key has its own variables,
// and a process reads only the keys it is given.
func TestReadSecretsFromTheEnvironment(t *testing.T) {
	ctx := context.Background()
	current, previous, cursor := strings.Repeat("c", 32), strings.Repeat("p", 32), strings.Repeat("r", 32)
	for k, v := range map[string]string{
		"JWT_SECRET_ARN": "", "CURSOR_SECRET_ARN": "", "SENTRY_DSN_SECRET_ARN": "", "SENTRY_DSN": "",
		"DB_MAX_CONNS": "", "DB_STATEMENT_TIMEOUT": "", "SECRETS_REFRESH": "",
		"JWT_SECRET": current, "JWT_SECRET_PREVIOUS": previous, "CURSOR_SECRET": cursor, "CURSOR_SECRET_PREVIOUS": "",
	} {
		t.Setenv(k, v)
	}
	c, err := Load(ctx, Options{Keys: route.AllKeys()})
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyTTL != 5*time.Minute {
		t.Errorf("KeyTTL %v, want the 5m default", c.KeyTTL)
	}
	tok := c.Keys[route.TokenKey]
	if id, k := tok.Signing(ctx); string(k) != current || id != keys.ID([]byte(current)) {
		t.Errorf("token key signs with %q", k)
	}
	if k, ok := tok.Verifying(ctx, keys.ID([]byte(previous))); !ok || string(k) != previous {
		t.Errorf("the previous token key does not verify: %q %v", k, ok)
	}
	if _, k := c.Keys[route.CursorKey].Signing(ctx); string(k) != cursor {
		t.Errorf("cursor key %q", k)
	}

	// Only the keys asked for are read: a function without the token key
	// starts without JWT_SECRET.
	t.Setenv("JWT_SECRET", "")
	if c, err = Load(ctx, Options{Keys: []route.Key{route.CursorKey}}); err != nil || c.Keys[route.TokenKey] != nil {
		t.Errorf("cursor only: %v, token ring %v", err, c.Keys[route.TokenKey])
	}
	if _, err = Load(ctx, Options{Keys: []route.Key{route.TokenKey}}); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
		t.Errorf("no token key: %v, want an error naming JWT_SECRET", err)
	}
	if c, err = Load(ctx, Options{Keys: []route.Key{route.TokenKey}, AllowRandomKey: true}); err != nil || c.Keys[route.TokenKey] == nil {
		t.Errorf("random key: %v", err)
	}
	t.Setenv("SECRETS_REFRESH", "soon")
	if _, err = FromEnv(); err == nil {
		t.Error("SECRETS_REFRESH=soon accepted")
	}
}

// The secrets come from Secrets Manager when their ARNs are set, over TLS
// verified against Amazon's roots plus AWS_CA_BUNDLE's (here the stand-in's
// certificate): without the bundle the stand-in is not trusted.
func TestReadSecretsFromSecretsManager(t *testing.T) {
	const jwtARN, dsnARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dsn"
	values := map[string]string{jwtARN: strings.Repeat("k", 32), dsnARN: SentryDisabled}
	var calls []string
	var callsMu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId, VersionStage string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		callsMu.Lock()
		calls = append(calls, in.SecretId+" "+in.VersionStage)
		callsMu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if v, ok := values[in.SecretId]; ok && (in.VersionStage == "" || in.VersionStage == "AWSCURRENT") {
			_ = json.NewEncoder(w).Encode(map[string]string{"ARN": in.SecretId, "SecretString": v})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"no such version"}`))
	}))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"JWT_SECRET_ARN": jwtARN, "SENTRY_DSN_SECRET_ARN": dsnARN, "JWT_SECRET": "", "SENTRY_DSN": "",
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "example",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL, "AWS_ENDPOINT_URL": "", "AWS_CA_BUNDLE": "",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	c := Config{KeyTTL: time.Minute}
	if err := c.ReadSecrets(ctx, Options{Keys: []route.Key{route.TokenKey}}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without AWS_CA_BUNDLE: %v, want a certificate error", err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	calls = nil
	c = Config{KeyTTL: time.Minute}
	if err := c.ReadSecrets(ctx, Options{AWS: AWSLoader(), Keys: []route.Key{route.TokenKey}}); err != nil {
		t.Fatal(err)
	}
	if _, k := c.Keys[route.TokenKey].Signing(ctx); string(k) != values[jwtARN] || c.SentryDSN != "" {
		t.Errorf("read %q / %q", k, c.SentryDSN)
	}
	slices.Sort(calls)
	if want := []string{dsnARN + " ", jwtARN + " AWSCURRENT", jwtARN + " AWSPREVIOUS"}; !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	// A process holding no key reads only the DSN.
	calls, c = nil, Config{}
	if err := c.ReadSecrets(ctx, Options{}); err != nil {
		t.Fatal(err)
	}
	if want := []string{dsnARN + " "}; !slices.Equal(calls, want) || len(c.Keys) != 0 {
		t.Errorf("no keys: calls %q, keys %v", calls, c.Keys)
	}
}

// The functions connect as the role the migrations create.
func TestDefaultDatabaseUserIsTheRuntimeRole(t *testing.T) {
	if DefaultDatabaseUser != migrations.RuntimeRole {
		t.Errorf("DefaultDatabaseUser %q, migrations.RuntimeRole %q", DefaultDatabaseUser, migrations.RuntimeRole)
	}
}
