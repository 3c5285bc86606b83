// Command charges-list is the Lambda function of route "charges-list" (see internal/route):
// it lists the caller's charges at a business.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("charges-list", (*api.Server).ListCharges, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
