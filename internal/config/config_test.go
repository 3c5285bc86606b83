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

// The secrets come from Secrets Manager when their ARNs are set, over TLS
// verified against Amazon's roots plus AWS_CA_BUNDLE's (here the stand-in's
// certificate): without the bundle the stand-in is not trusted.
func TestReadSecretsFromSecretsManager(t *testing.T) {
	const jwtARN, dsnARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dsn"
	values := map[string]string{jwtARN: strings.Repeat("k", 32), dsnARN: SentryDisabled}
	var calls []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId, VersionStage string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		calls = append(calls, in.SecretId+" "+in.VersionStage)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if v, ok := values[in.SecretId]; ok && in.VersionStage == "" {
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
	var c Config
	if err := c.ReadSecrets(ctx, Options{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without AWS_CA_BUNDLE: %v, want a certificate error", err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	calls = nil
	c = Config{}
	if err := c.ReadSecrets(ctx, Options{AWS: AWSLoader()}); err != nil {
		t.Fatal(err)
	}
	if string(c.JWTKey) != values[jwtARN] || c.JWTPreviousKey != nil || c.SentryDSN != "" {
		t.Errorf("read %q / %q / %q", c.JWTKey, c.JWTPreviousKey, c.SentryDSN)
	}
	if want := []string{jwtARN + " ", jwtARN + " AWSPREVIOUS", dsnARN + " "}; !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	// A process that verifies no token does not read the previous version.
	calls, c = nil, Config{}
	if err := c.ReadSecrets(ctx, Options{SigningOnly: true}); err != nil {
		t.Fatal(err)
	}
	if want := []string{jwtARN + " ", dsnARN + " "}; !slices.Equal(calls, want) || string(c.JWTKey) != values[jwtARN] {
		t.Errorf("signing only: calls %q, key %q", calls, c.JWTKey)
	}
}
