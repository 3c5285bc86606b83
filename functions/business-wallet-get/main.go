// Command business-wallet-get is the Lambda function of route "business-wallet-get" (see internal/route):
// it answers the business's wallet.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("business-wallet-get", (*api.Server).BusinessWallet, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
