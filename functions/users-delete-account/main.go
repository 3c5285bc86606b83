// Command users-delete-account is the Lambda function of route "users-delete-account" (see internal/route):
// it deactivates the caller's account.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("users-delete-account", (*api.Server).DeleteAccount, func(e *app.Env) api.Services {
		return api.Services{Users: e.Users(nil)}
	})
}
