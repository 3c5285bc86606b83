// Command wallets-deposit is the Lambda function of route "wallets-deposit" (see internal/route):
// it deposits into one of the caller's wallets.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("wallets-deposit", (*api.Server).Deposit, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
