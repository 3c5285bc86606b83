// Command users-me-update is the Lambda function of route "users-me-update" (see internal/route):
// it updates the caller's profile.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("users-me-update", (*api.Server).UpdateMe, func(e *app.Env) api.Services {
		return api.Services{Users: e.Users(nil)}
	})
}
