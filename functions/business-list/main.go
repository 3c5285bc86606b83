// Command business-list is the Lambda function of route "business-list" (see internal/route):
// it lists the active businesses.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("business-list", (*api.Server).ListBusinesses, func(e *app.Env) api.Services {
		return api.Services{Wallets: e.Wallets()}
	})
}
