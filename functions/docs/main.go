// Command docs is the Lambda function of route "docs" (see internal/route):
// it serves the API reference page, the only function that carries the
// renderer's bundle.
package main

import (
	"wallets/internal/api"
	"wallets/internal/app"
)

func main() {
	app.Serve("docs", (*api.Server).Docs, func(*app.Env) api.Services { return api.Services{} })
}
