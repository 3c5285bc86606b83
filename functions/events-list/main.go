// Command events-list is the Lambda function of route "events-list" (see internal/route):
// it lists the events of the caller's money.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("events-list", (*api.Server).ListEvents, func(e *app.Env) api.Services {
		return api.Services{Events: e.Events()}
	})
}
