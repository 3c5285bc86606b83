// Command infra is the CDK app of Wallets: run by the CDK CLI (cdk.json),
// it synthesizes the stacks of one stage (-c stage=NAME) into cdk.out/.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	s, err := LoadSettings(app)
	if err == nil {
		_, err = NewWallets(app, s)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
	app.Synth(nil)
}
