// Package functions builds the Lambda functions (one per route, the
// authorizer, the migrations, the events relay and webhook delivery) with
// their least-privilege roles, checks their connection budget against the
// proxy (CapacityRule), and shifts their aliases with CodeDeploy
// (NewDeployments).
package functions

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/data"
	"wallets/infra/internal/network"
	"wallets/infra/internal/settings"
	"wallets/internal/route"
)

const (
	// AuthorizerFunction and MigrateFunction are the functions that serve
	// no route (folders functions/authorizer and functions/migrate).
	AuthorizerFunction = "authorizer"
	MigrateFunction    = "migrate"
	// EventsRelayFunction and WebhooksDeliverFunction are the events
	// functions (issue #18): the relay, on a schedule, and the webhook
	// delivery worker, on the delivery queue. They serve no route either.
	EventsRelayFunction     = "events-relay"
	WebhooksDeliverFunction = "webhooks-deliver"
)

// The events functions' concurrency. The relay runs about 50 s of every
// minute, so two invocations overlap at most briefly (and harmlessly: the
// outbox is read with SKIP LOCKED); reserving 2 bounds its connections for
// CapacityRule. The delivery queue's event source mapping invokes at most
// DeliveryConcurrency at once, the function's reserved concurrency too, so
// webhook deliveries never take more than their share of the proxy.
const (
	RelayConcurrency    = 2
	DeliveryConcurrency = 10
	// RelaySchedule is how often EventBridge invokes the relay.
	RelaySchedule = "rate(1 minute)"
)

// Function is one deployed Lambda function and its log group.
type Function struct {
	Name    string // the folder under functions/ and build/
	Fn      awslambda.Function
	Logs    awslogs.LogGroup
	Timeout int // seconds
	// Alias ("live") points at the version that serves traffic: API
	// Gateway invokes it, and CodeDeploy shifts it from the previous version
	// to the new one (nil for the migrate function, which the trigger runs
	// by version).
	Alias awslambda.Alias
	// Reserved is the function's reserved concurrency; Pools the database
	// pools one container opens (2 for a listing route: the reader and the
	// writer it falls back to), each of PoolSize connections.
	Reserved, Pools int
}

// PoolSize is DB_MAX_CONNS of every function but the migrations: one
// request at a time per container, plus a health ping.
const PoolSize = 2

// LiveAlias is the alias every function serves traffic through.
const LiveAlias = "live"

// functionSpec sizes and wires one function.
type functionSpec struct {
	name        string
	description string
	memoryMB    int
	timeoutSec  int
	readReplica bool // gets DATABASE_READ_HOST
	access      Access
	reserved    int // reserved concurrency
	// env is configuration beyond the database's and the secrets' (the
	// events functions' bus and queue); grants describes their own role.
	env    map[string]*string
	grants string
}

// Access is what a function may do beyond writing its logs and attaching
// to the VPC: read the keys it holds and the Sentry DSN, and connect to the
// database as DBUser ("": not at all).
type Access struct {
	Keys   []route.Key
	Sentry bool
	DBUser string
}

// routeAccess is what the function of r needs: the keys the route table
// gives it, the Sentry DSN, and the runtime database user unless the route
// is static.
func routeAccess(r route.Route) Access {
	a := Access{Keys: r.Keys, Sentry: true}
	if !r.Static() {
		a.DBUser = data.DBAppUser
	}
	return a
}

// roleClass names the shared role of the functions with access a (the
// construct id and the role's description): functions that may do the
// same share a role, so least privilege per function costs a role per
// class rather than two resources per route. None is called RouteRole,
// the previous release's single role: CloudFormation deletes that one only
// in the update's cleanup, after CodeDeploy has shifted the aliases, so the
// previous versions keep their permissions while they still serve.
func (a Access) roleClass() (id, description string) {
	switch {
	case slices.Equal(a.Keys, []route.Key{route.TokenKey}) && a.DBUser == data.DBAppUser:
		return "TokenRole", "the functions that sign or verify tokens (login, the authorizer): the token key, the database as " + data.DBAppUser
	case slices.Equal(a.Keys, []route.Key{route.CursorKey}) && a.DBUser == data.DBAppUser:
		return "ListingRole", "the listing routes: the cursor key, the database as " + data.DBAppUser
	case len(a.Keys) == 0 && a.DBUser == data.DBAppUser:
		return "DatabaseRole", "the routes that hold no key: the database as " + data.DBAppUser
	case len(a.Keys) == 0 && a.DBUser == "":
		return "StaticRole", "the routes that serve a built-in document: no key, no database"
	}
	panic(fmt.Sprintf("no role class for keys %v and database user %q: add one", a.Keys, a.DBUser))
}

