// Command business-wallet-create is the Lambda function of route "business-wallet-create" (see internal/route):
// it opens the business's wallet.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("business-wallet-create", (*api.Server).OpenBusinessWallet, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
