// Command users-login is the Lambda function of route "users-login" (see internal/route):
// it exchanges a username and password for a token.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
	"wallets/internal/passhash"
)

func main() {
	app.Serve("users-login", (*api.Server).LogIn, func(e *app.Env) api.Services {
		return api.Services{Users: e.Users(passhash.Argon2id{})}
	})
}