// Functions are every Lambda function of the service: one per route, the
// authorizer and the migrations.
type Functions struct {
	constructs.Construct
	Routes     map[string]*Function // by route function name
	Order      []string             // route function names in route-table order
	Authorizer *Function
	Migrate    *Function
	// EventsRelay and WebhooksDeliver are the events functions; each has
	// a role of its own (the bus and the queue are theirs alone).
	EventsRelay, WebhooksDeliver *Function
	// RelaySchedule is the rule that invokes the relay every minute.
	RelaySchedule awsevents.Rule
	// Roles are the shared roles of the route functions and the
	// authorizer, by class (see Access.roleClass); the migrate function
	// has a role of its own.
	Roles map[string]awsiam.Role
}

// All returns the route functions in route-table order, then the
// authorizer, the migrate function and the events functions.
func (f *Functions) All() []*Function {
	out := make([]*Function, 0, len(f.Order)+4)
	for _, n := range f.Order {
		out = append(out, f.Routes[n])
	}
	return append(out, f.Authorizer, f.Migrate, f.EventsRelay, f.WebhooksDeliver)
}

// Deps is what the functions connect to.
type Deps struct {
	Network  *network.Network
	Database *data.Database
	Secrets  *data.Secrets
	Events   *data.Events
}

// RouteTable is the route table the deployment is built from: route.Routes(),
// which the tests extend to check the stacks' headroom.
var RouteTable = route.Routes

// New builds one function per entry of route.Routes(), the authorizer
// and the migrate function, from the bootstraps under Settings.AssetRoot.
func New(scope constructs.Construct, id string, s settings.Settings, deps Deps) (*Functions, error) {
	c := constructs.NewConstruct(scope, jsii.String(id))
	f := &Functions{Construct: c, Routes: map[string]*Function{}, Roles: map[string]awsiam.Role{}}
	specs := f.specs(s, deps)
	if err := checkBootstraps(s, specs); err != nil {
		return nil, err
	}
	for _, sp := range specs {
		var role awsiam.IRole // nil: a role of its own (the migrations)
		switch sp.name {
		case MigrateFunction:
		case EventsRelayFunction, WebhooksDeliverFunction:
			role = lambdaRole(c, ConstructID(sp.name)+"Role", s, "the "+sp.name+" function alone: "+sp.grants)
			grant(role, deps, sp.access)
		default:
			role = f.role(c, s, deps, sp.access)
		}
		fn := newFunction(c, s, deps, sp, role)
		switch sp.name {
		case AuthorizerFunction:
			f.Authorizer = fn
		case MigrateFunction:
			f.Migrate = fn
		case EventsRelayFunction:
			f.EventsRelay = fn
		case WebhooksDeliverFunction:
			f.WebhooksDeliver = fn
		default:
			f.Routes[sp.name] = fn
		}
	}
	f.wireEvents(c, s, deps.Events)
	return f, nil
}

// wireEvents gives the events functions their triggers and their grants
// beyond the database: the relay publishes to the bus (events:PutEvents)
// and sends to the delivery queue (sqs:SendMessage, which also authorizes
// SendMessageBatch), invoked every minute by a schedule rule; the delivery
// worker consumes the delivery queue through an event source mapping
// (receive, delete, change visibility: it brings a message back when the
// next attempt is due) reporting partial batch failures. Both are invoked
// through their live alias, like the routes.
func (f *Functions) wireEvents(c constructs.Construct, s settings.Settings, ev *data.Events) {
	relay, deliver := f.EventsRelay, f.WebhooksDeliver
	ev.Bus.GrantPutEventsTo(relay.Fn, nil)
	relay.Fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: jsii.Strings(*ev.Deliveries.QueueArn()),
	}))
	f.RelaySchedule = awsevents.NewRule(c, jsii.String("EventsRelaySchedule"), &awsevents.RuleProps{
		RuleName:    jsii.String(s.Name("events-relay-schedule")),
		Description: jsii.String("Invokes the events relay every minute; it polls the outbox every second for about 50 s"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(RelaySchedule)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(relay.Alias, &awseventstargets.LambdaFunctionProps{
			// The next minute's invocation is the retry: a late one only
			// overlaps it.
			RetryAttempts: jsii.Number(0),
			MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(60)),
		})},
	})
	deliver.Alias.AddEventSource(awslambdaeventsources.NewSqsEventSource(ev.Deliveries, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(DeliveryConcurrency),
	}))
}

