package route

import "slices"

// Routes returns the route table: each route declared once, with what its
// function serves, who may call it, the services and keys it uses, its size
// and its documentation. The result is a fresh copy.
//
// To add a route: declare it here, write its handler (a method of
// api.Server, bound by Function in api.Handlers) and run `make functions`,
// which writes its one-line functions/<Function>/main.go. The CDK app, the
// local gateway and the OpenAPI document read it from here.
//
// Function names are deployed state (the Lambda functions' names, their
// log groups and alarms): renaming one replaces its function in AWS, so a
// few read differently from their handlers: wallets-retire is the Withdraw
// handler (the path keeps the original service's /retire), business-debit
// the Collect handler (collect_charge in SQL).
func Routes() []Route {
	return slices.Concat(userRoutes(), walletRoutes(), businessRoutes(), eventRoutes(), serviceRoutes())
}

func userRoutes() []Route {
	return []Route{
		{Function: "users-sign-up", Methods: []string{post}, Path: Prefix + "/users/sign-up", Access: Public,
			Summary: "Create a customer or business account.", Uses: UsesPasswords, MemoryMB: hashMemory,
			Doc: Doc{Tag: "Users", Body: "SignUp",
				Answers: []Answer{{Status: 201, Description: "The new user.", Schema: "User"}},
				Refusals: map[int]string{400: "The passwords differ (`{\"password\": [\"Password mismatch\"]}`), the username or " +
					"email is taken, the email is not an email, or the password is weak (fewer than 8 characters, entirely " +
					"numeric, commonly used, or too similar to the username or email)."}}},
		{Function: "users-login", Methods: []string{post}, Path: Prefix + "/users/login", Access: Public,
			Summary: "Exchange a username and password for a JWT.", Uses: UsesPasswords, MemoryMB: hashMemory, Keys: []Key{TokenKey},
			Doc: Doc{Tag: "Users", Body: "Login",
				Answers: []Answer{{Status: 200, Description: "The token, also set as the `jwt` cookie; it expires after 7 days.",
					Schema: "LoginResponse", Headers: setsCookie()}},
				Refusals: map[int]string{
					400: "Wrong username or password, or an inactive account: " +
						"`{\"non_field_errors\": [\"Unable to log in with provided credentials.\"]}`.",
					429: "10 failed attempts for this username from this source address, or 100 from all sources, " +
						"within 15 minutes: refused until the oldest leaves the window (`Retry-After` gives the seconds " +
						"left): `{\"detail\": \"Request was throttled. Expected available in N seconds.\"}`. Other " +
						"sources are not refused until the 100.",
				}}},
		{Function: "users-logout", Methods: []string{post}, Path: Prefix + "/users/logout", Access: Optional,
			Summary: "Clear the jwt cookie and revoke the presented token.", Uses: UsesUsers,
			Doc: Doc{Tag: "Users",
				Answers: []Answer{{Status: 204, Description: "Logged out: the cookie is cleared and the presented token (if any) revoked.",
					Headers: clearsCookie()}},
				Description: "Anyone may call it; a presented valid token stops working."}},
		{Function: "users-me-get", Methods: []string{get}, Path: Prefix + "/users/me", Access: User,
			Summary: "The caller's profile.", Uses: UsesUsers,
			Doc: Doc{Tag: "Users",
				Answers: []Answer{{Status: 200, Description: "The caller.", Schema: "User"}}}},
		{Function: "users-me-update", Methods: []string{put, patch}, Path: Prefix + "/users/me", Access: User,
			Summary: "Update the caller's username and names.", Uses: UsesUsers,
			Doc: Doc{Tag: "Users", Body: "ProfileUpdate",
				Answers:     []Answer{{Status: 200, Description: "The updated caller.", Schema: "User"}},
				Refusals:    map[int]string{400: "The username is taken or invalid, or a name is too long."},
				Description: "PUT and PATCH both update only the fields given; `email` and `type` are read-only and ignored."}},
		{Function: "users-change-password", Methods: []string{put, patch}, Path: Prefix + "/users/change-password", Access: User,
			Summary: "Change the caller's password; older tokens stop working.", Uses: UsesPasswords, MemoryMB: hashMemory,
			Doc: Doc{Tag: "Users", Body: "ChangePassword",
				Answers: []Answer{{Status: 200, Description: "`{\"detail\": \"Password updated successfully.\"}`. Every token issued " +
					"before, the presented one included, stops working.", Schema: "Detail"}},
				Refusals: map[int]string{400: "Wrong old password, new password equal to the old one, the new passwords differ, " +
					"or the new password is weak.",
					429: "10 wrong old passwords for this user within 15 minutes: every change, even with the right old " +
						"password, is refused until the oldest leaves the window (`Retry-After` gives the seconds left): " +
						"`{\"detail\": \"Request was throttled. Expected available in N seconds.\"}`. The token keeps " +
						"working for everything else."}}},
		{Function: "users-delete-account", Methods: []string{post}, Path: Prefix + "/users/delete-account", Access: User,
			Summary: "Deactivate the caller's account and revoke its tokens.", Uses: UsesUsers,
			Doc: Doc{Tag: "Users",
				Answers: []Answer{{Status: 204, Description: "The account is deactivated: its tokens stop working and login fails.",
					Headers: clearsCookie()}}}},
	}
}

