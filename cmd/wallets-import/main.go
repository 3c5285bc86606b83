// Command wallets-import carries the old Django service's users, wallets and
// transactions into this service's database, for `make import FROM=…`.
//
// Usage:
//
//	DATABASE_URL=postgres://…/wallets wallets-import -from postgres://…/django
//
// It migrates DATABASE_URL first, then imports (package djangoimport),
// printing progress on stderr and the report on stdout. It is idempotent
// and resumable: run it again after a failure or an interruption. Exit
// status: 0 imported, 2 refused (the data needs a human decision; nothing
// was written; each case is listed), 1 any other failure.
//
// Flags:
//
//	-from URL         the old database (default $FROM)
//	-batch N          rows per database transaction (default 5000)
//	-iam-region R     authenticate to DATABASE_URL with RDS IAM tokens
//	                  (a role with rds-db:connect), as the functions do,
//	                  signed with the AWS SDK's default credentials (the
//	                  environment, a profile, SSO, an instance or task
//	                  role), refreshed as they expire
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"wallets/internal/djangoimport"
	"wallets/internal/postgres"
	"wallets/internal/postgres/migrate"
)

func main() {
	os.Exit(run())
}

func run() int {
	from := flag.String("from", os.Getenv("FROM"), "the old Django database URL")
	batch := flag.Int("batch", 5000, "rows per database transaction")
	iamRegion := flag.String("iam-region", "", "authenticate to DATABASE_URL with RDS IAM tokens of this region")
	flag.Parse()
	target := os.Getenv("DATABASE_URL")
	if *from == "" || target == "" {
		fmt.Fprintln(os.Stderr, "wallets-import: set FROM (or -from) to the old database and DATABASE_URL to the new one")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// An operator's credentials, from wherever the SDK finds them; the
	// functions read theirs from the environment (package awsenv).
	loadAWS := sync.OnceValues(func() (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) })
	opts := postgres.PoolOptions{MaxConns: 4, StatementTimeout: 24 * time.Hour, ConnectTimeout: 30 * time.Second,
		AWS: func(context.Context) (aws.Config, error) { return loadAWS() }}
	applied, err := migrate.UpWith(ctx, target, *iamRegion, opts.AWS)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wallets-import: %v\n", err)
		return 1
	}
	for _, m := range applied {
		fmt.Fprintf(os.Stderr, "migrated: %s\n", m)
	}
	// Long statements: the old transactions are streamed by one query.
	old, err := postgres.Open(ctx, *from, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wallets-import: old database: %v\n", err)
		return 1
	}
	defer old.Close()
	opts.IAMRegion = *iamRegion
	db, err := postgres.Open(ctx, target, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wallets-import: new database: %v\n", err)
		return 1
	}
	defer db.Close()

	report, err := djangoimport.Run(ctx, old, db, djangoimport.Options{BatchSize: *batch, Progress: os.Stderr, Source: *from})
	if refused, ok := errors.AsType[*djangoimport.RefusedError](err); ok {
		fmt.Fprintln(os.Stderr, refused.Error())
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "wallets-import: %v\n(what was written stays; run it again to resume)\n", err)
		return 1
	}
	if _, err := report.WriteTo(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "wallets-import: %v\n", err)
		return 1
	}
	return 0
}
