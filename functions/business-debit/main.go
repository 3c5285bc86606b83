// Command business-debit is the Lambda function of route "business-debit" (see internal/route):
// it collects a charge.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("business-debit", (*api.Server).Collect, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
