// Command rotate-key is the rotation function of the service's HMAC keys
// (the Secrets Manager secrets wallets/<stage>/jwt-key and
// wallets/<stage>/cursor-key): Secrets Manager invokes it once per step of
// a rotation (createSecret, setSecret, testSecret, finishSecret; see
// package keyrotation). It opens no database connection.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wallets/internal/config"
	"wallets/internal/keyrotation"
	"wallets/internal/obs"
)

func main() {
	// One JSON line per step, tagged like the other functions' lines.
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", "rotate-key", "version", obs.Version)
	slog.SetDefault(log)
	awsCfg, err := config.AWSLoader()(context.Background())
	if err != nil {
		log.Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	client := secretsmanager.NewFromConfig(awsCfg)
	lambda.Start(func(ctx context.Context, ev keyrotation.Event) error {
		l := log
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			l = l.With("aws_request_id", lc.AwsRequestID)
		}
		r := keyrotation.Rotator{Client: client, Log: l}
		return r.Handle(ctx, ev)
	})
}