// specs are the functions to build: one per route function in route-table
// order (recorded in f.Order), then the authorizer and the migrations.
func (f *Functions) specs(s settings.Settings, deps Deps) []functionSpec {
	var specs []functionSpec
	for _, r := range RouteTable() {
		if _, dup := f.Routes[r.Function]; dup {
			continue // PUT and PATCH of one path share a route entry already
		}
		f.Routes[r.Function] = nil
		f.Order = append(f.Order, r.Function)
		specs = append(specs, functionSpec{
			name:        r.Function,
			description: strings.Join(r.Methods, ",") + " " + r.Path + ": " + r.Summary,
			memoryMB:    r.Memory(),
			timeoutSec:  r.Timeout(),
			readReplica: r.Replica,
			access:      routeAccess(r),
			reserved:    s.RouteConcurrency,
		})
	}
	db := Access{Sentry: true, DBUser: data.DBAppUser}
	return append(specs,
		functionSpec{name: AuthorizerFunction, description: "REQUEST authorizer: verifies the JWT and the user's token version",
			memoryMB: 256, timeoutSec: 10, reserved: s.AuthorizerConcurrency,
			access: Access{Keys: route.AuthorizerKeys(), Sentry: true, DBUser: data.DBAppUser}},
		// The migrations lock, apply and commit; five minutes leaves room
		// for a long index build.
		functionSpec{name: MigrateFunction, description: "Applies the database migrations; run by the deployment before the API",
			memoryMB: 256, timeoutSec: 300, reserved: 1, access: Access{DBUser: data.DBOwner}},
		// The relay loops for about 50 s of its minute (relay.DefaultWindow),
		// polling the outbox every second.
		functionSpec{name: EventsRelayFunction, description: "Events relay: every minute, for about 50 s, publishes committed events from the outbox to the event bus and the delivery queue",
			memoryMB: 256, timeoutSec: 60, reserved: RelayConcurrency, access: db,
			env: map[string]*string{
				"EVENT_BUS_NAME":     deps.Events.Bus.EventBusName(),
				"DELIVERY_QUEUE_URL": deps.Events.Deliveries.QueueUrl(),
			},
			grants: "events:PutEvents on the event bus, sqs:SendMessage on the delivery queue, the database as " + data.DBAppUser},
		// An attempt is bounded at 10 s, plus the database calls.
		functionSpec{name: WebhooksDeliverFunction, description: "Webhook delivery worker: one signed attempt per message of the delivery queue",
			memoryMB: 256, timeoutSec: data.DeliverTimeoutSeconds, reserved: DeliveryConcurrency, access: db,
			env:    map[string]*string{"DELIVERY_QUEUE_URL": deps.Events.Deliveries.QueueUrl()},
			grants: "consumes the delivery queue, the database as " + data.DBAppUser},
	)
}

// checkBootstraps fails, naming them, when bootstraps of specs are missing
// under Settings.AssetRoot.
func checkBootstraps(s settings.Settings, specs []functionSpec) error {
	var missing []string
	for _, sp := range specs {
		bootstrap := filepath.Join(s.AssetRoot, sp.name, "bootstrap")
		if _, err := os.Stat(bootstrap); err != nil {
			missing = append(missing, bootstrap)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing Lambda bootstraps (run `make build`, or set -c assetRoot=DIR): %s", strings.Join(missing, ", "))
	}
	return nil
}

// role returns the shared role of the functions with access a, creating it
// (with a's grants) on first use.
func (f *Functions) role(scope constructs.Construct, s settings.Settings, deps Deps, a Access) awsiam.Role {
	id, description := a.roleClass()
	if r, ok := f.Roles[id]; ok {
		return r
	}
	r := lambdaRole(scope, id, s, description)
	grant(r, deps, a)
	f.Roles[id] = r
	return r
}

// lambdaRole is a function role with the managed policies every function
// in the VPC needs (its logs, its network interfaces) and nothing else.
func lambdaRole(scope constructs.Construct, id string, s settings.Settings, description string) awsiam.Role {
	return awsiam.NewRole(scope, jsii.String(id), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(truncate("Wallets "+s.Stage+": "+description, 1000)),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSLambdaBasicExecutionRole")),
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSLambdaVPCAccessExecutionRole")),
		},
	})
}

// grant gives the principal what a allows.
func grant(p awsiam.IGrantable, deps Deps, a Access) {
	for _, k := range a.Keys {
		deps.Secrets.Key(k).GrantRead(p, nil)
	}
	if a.Sentry {
		deps.Secrets.SentryDSN.GrantRead(p, nil)
	}
	if a.DBUser != "" {
		deps.Database.Proxy.GrantConnect(p, jsii.String(a.DBUser))
	}
}

