// Command webhooks-create is the Lambda function of route "webhooks-create" (see internal/route):
// it registers a webhook endpoint of the caller's.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("webhooks-create", (*api.Server).CreateWebhook, func(e *app.Env) api.Services {
		return api.Services{Events: e.Events(), WebhookURLs: e.WebhookURLs()}
	})
}
