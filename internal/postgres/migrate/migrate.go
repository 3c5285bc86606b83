// Package migrate applies the schema migrations of wallets/migrations with
// goose. It is its own package so that only the binaries that migrate (the
// migrate function, the local server, tests) link goose.
package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"wallets/internal/postgres"
	"wallets/migrations"
)

// Up applies every pending migration in wallets/migrations to the database
// at databaseURL (a postgres:// URL or a keyword/value DSN) and returns the
// file names of those it applied, in order; none when the schema is up to
// date. goose records the applied versions in goose_db_version. With
// iamRegion set, each connection authenticates with an RDS IAM token for
// that region signed with the environment's credentials (postgres.IAMAuth),
// as the migrate function does through RDS Proxy; empty, the URL's own
// credentials are used.
//
// A session-level advisory lock, held for the whole run, makes concurrent
// runs against the same database (two deploys, say) take turns. No named
// prepared statements are used, so it is safe through RDS Proxy. On error the
// returned names are those applied before the failing migration.
func Up(ctx context.Context, databaseURL, iamRegion string) ([]string, error) {
	return UpWith(ctx, databaseURL, iamRegion, nil)
}

// UpWith is Up with the IAM tokens signed with the credentials of the AWS
// configuration loadAWS returns (nil: the environment's): for a tool an
// operator runs with a profile's, SSO's or an instance role's credentials.
func UpWith(ctx context.Context, databaseURL, iamRegion string, loadAWS func(context.Context) (aws.Config, error)) ([]string, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("migrate: parse database URL: %w", err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	var opts []stdlib.OptionOpenDB
	if iamRegion != "" {
		hook, err := postgres.IAMAuth(ctx, iamRegion, loadAWS)
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, stdlib.OptionBeforeConnect(hook))
	}
	db := stdlib.OpenDB(*cfg, opts...)
	defer db.Close()

	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migrate: create locker: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS,
		goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrate: load migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if partial, ok := errors.AsType[*goose.PartialError](err); ok {
		results = partial.Applied
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	if err != nil {
		return applied, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}
