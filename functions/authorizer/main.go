// Command authorizer is the API Gateway REQUEST authorizer: it verifies the
// caller's JWT and passes the principal to the route functions.
package main

import "wallets/internal/app"

func main() { app.StartAuthorizer() }
