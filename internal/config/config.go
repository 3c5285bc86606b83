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
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"wallets/internal/awsenv"
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
	// JWTKey signs tokens and cursors: Secrets Manager secret JWT_SECRET_ARN,
	// else JWT_SECRET.
	JWTKey []byte
	// JWTPreviousKey still verifies tokens during a key rotation: the
	// secret's AWSPREVIOUS version (Secrets Manager moves the replaced value
	// there on put-secret-value), else JWT_SECRET_PREVIOUS; nil when none,
	// or when read with Options.SigningOnly.
	JWTPreviousKey []byte
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
}

// SentryDisabled in the Sentry DSN secret turns error reporting off (see
// package sentrydsn, which the CDK app shares).
const SentryDisabled = sentrydsn.Disabled

// Options change how Load fills the gaps.
type Options struct {
	// AllowRandomKey lets Load invent a JWT key when none is configured
	// (the local server on a throwaway database); Lambda refuses to start.
	AllowRandomKey bool
	// SigningOnly: the process signs tokens but verifies none (every Lambda
	// function but the authorizer), so ReadSecrets leaves out the JWT key's
	// previous version, one Secrets Manager call fewer at a cold start.
	SigningOnly bool
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
// but the JWT keys and the Sentry DSN, which ReadSecrets adds. (A Lambda
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
	return c, nil
}

// ReadSecrets sets the JWT keys and the Sentry DSN: from Secrets Manager
// for the ARNs the environment names (calls in a row on one connection: the
// JWT key's current version and, unless opts.SigningOnly, its previous one;
// the DSN), else from the environment.
func (c *Config) ReadSecrets(ctx context.Context, opts Options) error {
	loadAWS := opts.AWS
	if loadAWS == nil {
		loadAWS = AWSLoader()
	}
	var secrets *secretsmanager.Client
	secretVersion := func(arnVar, plainVar, stage string) (string, error) {
		arn := os.Getenv(arnVar)
		if arn == "" {
			return os.Getenv(plainVar), nil
		}
		if secrets == nil {
			awsCfg, err := loadAWS(ctx)
			if err != nil {
				return "", err
			}
			secrets = secretsmanager.NewFromConfig(awsCfg)
		}
		in := &secretsmanager.GetSecretValueInput{SecretId: &arn}
		if stage != "" {
			in.VersionStage = &stage
		}
		out, err := secrets.GetSecretValue(ctx, in)
		var missing *smtypes.ResourceNotFoundException
		if stage != "" && errors.As(err, &missing) {
			return "", nil // no such version yet: the secret was never rotated
		}
		if err != nil {
			return "", fmt.Errorf("read secret %s: %w", arnVar, err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("secret %s has no string value", arnVar)
		}
		return strings.TrimSpace(*out.SecretString), nil
	}
	secret := func(arnVar, plainVar string) (string, error) { return secretVersion(arnVar, plainVar, "") }
	key, err := secret("JWT_SECRET_ARN", "JWT_SECRET")
	if err != nil {
		return err
	}
	if !opts.SigningOnly {
		previous, err := secretVersion("JWT_SECRET_ARN", "JWT_SECRET_PREVIOUS", "AWSPREVIOUS")
		if err != nil {
			return err
		}
		if previous != "" && previous != key {
			c.JWTPreviousKey = []byte(previous)
		}
	}
	switch {
	case key != "":
		c.JWTKey = []byte(key)
	case opts.AllowRandomKey:
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("random jwt key: %w", err)
		}
		c.JWTKey = []byte(hex.EncodeToString(b))
	default:
		return errors.New("no JWT key: set JWT_SECRET_ARN (Secrets Manager) or JWT_SECRET")
	}
	if c.SentryDSN, err = secret("SENTRY_DSN_SECRET_ARN", "SENTRY_DSN"); err != nil {
		return err
	}
	// The deployment creates the DSN secret holding this placeholder until
	// an operator stores a real DSN.
	if c.SentryDSN == SentryDisabled {
		c.SentryDSN = ""
	}
	return nil
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
// authenticating with IAM tokens (no password in the URL).
func dsn(host string) string {
	return fmt.Sprintf("postgres://%s@%s:%s/%s?sslmode=verify-full",
		envOr("DATABASE_USER", "wallets"), host, envOr("DATABASE_PORT", "5432"), envOr("DATABASE_NAME", "wallets"))
}