// newFunction builds the function of sp with its log group and, but for the
// migrations, its live alias; role nil gives it a role of its own.
func newFunction(scope constructs.Construct, s settings.Settings, deps Deps, sp functionSpec, role awsiam.IRole) *Function {
	id := ConstructID(sp.name)
	name := s.Name(sp.name)
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/lambda/" + name),
		Retention:     s.Retention(),
		RemovalPolicy: s.LogRemoval(),
	})
	env := environment(s, deps, sp)
	tracing := awslambda.Tracing_DISABLED
	if s.Tracing {
		tracing = awslambda.Tracing_ACTIVE
	}
	fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		FunctionName:   jsii.String(name),
		Description:    jsii.String(truncate(sp.description, 256)),
		Code:           awslambda.Code_FromAsset(jsii.String(filepath.Join(s.AssetRoot, sp.name)), nil),
		Handler:        jsii.String("bootstrap"),
		Runtime:        awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:   awslambda.Architecture_ARM_64(),
		MemorySize:     jsii.Number(float64(sp.memoryMB)),
		Timeout:        awscdk.Duration_Seconds(jsii.Number(float64(sp.timeoutSec))),
		Vpc:            deps.Network.Vpc,
		VpcSubnets:     network.AppSubnets(),
		SecurityGroups: &[]awsec2.ISecurityGroup{deps.Network.Functions},
		Environment:    &env,
		LogGroup:       logs,
		Tracing:        tracing,
		Role:           role, // nil: a role of its own
		// A version replaced by a deploy is deleted once the deploy (and its
		// traffic shift) has succeeded; a rollback still finds it. Retained
		// versions would pile up in the account's code storage.
		CurrentVersionOptions: &awslambda.VersionOptions{RemovalPolicy: awscdk.RemovalPolicy_DESTROY},
		// Bounds the connections the function can open (CapacityRule).
		ReservedConcurrentExecutions: jsii.Number(float64(sp.reserved)),
	})
	if role == nil {
		grant(fn, deps, sp.access) // its own role
	}
	f := &Function{Name: sp.name, Fn: fn, Logs: logs, Timeout: sp.timeoutSec, Reserved: sp.reserved, Pools: 1}
	if sp.readReplica {
		f.Pools = 2
	}
	if sp.name != MigrateFunction {
		// A new version on every change of the code or configuration; the
		// alias moves to it through CodeDeploy (NewDeployments).
		f.Alias = awslambda.NewAlias(scope, jsii.String(id+"Live"), &awslambda.AliasProps{
			AliasName: jsii.String(LiveAlias),
			Version:   fn.CurrentVersion(),
		})
	}
	return f
}

// environment is the function's configuration: where the database is and
// as whom it connects, and the ARNs of the secrets it holds (no secret
// value).
func environment(s settings.Settings, deps Deps, sp functionSpec) map[string]*string {
	env := map[string]*string{
		"WALLETS_ENV":       jsii.String(s.Stage),
		"DATABASE_HOST":     deps.Database.Proxy.Endpoint(),
		"DATABASE_PORT":     jsii.String(strconv.Itoa(network.PostgresPort)),
		"DATABASE_NAME":     jsii.String(data.DBName),
		"DATABASE_USER":     jsii.String(cmp.Or(sp.access.DBUser, data.DBAppUser)),
		"DATABASE_IAM_AUTH": jsii.String("true"),
	}
	if sp.name != MigrateFunction {
		env["DB_MAX_CONNS"] = jsii.String(strconv.Itoa(PoolSize))
		// Statements end well before the function does.
		env["DB_STATEMENT_TIMEOUT"] = jsii.String(fmt.Sprintf("%ds", max(1, min(5, sp.timeoutSec/2))))
	}
	if sp.readReplica {
		env["DATABASE_READ_HOST"] = deps.Database.ReadOnly.Endpoint()
	}
	for _, k := range sp.access.Keys {
		env[k.SecretARNVar()] = deps.Secrets.Key(k).SecretArn()
	}
	if sp.access.Sentry {
		env["SENTRY_DSN_SECRET_ARN"] = deps.Secrets.SentryDSN.SecretArn()
	}
	for k, v := range sp.env {
		env[k] = v
	}
	return env
}

// ConstructID turns a function name (users-sign-up) into a construct id
// (UsersSignUp).
func ConstructID(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
