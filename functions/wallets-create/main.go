// Command wallets-create is the Lambda function of route "wallets-create" (see internal/route):
// it opens a wallet.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("wallets-create", (*api.Server).OpenWallet, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
