// Command business-transactions is the Lambda function of route "business-transactions" (see internal/route):
// it lists the charges made at the business.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("business-transactions", (*api.Server).BusinessTransactions, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
