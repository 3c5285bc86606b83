// Command wallets-list is the Lambda function of route "wallets-list" (see internal/route):
// it lists the caller's wallets.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("wallets-list", (*api.Server).ListWallets, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
