// Command users-change-password is the Lambda function of route "users-change-password" (see internal/route):
// it changes the caller's password.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
	"wallets/internal/passhash"
)

func main() {
	app.Serve("users-change-password", (*api.Server).ChangePassword, func(e *app.Env) api.Services {
		return api.Services{Users: e.Users(passhash.Argon2id{})}
	})
}