// walletRoutes are the customers' wallets and charges.
func walletRoutes() []Route {
	cursor := []Key{CursorKey}
	return []Route{
		{Function: "wallets-list", Methods: []string{get}, Path: Prefix + "/wallets/customers/wallets", Access: Customer,
			Summary: "Page of the caller's wallets.", Uses: UsesWallets, Replica: true, Keys: cursor,
			Doc: Doc{Tag: "Wallets", List: PageList,
				Answers: []Answer{{Status: 200, Description: "A page of the caller's wallets.", Schema: "WalletPage"}}}},
		{Function: "wallets-create", Methods: []string{post}, Path: Prefix + "/wallets/customers/wallets", Access: Customer,
			Summary: "Open a new empty wallet.", Uses: UsesWallets,
			Doc: Doc{Tag: "Wallets",
				Answers: []Answer{{Status: 201, Description: "The new empty wallet.", Schema: "Wallet"}}}},
		{Function: "wallets-get", Methods: []string{get}, Path: Prefix + "/wallets/customers/wallets/{uuid}", Access: Customer,
			Summary: "One of the caller's wallets.", Uses: UsesWallets,
			Doc: Doc{Tag: "Wallets",
				Answers:  []Answer{{Status: 200, Description: "The wallet.", Schema: "Wallet"}},
				Refusals: map[int]string{404: notOwnedWallet}}},
		{Function: "wallets-deposit", Methods: []string{put, patch}, Path: Prefix + "/wallets/customers/wallets/{uuid}/deposit", Access: Customer,
			Summary: "Deposit money into one of the caller's wallets.", Uses: UsesWallets,
			Doc: Doc{Tag: "Wallets", Body: "Deposit",
				Answers: []Answer{{Status: 200, Description: "The wallet with its new balance; an accepted deposit " +
					"(type 1, positive amount) is recorded.", Schema: "Wallet"}},
				Refusals: map[int]string{
					400: "`amount` is not positive (`{\"amount\": [\"Amount must be positive\"]}`) or the new balance would " +
						"not fit 11 digits; nothing changes.",
					404: notOwnedWallet,
				},
				Description: "`amount` must be positive."}},
		{Function: "wallets-retire", Methods: []string{put, patch}, Path: Prefix + "/wallets/customers/wallets/{uuid}/retire", Access: Customer,
			Summary: "Withdraw money (a negative amount) from one of the caller's wallets.", Uses: UsesWallets,
			Doc: Doc{Tag: "Wallets", Body: "Withdrawal",
				Answers: []Answer{{Status: 200, Description: "The wallet with its new balance; an accepted type-2 transaction " +
					"with the negative amount is recorded.", Schema: "Wallet"}},
				Refusals: map[int]string{
					400: "`amount` is not negative (`{\"amount\": [\"Amount must be negative\"]}`).",
					404: notOwnedWallet,
					409: "The balance would go negative: `{\"detail\": \"Balance can't be negative\"}`; nothing changes.",
				},
				Description: "`amount` must be negative, as in the original service."}},
		{Function: "wallets-transactions", Methods: []string{get}, Path: Prefix + "/wallets/customers/wallets/{uuid}/transactions", Access: Customer,
			Summary: "Page of one of the caller's wallets' transactions.", Uses: UsesWallets, Replica: true, Keys: cursor,
			Doc: Doc{Tag: "Wallets", List: TransactionList,
				Answers:  []Answer{{Status: 200, Description: "A page of the wallet's transactions, newest first.", Schema: "TransactionPage"}},
				Refusals: map[int]string{404: notOwnedWallet}}},
		{Function: "charges-create", Methods: []string{post}, Path: Prefix + "/wallets/business/{business_id}/customers/transactions", Access: Customer,
			Summary: "Open a pending charge at a business against one of the caller's wallets.", Uses: UsesWallets,
			Doc: Doc{Tag: "Wallets", Body: "Charge",
				Answers: []Answer{{Status: 201, Description: "The pending charge (status 1, type 2, positive amount).",
					Schema: "Transaction"}},
				Refusals: map[int]string{
					400: "`amount` is not positive, or a field is missing or invalid.",
					404: notBusiness + " Or `wallet` is not one of the caller's wallets.",
				}}},
		{Function: "charges-list", Methods: []string{get}, Path: Prefix + "/wallets/business/{business_id}/customers/transactions", Access: Customer,
			Summary: "Page of the caller's charges at a business.", Uses: UsesWallets, Replica: true, Keys: cursor,
			Doc: Doc{Tag: "Wallets", List: TransactionList,
				Answers: []Answer{{Status: 200, Description: "A page of the caller's charges at the business, newest first.",
					Schema: "TransactionPage"}},
				Refusals: map[int]string{404: notBusiness}}},
	}
}

