// Command webhooks-deliver is the webhook delivery worker: the delivery
// queue's event source mapping invokes it with batches of messages, and it
// makes one signed delivery attempt per message, bringing the message back
// when the next attempt is due (see package relay).
package main

import "wallets/internal/relayenv"

func main() { relayenv.ServeDeliveries() }
