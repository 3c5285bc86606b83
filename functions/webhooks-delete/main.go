// Command webhooks-delete is the Lambda function of route "webhooks-delete" (see internal/route):
// it deletes one of the caller's webhook endpoints.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("webhooks-delete", (*api.Server).DeleteWebhook, func(e *app.Env) api.Services {
		return api.Services{Events: e.Events()}
	})
}
