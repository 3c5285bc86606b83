// Command users-me-get is the Lambda function of route "users-me-get" (see internal/route):
// it answers the caller's profile.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("users-me-get", (*api.Server).Me, func(e *app.Env) api.Services {
		return api.Services{Users: e.Users(nil)}
	})
}
