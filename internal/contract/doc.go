// Package contract holds the end-to-end tests of the HTTP contract
// (API.md): each test starts the whole stack on a fresh database — the
// local API Gateway, the authorizer, every handler over the real services on
// PostgreSQL — and talks to it over HTTP, as a client would.
package contract
