// Command webhooks-list is the Lambda function of route "webhooks-list" (see internal/route):
// it lists the caller's webhook endpoints.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("webhooks-list", (*api.Server).ListWebhooks, func(e *app.Env) api.Services {
		return api.Services{Events: e.Events()}
	})
}
