package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/internal/route"
)

const (
	// AuthorizerFunction and MigrateFunction are the functions that serve
	// no route (folders functions/authorizer and functions/migrate).
	AuthorizerFunction = "authorizer"
	MigrateFunction    = "migrate"
)

// Function is one deployed Lambda function and its log group.
type Function struct {
	Name    string // the folder under functions/ and build/
	Fn      awslambda.Function
	Logs    awslogs.LogGroup
	Timeout int // seconds
}

// functionSpec sizes and wires one function.
type functionSpec struct {
	name        string
	description string
	memoryMB    int
	timeoutSec  int
	readReplica bool // gets DATABASE_READ_HOST
	appSecrets  bool // gets the JWT key and the Sentry DSN
}

// Functions are every Lambda function of the service: one per route, the
// authorizer and the migrations.
type Functions struct {
	constructs.Construct
	Routes     map[string]*Function // by route function name
	Order      []string             // route function names in route-table order
	Authorizer *Function
	Migrate    *Function
}

// All returns the route functions in route-table order, then the authorizer
// and the migrate function.
func (f *Functions) All() []*Function {
	out := make([]*Function, 0, len(f.Order)+2)
	for _, n := range f.Order {
		out = append(out, f.Routes[n])
	}
	return append(out, f.Authorizer, f.Migrate)
}

// FunctionDeps is what the functions connect to.
type FunctionDeps struct {
	Network  *Network
	Database *Database
	Secrets  *Secrets
}

// NewFunctions builds one function per entry of route.Routes(), the authorizer
// and the migrate function, from the bootstraps under Settings.AssetRoot.
func NewFunctions(scope constructs.Construct, id string, s Settings, deps FunctionDeps) (*Functions, error) {
	c := constructs.NewConstruct(scope, jsii.String(id))
	f := &Functions{Construct: c, Routes: map[string]*Function{}}
	var specs []functionSpec
	for _, r := range route.Routes() {
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
			appSecrets:  true,
		})
	}
	specs = append(specs,
		functionSpec{name: AuthorizerFunction, description: "REQUEST authorizer: verifies the JWT and the user's token version",
			memoryMB: 256, timeoutSec: 10, appSecrets: true},
		// The migrations lock, apply and commit; five minutes leaves room
		// for a long index build.
		functionSpec{name: MigrateFunction, description: "Applies the database migrations; run by the deployment before the API",
			memoryMB: 256, timeoutSec: 300},
	)
	var missing []string
	for _, sp := range specs {
		bootstrap := filepath.Join(s.AssetRoot, sp.name, "bootstrap")
		if _, err := os.Stat(bootstrap); err != nil {
			missing = append(missing, bootstrap)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing Lambda bootstraps (run `make build`, or set -c assetRoot=DIR): %s", strings.Join(missing, ", "))
	}
	for _, sp := range specs {
		fn := newFunction(c, s, deps, sp)
		switch sp.name {
		case AuthorizerFunction:
			f.Authorizer = fn
		case MigrateFunction:
			f.Migrate = fn
		default:
			f.Routes[sp.name] = fn
		}
	}
	return f, nil
}

func newFunction(scope constructs.Construct, s Settings, deps FunctionDeps, sp functionSpec) *Function {
	id := constructID(sp.name)
	name := s.name(sp.name)
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/lambda/" + name),
		Retention:     s.Retention(),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	env := map[string]*string{
		"WALLETS_ENV":       jsii.String(s.Stage),
		"DATABASE_HOST":     deps.Database.Proxy.Endpoint(),
		"DATABASE_PORT":     jsii.String(strconv.Itoa(PostgresPort)),
		"DATABASE_NAME":     jsii.String(DBName),
		"DATABASE_USER":     jsii.String(DBUser),
		"DATABASE_IAM_AUTH": jsii.String("true"),
	}
	if sp.name != MigrateFunction {
		// One request at a time per container, plus a health ping.
		env["DB_MAX_CONNS"] = jsii.String("2")
		// Statements end well before the function does.
		env["DB_STATEMENT_TIMEOUT"] = jsii.String(fmt.Sprintf("%ds", max(1, min(5, sp.timeoutSec/2))))
	}
	if sp.readReplica {
		env["DATABASE_READ_HOST"] = deps.Database.ReadOnly.Endpoint()
	}
	if sp.appSecrets {
		env["JWT_SECRET_ARN"] = deps.Secrets.JWTKey.SecretArn()
		env["SENTRY_DSN_SECRET_ARN"] = deps.Secrets.SentryDSN.SecretArn()
	}
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
		VpcSubnets:     AppSubnets(),
		SecurityGroups: &[]awsec2.ISecurityGroup{deps.Network.Functions},
		Environment:    &env,
		LogGroup:       logs,
		Tracing:        tracing,
	})
	deps.Database.Proxy.GrantConnect(fn, jsii.String(DBUser))
	if sp.appSecrets {
		deps.Secrets.JWTKey.GrantRead(fn, nil)
		deps.Secrets.SentryDSN.GrantRead(fn, nil)
	}
	return &Function{Name: sp.name, Fn: fn, Logs: logs, Timeout: sp.timeoutSec}
}

// constructID turns a function name (users-sign-up) into a construct id
// (UsersSignUp).
func constructID(name string) string {
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
