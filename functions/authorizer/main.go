// Command authorizer is the API's Lambda REQUEST authorizer: it verifies
// the caller's JWT and passes the principal to the handlers.
package main

import "wallets/internal/app"

func main() { app.ServeAuthorizer() }
