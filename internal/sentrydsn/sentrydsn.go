// Package sentrydsn is what the deployment and the runtime agree on about the
// Sentry DSN secret. It has no dependencies, so the CDK app (infra/) can
// import it without linking the runtime: the deployment creates the secret
// holding Disabled, and config reads Disabled as no DSN.
package sentrydsn

// Disabled in the Sentry DSN secret turns error reporting off. The
// deployment creates the secret with this placeholder until an operator
// stores a real DSN.
const Disabled = "disabled"
