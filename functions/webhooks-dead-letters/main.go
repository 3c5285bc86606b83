// Command webhooks-dead-letters is the Lambda function of route "webhooks-dead-letters" (see internal/route):
// it lists the deliveries an endpoint of the caller's never accepted.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("webhooks-dead-letters", (*api.Server).WebhookDeadLetters, func(e *app.Env) api.Services {
		return api.Services{Events: e.Events()}
	})
}
