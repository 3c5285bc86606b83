// Package postgres implements the domain services in SQL on PostgreSQL
// (Aurora behind RDS Proxy in AWS): Wallets is wallet.Service, Users is
// user.Service, Idempotency is idempotency.Runner, Health pings the
// database, and Open makes the connection pools they share. Migrations are
// in package migrate, so that only the migrate function links goose.
//
// Every error a service returns is either an *apperr.Error the domain names
// or a fault; a fault that means the database could not be reached carries
// apperr.ErrUnavailable in its chain, with the driver's error after it.
//
// # Units of work
//
// Idempotency.Run hands its work the claim's *Unit; the work binds the
// services whose writes must commit with the stored answer to it,
// (*Wallets).In(u), (*Users).In(u), (*Events).In(u) (internal/app does so
// for api.Tx through idempotency.Bind). Nothing rides in the context: which writes commit
// together is in the types. A service is written in this pattern:
//
//   - its struct holds a scope, scope{pool: writer} from its constructor,
//     and its In(u) returns a copy whose scope.unit is u;
//   - each method's body is unexported (deposit, signUp) and writes only
//     through s.scope.inTx or s.scope.inStatement, which run on the unit's
//     transaction (begun on first use, holding the claim) when the service
//     is bound, else on the pool, committing on their own; statements that
//     must commit on their own whatever the binding (a throttle's) use the
//     pool directly;
//   - the exported method, in services.go, is the boundary and the only
//     place that ends the body: `v, err := s.deposit(…); return v,
//     s.scope.wrote(err)` for a method that writes in the unit (any error
//     then keeps the unit from committing, except a refusal the body
//     returns as committed{err}, which commits), `return read(s.list(…))`
//     or classify(err) for one that does not. Both classify the error
//     (apperr.ErrUnavailable), so no body calls classify, or marks the unit,
//     itself.
//
// A bound service kept past its work writes no more (ErrUnitEnded).
package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	rdsauth "github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/awsenv"
)

// PoolOptions size a pool. The zero value fits one Lambda container.
type PoolOptions struct {
	// MaxConns is the pool size: 2 in Lambda (one request at a time, plus
	// one for a health ping), larger for the local server.
	MaxConns int32
	// StatementTimeout bounds every statement on the server.
	StatementTimeout time.Duration
	// ConnectTimeout bounds dialling a new connection.
	ConnectTimeout time.Duration
	// IAMRegion, when set, makes every new connection authenticate with a
	// fresh RDS IAM token for the URL's user (RDS Proxy with IAM auth).
	IAMRegion string
	// AWS, when set, loads the AWS configuration whose credentials sign the
	// IAM tokens (a process shares one); nil builds one from the
	// environment (package awsenv).
	AWS func(context.Context) (aws.Config, error)
	// RootCAs, when set, is the trust store the server's certificate is
	// verified against (with sslmode verify-ca or verify-full), instead of
	// the URL's sslrootcert or the system's.
	RootCAs *x509.CertPool
	// Fallback, when set, is the URL of a server to connect to instead when
	// url's server is unreachable or does not answer a probe within
	// ProbeTimeout: the reader pool falls back to the writer during a
	// reader failover (see withFallback). Only its hosts, ports, TLS and
	// password are used; user and database are url's.
	Fallback string
	// ProbeTimeout bounds the probe (SELECT 1) a new connection to url must
	// answer when Fallback is set; default 1s.
	ProbeTimeout time.Duration
}

// Open returns a pool for url fit for Lambda and RDS Proxy: small, using the
// extended protocol without named prepared statements (they pin RDS Proxy
// sessions), with a server-side statement timeout and a dial timeout, so a
// database outage fails requests fast and the pool re-dials afterwards.
// Open does not connect; the first query does.
func Open(ctx context.Context, url string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 2
	}
	if opts.StatementTimeout <= 0 {
		opts.StatementTimeout = 5 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 3 * time.Second
	}
	cfg.MaxConns = opts.MaxConns
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt((4 * opts.StatementTimeout).Milliseconds(), 10)
	var sign signer // one AWS configuration per pool, loaded at most once
	if opts.IAMRegion != "" {
		if sign, err = iamSigner(ctx, opts.IAMRegion, opts.AWS); err != nil {
			return nil, err
		}
		cfg.BeforeConnect = iamHook(sign)
	}
	if opts.Fallback != "" {
		if err := withFallback(cfg, opts, sign); err != nil {
			return nil, err
		}
	}
	if opts.RootCAs != nil {
		setRoots(cfg.ConnConfig.TLSConfig, opts.RootCAs)
		for _, f := range cfg.ConnConfig.Fallbacks {
			setRoots(f.TLSConfig, opts.RootCAs)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	return pool, nil
}

// Warm makes a connection of pool and leaves it idle in the pool, for the
// next query: a Lambda container warms its pools during its init. An error
// that means the database is unreachable carries apperr.ErrUnavailable.
func Warm(ctx context.Context, pool *pgxpool.Pool) error {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return classify(fmt.Errorf("warm pool: %w", err))
	}
	c.Release()
	return nil
}

// setRoots makes c verify servers against roots (pgconn's verify-ca check
// reads c.RootCAs too).
func setRoots(c *tls.Config, roots *x509.CertPool) {
	if c != nil {
		c.RootCAs = roots
	}
}

// IAMAuth returns a hook that gives each new connection a fresh RDS IAM
// authentication token (valid 15 minutes) for its user, as RDS Proxy with
// IAM authentication requires, signed with the credentials of the AWS
// configuration load returns (nil: the environment's, package awsenv); the
// hook signs locally, without a network call.
func IAMAuth(ctx context.Context, region string, load func(context.Context) (aws.Config, error)) (func(context.Context, *pgx.ConnConfig) error, error) {
	sign, err := iamSigner(ctx, region, load)
	if err != nil {
		return nil, err
	}
	return iamHook(sign), nil
}

// iamHook is the BeforeConnect hook that sets a connection's password to a
// token sign makes for its host, port and user.
func iamHook(sign signer) func(context.Context, *pgx.ConnConfig) error {
	return func(ctx context.Context, cc *pgx.ConnConfig) error {
		token, err := sign(ctx, cc.Host, cc.Port, cc.User)
		if err != nil {
			return err
		}
		cc.Password = token
		return nil
	}
}

// signer signs an RDS IAM authentication token for a user at host:port.
type signer func(ctx context.Context, host string, port uint16, user string) (string, error)

// iamSigner returns a signer with the AWS credentials load returns (nil:
// the environment's, package awsenv), for region.
func iamSigner(ctx context.Context, region string, load func(context.Context) (aws.Config, error)) (signer, error) {
	var awsCfg aws.Config
	var err error
	if load == nil {
		awsCfg, err = awsenv.Load()
	} else {
		awsCfg, err = load(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("aws config for iam auth: %w", err)
	}
	return func(ctx context.Context, host string, port uint16, user string) (string, error) {
		token, err := rdsauth.BuildAuthToken(ctx, fmt.Sprintf("%s:%d", host, port), region, user, awsCfg.Credentials)
		if err != nil {
			return "", fmt.Errorf("rds iam token: %w", err)
		}
		return token, nil
	}, nil
}

// querier is what queries run on: a pool, a connection or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// uniqueViolation returns the constraint name when err is a unique violation.
func uniqueViolation(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	return "", false
}

// foreignKeyViolation returns the constraint a foreign key violation names,
// and whether err is one.
func foreignKeyViolation(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return pgErr.ConstraintName, true
	}
	return "", false
}
