// Command openapi is the Lambda function of route "openapi" (see internal/route):
// it serves the OpenAPI document.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("openapi", (*api.Server).OpenAPI, func(*app.Env) api.Services { return api.Services{} })
}
