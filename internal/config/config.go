// Package config reads the service's configuration once per process (a
// Lambda container or the local server): database endpoints from the
// environment, secrets from AWS Secrets Manager when their ARNs are given,
// else from the environment for local use.
package config

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wallets/internal/awsenv"
	"wallets/internal/keys"
	"wallets/internal/route"
	"wallets/internal/sentrydsn"
)

// Config is the service's configuration.
type Config struct {
	// DatabaseURL is the writer's DSN (DATABASE_URL). In AWS it is built from
	// DATABASE_HOST, DATABASE_PORT, DATABASE_NAME and DATABASE_USER, with IAM
	// authentication through RDS Proxy.
	DatabaseURL string
	// ReadDatabaseURL is the read-only endpoint's DSN (READ_DATABASE_URL, or
	// DATABASE_READ_HOST in AWS); empty means the writer.
	ReadDatabaseURL string
	// IAMAuth makes every new connection authenticate with an RDS IAM token
	// (DATABASE_IAM_AUTH=true); Region is where the proxy lives.
	IAMAuth bool
	Region  string
	// ProxyTLS: the URLs were built from DATABASE_HOST (RDS Proxy
	// endpoints, sslmode=verify-full), whose certificates are verified
	// against the roots of package awstrust.
	ProxyTLS bool
	// Keys are the secret keys the process holds (Options.Keys), each kept
	// fresh by a ring: from Secrets Manager secret <KEY>_ARN (the current
	// and previous versions, re-read every KeyTTL), else from the
	// environment (see KeyVars). ReadSecrets fills it.
	Keys map[route.Key]*keys.Ring
	// KeyTTL is how long a ring trusts its last read (SECRETS_REFRESH, a Go
	// duration; default 5m).
	KeyTTL time.Duration
	// SentryDSN: secret SENTRY_DSN_SECRET_ARN, else SENTRY_DSN; empty
	// disables error reporting.
	SentryDSN string
	// Environment names the deployment stage (WALLETS_ENV), e.g. "prod".
	Environment string
	// StatementTimeout bounds each SQL statement (DB_STATEMENT_TIMEOUT, a Go
	// duration; default 5s).
	StatementTimeout time.Duration
	// MaxConns sizes the pool (DB_MAX_CONNS; default 2, for one Lambda
	// container).
	MaxConns int32
	// WebhookAllowLocal lets webhook URLs name http://127.0.0.1:PORT and
	// http://localhost:PORT, so a developer can receive deliveries: set by
	// `make run` and the tests, never read from the environment (Lambda
	// never allows them).
	WebhookAllowLocal bool
	// WebhookRetryBase is the wait after a failed delivery's first attempt
	// when deliveries run in-process (`make run`), doubling after each
	// (WEBHOOK_RETRY_BASE, a Go duration; default 1s). In AWS the schedule
	// is webhook.AWSSchedule.
	WebhookRetryBase time.Duration
}

// SentryDisabled in the Sentry DSN secret turns error reporting off (see
// package sentrydsn, which the CDK app shares).
const SentryDisabled = sentrydsn.Disabled

// Options change how Load fills the gaps.
type Options struct {
	// Keys lists the keys the process may read: a Lambda function only its
	// route's (route.Route.Keys; the authorizer route.AuthorizerKeys), so
	// that it neither reads nor needs the others. ReadSecrets reads these.
	Keys []route.Key
	// AllowRandomKey lets ReadSecrets invent a key when none is configured
	// (the local server on a throwaway database); Lambda refuses to start.
	AllowRandomKey bool
	// AWS loads the AWS configuration for the Secrets Manager client, only
	// when a secret's ARN is set (see AWSLoader); nil means a loader of
	// its own.
	AWS func(context.Context) (aws.Config, error)
}

// Load reads the configuration from the environment and, for the ARNs it
// names, from Secrets Manager: FromEnv, then ReadSecrets.
func Load(ctx context.Context, opts Options) (Config, error) {
	c, err := FromEnv()
	if err != nil {
		return c, err
	}
	err = c.ReadSecrets(ctx, opts)
	return c, err
}

