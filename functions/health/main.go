// Command health is the Lambda function of route "health" (see internal/route):
// it reports the database's reachability.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("health", (*api.Server).Health, func(e *app.Env) api.Services {
		return api.Services{Health: e.Health()}
	})
}
