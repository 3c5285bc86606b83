// Command migrate applies the database migrations; the deployment invokes it
// before the new API takes traffic.
package main

import "wallets/internal/app"

func main() { app.StartMigrate() }
