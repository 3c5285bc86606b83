// Command users-logout is the Lambda function of route "users-logout" (see internal/route):
// it revokes the presented token.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("users-logout", (*api.Server).LogOut, func(e *app.Env) api.Services {
		return api.Services{Users: e.Users(nil)}
	})
}
