// Command migrate is the Lambda function that applies the database
// migrations; the deployment invokes it before the new API takes traffic.
// It is the only function that links the migration runner.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"wallets/internal/config"
	"wallets/internal/obs"
	"wallets/internal/postgres/migrate"
)

func main() {
	// One JSON line per event, tagged like the other functions' lines.
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "migrate", "version", obs.Version))
	cfg, err := config.Load(context.Background(), config.Options{}) // it holds no key
	if err != nil {
		slog.Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	region := ""
	if cfg.IAMAuth {
		region = cfg.Region
	}
	lambda.Start(migrate.Handler(cfg.DatabaseURL, region))
}
