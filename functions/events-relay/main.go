// Command events-relay is the events relay: an EventBridge schedule invokes
// it every minute, and for about a minute it carries committed events out
// of the outbox (the events table) to the event bus and, one message per
// matching webhook endpoint, to the delivery queue (see package relay).
package main

import "wallets/internal/relayenv"

func main() { relayenv.ServeRelay() }
