// Command infra is the CDK app of Wallets: run by the CDK CLI (cdk.json),
// it synthesizes the stacks of one stage (-c stage=NAME) into cdk.out/.
// The stacks and their parts live under internal/ (see the README).
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/settings"
	"wallets/infra/internal/stacks"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	s, err := settings.Load(app)
	if err == nil {
		_, err = stacks.NewWallets(app, s)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
	app.Synth(nil)
}
