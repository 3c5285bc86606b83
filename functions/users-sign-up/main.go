// Command users-sign-up is the Lambda function of route "users-sign-up" (see internal/route):
// it creates an account.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
	"wallets/internal/passhash"
)

func main() {
	app.Serve("users-sign-up", (*api.Server).SignUp, func(e *app.Env) api.Services {
		return api.Services{Users: e.Users(passhash.Argon2id{})}
	})
}
