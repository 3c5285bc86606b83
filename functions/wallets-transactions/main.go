// Command wallets-transactions is the Lambda function of route "wallets-transactions" (see internal/route):
// it lists a wallet's transactions.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("wallets-transactions", (*api.Server).WalletTransactions, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