// businessRoutes are the business directory and the businesses' wallet and
// charges.
func businessRoutes() []Route {
	cursor := []Key{CursorKey}
	return []Route{
		{Function: "business-list", Methods: []string{get}, Path: Prefix + "/wallets/business", Access: User,
			Summary: "Page of active businesses.", Uses: UsesWallets, Replica: true, Keys: cursor,
			Doc: Doc{Tag: "Businesses", List: PageList,
				Answers: []Answer{{Status: 200, Description: "A page of active businesses.", Schema: "BusinessPage"}}}},
		{Function: "business-wallet-create", Methods: []string{post}, Path: Prefix + "/wallets/business/wallet", Access: Business,
			Summary: "Open the business's wallet.", Uses: UsesWallets,
			Doc: Doc{Tag: "Businesses",
				Answers:  []Answer{{Status: 201, Description: "The business's new wallet.", Schema: "Wallet"}},
				Refusals: map[int]string{409: "The business already has a wallet."}}},
		{Function: "business-wallet-get", Methods: []string{get}, Path: Prefix + "/wallets/business/wallet", Access: Business,
			Summary: "The business's wallet.", Uses: UsesWallets,
			Doc: Doc{Tag: "Businesses",
				Answers:  []Answer{{Status: 200, Description: "The business's wallet.", Schema: "Wallet"}},
				Refusals: map[int]string{404: "The business has no wallet yet."}}},
		{Function: "business-transactions", Methods: []string{get}, Path: Prefix + "/wallets/business/transactions", Access: Business,
			Summary: "Page of the charges made at this business.", Uses: UsesWallets, Replica: true, Keys: cursor,
			Doc: Doc{Tag: "Businesses", List: TransactionList,
				Answers: []Answer{{Status: 200, Description: "A page of the charges made at this business, newest first.",
					Schema: "TransactionPage"}}}},
		{Function: "business-debit", Methods: []string{put, patch}, Path: Prefix + "/wallets/business/transactions/{uuid}/debit", Access: Business,
			Summary: "Collect a pending or rejected charge.", Uses: UsesWallets,
			Doc: Doc{Tag: "Businesses",
				Answers: []Answer{{Status: 200, Description: "The transaction, now accepted (status 2): the customer's wallet " +
					"lost the amount and the business's wallet gained it, in one atomic step.", Schema: "Transaction"}},
				Refusals: map[int]string{
					404: "Not a transaction of this business (or a malformed uuid).",
					409: "`{\"detail\": \"Transaction already processed\"}`: already accepted; " +
						"`{\"detail\": \"Balance can't be negative\"}`: the customer's balance is too low, the transaction is now " +
						"rejected (status 3) and no balance changes; " +
						"`{\"detail\": \"Business wallet does not exist\"}`: nothing changes.",
				},
				Description: "Collects a pending charge, or a rejected one again once the customer has funds; an accepted " +
					"charge never. Of two debits of one charge racing, exactly one succeeds."}},
	}
}

