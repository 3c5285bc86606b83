// Command charges-create is the Lambda function of route "charges-create" (see internal/route):
// it opens a charge at a business.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("charges-create", (*api.Server).OpenCharge, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
