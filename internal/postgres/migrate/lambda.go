package migrate

import (
	"context"
	"log/slog"
)

// Result is what the migrate function answers.
type Result struct {
	Applied []string `json:"applied"`
}

// Handler returns the migrate function's Lambda handler: it applies every
// pending migration to databaseURL (authenticating with RDS IAM tokens for
// iamRegion, when set) and answers the files it applied. The deployment
// invokes it before the new API takes traffic.
func Handler(databaseURL, iamRegion string) func(ctx context.Context) (Result, error) {
	return func(ctx context.Context) (Result, error) {
		applied, err := Up(ctx, databaseURL, iamRegion)
		if err != nil {
			slog.Error("migrate failed", "error", err.Error())
			return Result{}, err
		}
		slog.Info("migrated", "applied", applied)
		return Result{Applied: applied}, nil
	}
}
