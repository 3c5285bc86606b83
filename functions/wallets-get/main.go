// Command wallets-get is the Lambda function of route "wallets-get" (see internal/route):
// it answers one of the caller's wallets.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("wallets-get", (*api.Server).Wallet, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
