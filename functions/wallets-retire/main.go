// Command wallets-retire is the Lambda function of route "wallets-retire" (see internal/route):
// it withdraws from one of the caller's wallets.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("wallets-retire", (*api.Server).Retire, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
