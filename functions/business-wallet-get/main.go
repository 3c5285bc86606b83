// Command business-wallet-get is the Lambda function of one API route; see api.Routes.
package main

import "wallets/internal/app"

func main() { app.Start("business-wallet-get") }