// FromEnv reads what the environment gives, without a network call: all
// but the keys and the Sentry DSN, which ReadSecrets adds. (A Lambda
// container opens its database connection while it reads the secrets.)
func FromEnv() (Config, error) {
	c := Config{
		DatabaseURL:     os.Getenv("DATABASE_URL"),
		ReadDatabaseURL: os.Getenv("READ_DATABASE_URL"),
		Environment:     envOr("WALLETS_ENV", "local"),
		Region:          os.Getenv("AWS_REGION"),
		IAMAuth:         os.Getenv("DATABASE_IAM_AUTH") == "true",
	}
	if host := os.Getenv("DATABASE_HOST"); host != "" && c.DatabaseURL == "" {
		c.DatabaseURL = dsn(host)
		c.ProxyTLS = true
		if read := os.Getenv("DATABASE_READ_HOST"); read != "" && c.ReadDatabaseURL == "" {
			c.ReadDatabaseURL = dsn(read)
		}
	}
	var err error
	if c.StatementTimeout, err = time.ParseDuration(envOr("DB_STATEMENT_TIMEOUT", "5s")); err != nil {
		return c, fmt.Errorf("DB_STATEMENT_TIMEOUT: %w", err)
	}
	maxConns, err := strconv.Atoi(envOr("DB_MAX_CONNS", "2"))
	if err != nil || maxConns < 1 {
		return c, fmt.Errorf("DB_MAX_CONNS: %q is not a positive number", os.Getenv("DB_MAX_CONNS"))
	}
	c.MaxConns = int32(maxConns)
	if c.KeyTTL, err = time.ParseDuration(envOr("SECRETS_REFRESH", "5m")); err != nil || c.KeyTTL <= 0 {
		return c, fmt.Errorf("SECRETS_REFRESH: %q is not a positive duration", os.Getenv("SECRETS_REFRESH"))
	}
	if c.WebhookRetryBase, err = time.ParseDuration(envOr("WEBHOOK_RETRY_BASE", "1s")); err != nil || c.WebhookRetryBase <= 0 {
		return c, fmt.Errorf("WEBHOOK_RETRY_BASE: %q is not a positive duration", os.Getenv("WEBHOOK_RETRY_BASE"))
	}
	return c, nil
}

// KeyVar names the environment variables of a key.
type KeyVar struct {
	// ARN names the Secrets Manager secret holding the key (its string
	// value; AWSCURRENT and AWSPREVIOUS versions).
	ARN string
	// Value and Previous hold the key itself and, during a rotation, the
	// previous one, for local use (the ARN wins).
	Value, Previous string
}

// KeyVars are the environment variables of each key.
var KeyVars = map[route.Key]KeyVar{
	route.TokenKey:  {ARN: route.TokenKey.SecretARNVar(), Value: "JWT_SECRET", Previous: "JWT_SECRET_PREVIOUS"},
	route.CursorKey: {ARN: route.CursorKey.SecretARNVar(), Value: "CURSOR_SECRET", Previous: "CURSOR_SECRET_PREVIOUS"},
}

// ReadSecrets reads the keys opts.Keys names into c.Keys (each one's
// current and previous versions, concurrently) and the Sentry DSN: from
// Secrets Manager for the ARNs the environment names, else from the
// environment.
func (c *Config) ReadSecrets(ctx context.Context, opts Options) error {
	loadAWS := opts.AWS
	if loadAWS == nil {
		loadAWS = AWSLoader()
	}
	client := sync.OnceValues(func() (*secretsmanager.Client, error) {
		awsCfg, err := loadAWS(ctx)
		if err != nil {
			return nil, err
		}
		return secretsmanager.NewFromConfig(awsCfg), nil
	})
	type ring struct {
		key  route.Key
		ring *keys.Ring
		err  error
	}
	rings := make(chan ring, len(opts.Keys))
	for _, k := range opts.Keys {
		go func() {
			src, err := c.keySource(k, opts, client)
			if err != nil {
				rings <- ring{key: k, err: err}
				return
			}
			r, err := keys.NewRing(ctx, string(k), src, keys.Options{TTL: c.KeyTTL})
			rings <- ring{key: k, ring: r, err: err}
		}()
	}
	var err error
	if c.SentryDSN, err = c.sentryDSN(ctx, client); err != nil {
		err = fmt.Errorf("read secret SENTRY_DSN_SECRET_ARN: %w", err)
	}
	c.Keys = map[route.Key]*keys.Ring{}
	for range opts.Keys {
		r := <-rings
		if r.err != nil {
			err = errors.Join(err, r.err)
			continue
		}
		c.Keys[r.key] = r.ring
	}
	return err
}

