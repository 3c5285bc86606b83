// Package functions holds the service's AWS Lambda functions, one folder
// each, every folder a tiny main package that `make build` compiles into
// build/<folder>/bootstrap (linux/arm64, tag lambda.norpc, for the
// provided.al2023 runtime):
//
//   - functions/<Function>/main.go for each route of route.Routes(), named by
//     the route's Function and doing nothing but
//     app.Serve("<Function>", (*api.Server).<Handler>, <wiring>): its own
//     handler, over the services its route uses, so each binary links what
//     it needs and no more. These are generated from the route table and
//     api.Handlers (`make functions`, package internal/mains);
//   - functions/authorizer: the API Gateway REQUEST authorizer
//     (app.ServeAuthorizer);
//   - functions/migrate: applies the database migrations before a
//     deployment takes traffic; the only function linking the migration
//     runner;
//   - functions/rotate-key: the rotation function of the HMAC keys in
//     Secrets Manager (package keyrotation), which Secrets Manager invokes;
//     no database;
//   - functions/events-relay and functions/webhooks-deliver: the events
//     relay (on a schedule) and the webhook delivery worker (on the delivery
//     queue), package relayenv; the only functions linking the EventBridge
//     and SQS clients.
//
// There is no other folder: the CDK app deploys one function per folder. This
// package itself has no code; its tests check the layout against the route
// table, run real bootstraps through the Lambda Runtime Interface Emulator
// (see internal/lambdatest), and cross-compile every function as `make
// build` does.
package functions