// eventRoutes are the events list and the webhook endpoints.
func eventRoutes() []Route {
	cursor := []Key{CursorKey}
	return []Route{
		{Function: "events-list", Methods: []string{get}, Path: Prefix + "/events", Access: User,
			Summary: "Page of the events of the caller's money, newest first.", Uses: UsesEvents, Replica: true, Keys: cursor,
			Doc: Doc{Tag: "Events", List: EventList,
				Answers: []Answer{{Status: 200, Description: "A page of the events of the caller's money, newest first: " +
					"a customer's deposits, withdrawals and charges, a business's charges. Events are kept at least 30 days.",
					Schema: "EventPage"}},
				Refusals: map[int]string{400: "`type` is not an event type."}}},
		{Function: "webhooks-create", Methods: []string{post}, Path: Prefix + "/webhooks", Access: User,
			Summary: "Register a URL to receive the caller's events, signed.", Uses: UsesEvents | UsesWebhookURLs,
			Doc: Doc{Tag: "Events", Body: "Webhook",
				Answers: []Answer{{Status: 201, Description: "The endpoint, with the `secret` that signs its deliveries " +
					"(shown only here).", Schema: "NewWebhook"}},
				Refusals: map[int]string{400: "The URL is not an `https` URL to a public address (`{\"url\": [\"…\"]}`), an " +
					"event type is unknown, or the caller already has 10 endpoints."},
				Description: "Each event of the caller's that the endpoint wants is POSTed to it as JSON with the headers " +
					"`Wallets-Event-Id` and `Wallets-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" " +
					"with the secret>`. A 2xx within 10 seconds delivers it; anything else is retried with exponential " +
					"backoff and jitter for about a day, with the same event id, then dead-lettered (see " +
					"`/webhooks/{uuid}/dead-letters`). Delivery is at least once: dedupe by event id."}},
		{Function: "webhooks-list", Methods: []string{get}, Path: Prefix + "/webhooks", Access: User,
			Summary: "The caller's webhook endpoints.", Uses: UsesEvents,
			Doc: Doc{Tag: "Events",
				Answers: []Answer{{Status: 200, Description: "The caller's endpoints, without their secrets.", Schema: "WebhookPage"}}}},
		{Function: "webhooks-delete", Methods: []string{del}, Path: Prefix + "/webhooks/{uuid}", Access: User,
			Summary: "Delete one of the caller's webhook endpoints.", Uses: UsesEvents,
			Doc: Doc{Tag: "Events",
				Answers:  []Answer{{Status: 204, Description: "Deleted: nothing more is delivered to it."}},
				Refusals: map[int]string{404: notOwnedEndpoint}}},
		{Function: "webhooks-dead-letters", Methods: []string{get}, Path: Prefix + "/webhooks/{uuid}/dead-letters", Access: User,
			Summary: "Page of the events one of the caller's endpoints never accepted.", Uses: UsesEvents, Replica: true, Keys: cursor,
			Doc: Doc{Tag: "Events", List: PageList,
				Answers: []Answer{{Status: 200, Description: "A page of the events the endpoint never accepted, newest " +
					"first.", Schema: "DeadLetterPage"}},
				Refusals: map[int]string{404: notOwnedEndpoint}}},
	}
}

// serviceRoutes are health, the OpenAPI document and its reference; the
// last two use no service, so they are Static.
func serviceRoutes() []Route {
	return []Route{
		{Function: "health", Methods: []string{get}, Path: Prefix + "/health", Access: Public,
			Summary: "Liveness and database reachability.", Uses: UsesHealth,
			Doc: Doc{Tag: "Service",
				Answers: []Answer{
					{Status: 200, Description: "The service and its database are up.", Schema: "Health"},
					{Status: 503, Description: "The database cannot be reached.", Schema: "Health"},
				}}},
		{Function: "openapi", Methods: []string{get}, Path: Prefix + "/openapi.json", Access: Public,
			Summary: "The OpenAPI 3.1 document of this API.",
			Doc: Doc{Tag: "Service",
				Answers: []Answer{{Status: 200, Description: "This document.", Schema: "OpenAPIDocument"}}}},
		{Function: "docs", Methods: []string{get}, Path: Prefix + "/docs", Access: Public,
			Summary: "A readable reference of this API, rendered from the OpenAPI document.",
			Doc: Doc{Tag: "Service",
				Answers: []Answer{{Status: 200, Description: "An HTML page that renders this document (`openapi.json`, " +
					"next to it) with Redoc, served by the API itself: it loads nothing from elsewhere, under a strict " +
					"`Content-Security-Policy`.", Schema: "HTMLPage", MediaType: "text/html",
					Headers: map[string]string{"Content-Security-Policy": "ContentSecurityPolicy"}}}}},
	}
}