// keySource returns where key k comes from.
func (c *Config) keySource(k route.Key, opts Options, client func() (*secretsmanager.Client, error)) (keys.Source, error) {
	v, known := KeyVars[k]
	if !known {
		return nil, fmt.Errorf("no such key %q", k)
	}
	if arn := os.Getenv(v.ARN); arn != "" {
		sm, err := client()
		if err != nil {
			return nil, err
		}
		return keys.SecretsManager(sm, arn), nil
	}
	set := keys.Set{Current: []byte(os.Getenv(v.Value)), Previous: []byte(os.Getenv(v.Previous))}
	if len(set.Current) == 0 {
		if !opts.AllowRandomKey {
			return nil, fmt.Errorf("no %s key: set %s (Secrets Manager) or %s", k, v.ARN, v.Value)
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("random %s key: %w", k, err)
		}
		set = keys.Set{Current: []byte(hex.EncodeToString(b))}
	}
	return keys.Static(set), nil
}

// sentryDSN reads the DSN: secret SENTRY_DSN_SECRET_ARN, else SENTRY_DSN.
// The deployment creates the secret holding SentryDisabled until an
// operator stores a real DSN; that reads as none.
func (c *Config) sentryDSN(ctx context.Context, client func() (*secretsmanager.Client, error)) (string, error) {
	dsn := os.Getenv("SENTRY_DSN")
	if arn := os.Getenv("SENTRY_DSN_SECRET_ARN"); arn != "" {
		sm, err := client()
		if err != nil {
			return "", err
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
		if err != nil {
			return "", err
		}
		if out.SecretString == nil {
			return "", errors.New("no string value")
		}
		dsn = strings.TrimSpace(*out.SecretString)
	}
	if dsn == SentryDisabled {
		return "", nil
	}
	return dsn, nil
}

// AWSLoader returns a function that builds the AWS configuration (region,
// credentials, endpoints) from the environment at its first call and returns
// the same one afterwards, so that the Secrets Manager client and RDS IAM
// authentication share one (package awsenv: the HTTP client trusts the roots
// of package awstrust and AWS_CA_BUNDLE's, not the system's store).
func AWSLoader() func(context.Context) (aws.Config, error) {
	load := sync.OnceValues(awsenv.Load)
	return func(context.Context) (aws.Config, error) { return load() }
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// dsn builds the URL of an RDS Proxy endpoint: TLS verified, the user
// authenticating with IAM tokens (no password in the URL). The user is
// DATABASE_USER, by default the runtime role (migrations.RuntimeRole); the
// migrate function is given the schema's owner.
func dsn(host string) string {
	return fmt.Sprintf("postgres://%s@%s:%s/%s?sslmode=verify-full",
		envOr("DATABASE_USER", DefaultDatabaseUser), host, envOr("DATABASE_PORT", "5432"), envOr("DATABASE_NAME", "wallets"))
}

// DefaultDatabaseUser is the role the functions connect as when
// DATABASE_USER is unset: the runtime role the migrations create.
const DefaultDatabaseUser = "wallets_app"

// StaticKeys are rings that never change over the token key token and the
// cursor key cursor, for a Config built in code (tests, benchmarks).
func StaticKeys(token, cursor []byte) (map[route.Key]*keys.Ring, error) {
	t, err := keys.StaticRing(string(route.TokenKey), keys.Set{Current: token})
	if err != nil {
		return nil, err
	}
	c, err := keys.StaticRing(string(route.CursorKey), keys.Set{Current: cursor})
	if err != nil {
		return nil, err
	}
	return map[route.Key]*keys.Ring{route.TokenKey: t, route.CursorKey: c}, nil
}
