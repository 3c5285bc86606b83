package stacks

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/api"
	"wallets/infra/internal/data"
	"wallets/infra/internal/functions"
	"wallets/infra/internal/monitoring"
	"wallets/internal/route"
)

// Every function the deployment builds has its folder under functions/, so
// `make build` produces its bootstrap.
func TestEveryFunctionHasAMain(t *testing.T) {
	for _, fn := range functionNames() {
		if _, err := os.Stat(filepath.Join(repoRoot, "functions", fn, "main.go")); err != nil {
			t.Errorf("function %s: %v", fn, err)
		}
	}
}

// One function and one API method per route-table entry, wired to each
// other, sized by the route, behind the authorizer when the route says so.
func TestOneFunctionAndMethodPerRoute(t *testing.T) {
	d := prodDeployment(t)
	fns := functionsByName(d.apiJSON)
	paths := resourcePaths(d.apiJSON)
	authorizers := d.apiJSON.resources("AWS::ApiGateway::Authorizer")
	if len(authorizers) != 1 {
		t.Fatalf("want 1 authorizer, got %d", len(authorizers))
	}
	served := 0
	for _, r := range route.Routes() {
		name := "wallets-prod-" + r.Function
		fn, ok := fns[name]
		if !ok {
			t.Errorf("route %s: no function %s", r.Function, name)
			continue
		}
		if got := fn.Props["MemorySize"]; got != float64(r.Memory()) {
			t.Errorf("%s: MemorySize %v, want %d", name, got, r.Memory())
		}
		if got := fn.Props["Timeout"]; got != float64(r.Timeout()) {
			t.Errorf("%s: Timeout %v, want %d", name, got, r.Timeout())
		}
		for _, m := range r.Methods {
			var found []resource
			for _, meth := range d.apiJSON.resources("AWS::ApiGateway::Method") {
				if meth.Props["HttpMethod"] == m && paths[refOf(meth.Props["ResourceId"])] == r.Path {
					found = append(found, meth)
				}
			}
			if len(found) != 1 {
				t.Errorf("%s %s: %d methods", m, r.Path, len(found))
				continue
			}
			meth := found[0]
			served++
			if typ := get(meth.Props, "Integration", "Type"); typ != "AWS_PROXY" {
				t.Errorf("%s %s: integration %v, want AWS_PROXY", m, r.Path, typ)
			}
			// The integration invokes the function's live alias.
			alias, _ := d.apiJSON.resource(firstRef(get(meth.Props, "Integration", "Uri")))
			if alias.Type != "AWS::Lambda::Alias" || refOf(alias.Props["FunctionName"]) != fn.ID || alias.Props["Name"] != functions.LiveAlias {
				t.Errorf("%s %s: integration targets %s, want the %s alias of %s", m, r.Path, jsonString(get(meth.Props, "Integration", "Uri")), functions.LiveAlias, fn.ID)
			}
			// API Gateway invokes it with the API's invoke role, not a
			// resource-based permission per function.
			if cred := refOf(get(meth.Props, "Integration", "Credentials")); !strings.HasPrefix(cred, "ApiInvokeRole") {
				t.Errorf("%s %s: integration credentials %s, want the API's invoke role", m, r.Path, jsonString(get(meth.Props, "Integration", "Credentials")))
			}
			wantAuth := "NONE"
			if r.Access.Authorized() {
				wantAuth = "CUSTOM"
				if refOf(meth.Props["AuthorizerId"]) != authorizers[0].ID {
					t.Errorf("%s %s: not behind the authorizer", m, r.Path)
				}
			}
			if got := meth.Props["AuthorizationType"]; got != wantAuth {
				t.Errorf("%s %s: AuthorizationType %v, want %s", m, r.Path, got, wantAuth)
			}
		}
	}
	if got := d.w.Api.Api.Methods; got != served {
		t.Errorf("the API proxies %d methods, the route table has %d", got, served)
	}
	// The only invoke permission API Gateway holds is the authorizer's;
	// the invoke role may call exactly the route functions' aliases.
	var gatewayPermissions []string
	for _, p := range d.apiJSON.resources("AWS::Lambda::Permission") {
		if p.Props["Principal"] == "apigateway.amazonaws.com" {
			gatewayPermissions = append(gatewayPermissions, refOf(p.Props["FunctionName"]))
		}
	}
	if len(gatewayPermissions) != 1 || !strings.HasPrefix(gatewayPermissions[0], "FunctionsAuthorizerLive") {
		t.Errorf("API Gateway invoke permissions on %v, want only the authorizer's", gatewayPermissions)
	}
	var invokeRole string
	for _, r := range d.apiJSON.resources("AWS::IAM::Role") {
		if strings.HasPrefix(r.ID, "ApiInvokeRole") {
			invokeRole = r.ID
		}
	}
	invoke := rolePolicyStatements(d.apiJSON, invokeRole)
	if len(invoke) != 1 || get(invoke[0], "Action") != "lambda:InvokeFunction" {
		t.Errorf("invoke role %q: statements %s, want one lambda:InvokeFunction", invokeRole, jsonString(invoke))
	} else {
		var aliases []string
		for _, res := range asList(get(invoke[0], "Resource")) {
			if a, _ := d.apiJSON.resource(refOf(res)); a.Type == "AWS::Lambda::Alias" {
				aliases = append(aliases, a.ID)
			}
		}
		if want := len(d.w.Api.Functions.Routes); len(aliases) != want || len(asList(get(invoke[0], "Resource"))) != want {
			t.Errorf("invoke role may call %s, want the %d route aliases", jsonString(get(invoke[0], "Resource")), want)
		}
	}
	// Nothing but the routes, the authorizer and the migrations.
	ours := 0
	for name := range fns {
		if strings.HasPrefix(name, "wallets-prod-") {
			ours++
		}
	}
	if want := len(functionNames()); ours != want {
		t.Errorf("%d functions named wallets-prod-*, want %d", ours, want)
	}
}

// Every function of ours runs provided.al2023 on arm64 in the VPC's app
// subnets with the functions' security group.
func TestFunctionsArm64InTheVpc(t *testing.T) {
	d := prodDeployment(t)
	fns := functionsByName(d.apiJSON)
	for _, fn := range functionNames() {
		name := "wallets-prod-" + fn
		fn, ok := fns[name]
		if !ok {
			t.Errorf("no function %s", name)
			continue
		}
		if got := fn.Props["Runtime"]; got != "provided.al2023" {
			t.Errorf("%s: Runtime %v", name, got)
		}
		if got := jsonString(fn.Props["Architectures"]); got != `["arm64"]` {
			t.Errorf("%s: Architectures %s", name, got)
		}
		if fn.Props["Handler"] != "bootstrap" {
			t.Errorf("%s: Handler %v", name, fn.Props["Handler"])
		}
		vpc := jsonString(fn.Props["VpcConfig"])
		if !strings.Contains(vpc, "FunctionsSg") || !strings.Contains(vpc, "appSubnet1") || !strings.Contains(vpc, "appSubnet2") {
			t.Errorf("%s: VpcConfig %s, want the functions' security group and both app subnets", name, vpc)
		}
	}
}

// Configuration reaches the functions as the environment config.Load reads;
// the listing routes get the read-only endpoint; no secret value appears.
func TestFunctionEnvironment(t *testing.T) {
	d := prodDeployment(t)
	fns := functionsByName(d.apiJSON)
	literal := map[string]bool{"DATABASE_IAM_AUTH": true, "DATABASE_NAME": true, "DATABASE_USER": true, "DATABASE_PORT": true,
		"WALLETS_ENV": true, "DB_MAX_CONNS": true, "DB_STATEMENT_TIMEOUT": true}
	replica := map[string]bool{}
	for _, r := range route.Routes() {
		replica[r.Function] = replica[r.Function] || r.Replica
	}
	for _, fn := range functionNames() {
		name := "wallets-prod-" + fn
		env, _ := get(fns[name].Props, "Environment", "Variables").(map[string]any)
		want := map[string]any{"DATABASE_IAM_AUTH": "true", "DATABASE_NAME": data.DBName, "DATABASE_USER": data.DBAppUser,
			"DATABASE_PORT": "5432", "WALLETS_ENV": "prod"}
		if fn == functions.MigrateFunction {
			want["DATABASE_USER"] = data.DBOwner
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s: %s=%v, want %v", name, k, env[k], v)
			}
		}
		if host := jsonString(env["DATABASE_HOST"]); !strings.Contains(host, "DatabaseProxy") || !strings.Contains(host, "Endpoint") || strings.Contains(host, "ReadOnly") {
			t.Errorf("%s: DATABASE_HOST %s, want the proxy's read-write endpoint", name, host)
		}
		read, hasRead := env["DATABASE_READ_HOST"]
		if replica[fn] != hasRead {
			t.Errorf("%s: DATABASE_READ_HOST present=%v, route Replica=%v", name, hasRead, replica[fn])
		}
		if hasRead && !strings.Contains(jsonString(read), "DatabaseProxyReadOnly") {
			t.Errorf("%s: DATABASE_READ_HOST %s, want the read-only endpoint", name, jsonString(read))
		}
		wantVars := map[string]string{}
		if fn != functions.MigrateFunction {
			wantVars["SENTRY_DSN_SECRET_ARN"] = "SentryDsn"
		}
		for _, k := range expectedAccess(fn).Keys {
			wantVars[k.SecretARNVar()] = keySecretID[k]
		}
		for k, v := range env {
			if strings.HasSuffix(k, "_SECRET_ARN") && wantVars[k] == "" {
				t.Errorf("%s: has %s=%s, which it must not hold", name, k, jsonString(v))
			}
		}
		for k, secret := range wantVars {
			if v := jsonString(env[k]); !strings.Contains(v, "Secrets") || !strings.Contains(v, secret) {
				t.Errorf("%s: %s=%s, want the ARN of secret %s", name, k, v, secret)
			}
		}
		for k, v := range env {
			if s, isLiteral := v.(string); isLiteral && !literal[k] {
				t.Errorf("%s: %s is the literal %q; only ARNs and endpoints may be configured", name, k, s)
			}
			if strings.Contains(k, "SECRET") && !strings.HasSuffix(k, "_ARN") {
				t.Errorf("%s: %s looks like a secret value in the environment", name, k)
			}
		}
	}
}

// keySecretID is the construct id of each key's secret; secretIDs are those
// of every secret a function may read.
var (
	keySecretID = map[route.Key]string{route.TokenKey: "JwtKey", route.CursorKey: "CursorKey"}
	secretIDs   = []string{"JwtKey", "CursorKey", "SentryDsn"}
)

// expectedAccess is what the route table says function fn may do: the
// keys it holds and the database user it connects as.
func expectedAccess(fn string) functions.Access {
	switch fn {
	case functions.AuthorizerFunction:
		return functions.Access{Keys: route.AuthorizerKeys(), Sentry: true, DBUser: data.DBAppUser}
	case functions.MigrateFunction:
		return functions.Access{DBUser: data.DBOwner}
	case functions.EventsRelayFunction, functions.WebhooksDeliverFunction:
		return functions.Access{Sentry: true, DBUser: data.DBAppUser}
	}
	r, ok := route.ByFunction(fn)
	if !ok {
		panic("no route for " + fn)
	}
	a := functions.Access{Keys: r.Keys, Sentry: true}
	if !r.Static() {
		a.DBUser = data.DBAppUser
	}
	return a
}

// Least privilege per function: each function's role reads exactly the
// secrets the route table gives it (the token key: login and the
// authorizer, and nobody else), connects through this proxy as exactly its
// database user (the runtime user; the migrations as the owner; the
// static documents not at all), and names no wildcard resource.
func TestLeastPrivilegePerFunction(t *testing.T) {
	d := prodDeployment(t)
	fns := functionsByName(d.apiJSON)
	var tokenReaders []string
	for _, fnName := range functionNames() {
		want := expectedAccess(fnName)
		statements := rolePolicyStatements(d.apiJSON, refOf(fns["wallets-prod-"+fnName].Props["Role"]))
		read := map[string]bool{}
		var users []string
		for _, st := range statements {
			s := jsonString(st)
			if strings.Contains(s, "secretsmanager:GetSecretValue") {
				for _, secret := range secretIDs {
					if strings.Contains(s, "Secrets"+secret) {
						read[secret] = true
					}
				}
			}
			if !strings.Contains(s, "rds-db:connect") {
				continue
			}
			if !strings.Contains(s, `:dbuser:"`) || !strings.Contains(s, `"Fn::Select":[6,{"Fn::Split":[":"`) || !strings.Contains(s, "DBProxyArn") {
				t.Errorf("%s: rds-db:connect %s, want dbuser:<proxy resource id>/<user>", fnName, s)
			}
			for _, u := range []string{data.DBOwner, data.DBAppUser} {
				if strings.Contains(s, `"/`+u+`"`) {
					users = append(users, u)
				}
			}
		}
		wantRead := map[string]bool{"SentryDsn": want.Sentry}
		for _, k := range want.Keys {
			wantRead[keySecretID[k]] = true
		}
		for _, secret := range secretIDs {
			if read[secret] != wantRead[secret] {
				t.Errorf("%s: may read secret %s: %v, want %v", fnName, secret, read[secret], wantRead[secret])
			}
		}
		if read["JwtKey"] {
			tokenReaders = append(tokenReaders, fnName)
		}
		var wantUsers []string
		if want.DBUser != "" {
			wantUsers = []string{want.DBUser}
		}
		if !slices.Equal(users, wantUsers) {
			t.Errorf("%s: may connect to the database as %v, want %v", fnName, users, wantUsers)
		}
		for _, st := range statements {
			if res := get(st, "Resource"); res == "*" && !strings.Contains(jsonString(get(st, "Action")), "xray:") {
				t.Errorf("%s: wildcard resource in %s", fnName, jsonString(st))
			}
		}
		// The bus and the queues: the relay publishes to the bus and sends
		// to the delivery queue, the delivery worker consumes that queue;
		// nobody else touches either, and nobody the dead-letter queue.
		var events []string
		for _, st := range statements {
			if s := jsonString(st); strings.Contains(s, `"events:`) || strings.Contains(s, `"sqs:`) {
				events = append(events, eventsGrant(st))
			}
		}
		slices.Sort(events)
		if want := wantEventsGrants[fnName]; !slices.Equal(events, want) {
			t.Errorf("%s: events and queue grants %v, want %v", fnName, events, want)
		}
	}
	slices.Sort(tokenReaders)
	if want := []string{functions.AuthorizerFunction, "users-login"}; !slices.Equal(tokenReaders, want) {
		t.Errorf("the functions that may read the token key: %v, want only %v", tokenReaders, want)
	}
	// Nothing else in the Api stack may read the token key either.
	for _, p := range d.apiJSON.resources("AWS::IAM::Policy") {
		if !strings.Contains(jsonString(p.Props["PolicyDocument"]), "SecretsJwtKey") {
			continue
		}
		for _, role := range p.Props["Roles"].([]any) {
			if id := refOf(role); id != refOf(fns["wallets-prod-users-login"].Props["Role"]) && id != refOf(fns["wallets-prod-"+functions.AuthorizerFunction].Props["Role"]) {
				t.Errorf("role %s may read the token key", id)
			}
		}
	}
}

// wantEventsGrants are the events and SQS statements of the events
// functions, as eventsGrant renders them; every other function has none.
var wantEventsGrants = map[string][]string{
	functions.EventsRelayFunction:     {"events:PutEvents on EventsBus", "sqs:SendMessage on EventsDeliveries"},
	functions.WebhooksDeliverFunction: {"sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage on EventsDeliveries"},
}

// eventsGrant renders a statement as "<actions, sorted> on <the exported
// resource>": the bus and the queues are the Data stack's, so the
// resource is an import named after the resource's construct path.
func eventsGrant(st any) string {
	var actions []string
	acts := get(st, "Action")
	if a, ok := acts.(string); ok {
		acts = []any{a}
	}
	for _, a := range asList(acts) {
		actions = append(actions, fmt.Sprint(a))
	}
	slices.Sort(actions)
	res := get(st, "Resource")
	if _, ok := res.([]any); !ok {
		res = []any{res}
	}
	var on []string
	for _, r := range res.([]any) {
		imp := jsonString(get(r, "Fn::ImportValue"))
		m := regexp.MustCompile(`Output(?:Ref|FnGetAtt)(Events[A-Za-z]+?)[0-9A-F]{8}`).FindStringSubmatch(imp)
		if m == nil {
			on = append(on, jsonString(r))
			continue
		}
		on = append(on, m[1])
	}
	return strings.Join(actions, ",") + " on " + strings.Join(on, ",")
}

// The events (issue #18): the bus, the delivery queue and its dead-letter
// queue, the relay's schedule and the delivery worker's event source
// mapping, and the two functions' configuration.
func TestEvents(t *testing.T) {
	d := prodDeployment(t)
	check(t, "event bus", func() {
		d.data.HasResourceProperties(jsii.String("AWS::Events::EventBus"), map[string]any{"Name": "wallets-prod-events"})
	})
	queues := map[string]resource{}
	for _, q := range d.dataJSON.resources("AWS::SQS::Queue") {
		queues[fmt.Sprint(q.Props["QueueName"])] = q
	}
	dq, dlq := queues["wallets-prod-deliveries"], queues["wallets-prod-deliveries-dlq"]
	if len(queues) != 2 || dq.ID == "" || dlq.ID == "" {
		t.Fatalf("queues %v, want the delivery queue and its DLQ", slices.Collect(maps.Keys(queues)))
	}
	for _, q := range []resource{dq, dlq} {
		if q.Props["SqsManagedSseEnabled"] != true {
			t.Errorf("%s: not encrypted with SQS-managed keys: %s", q.ID, jsonString(q.Props))
		}
	}
	if got := dq.Props["VisibilityTimeout"]; got != float64(6*data.DeliverTimeoutSeconds) {
		t.Errorf("delivery queue VisibilityTimeout %v, want 6 × %d", got, data.DeliverTimeoutSeconds)
	}
	if got := dq.Props["MessageRetentionPeriod"]; got != float64(4*24*3600) {
		t.Errorf("delivery queue MessageRetentionPeriod %v, want 4 days", got)
	}
	if got := dlq.Props["MessageRetentionPeriod"]; got != float64(14*24*3600) {
		t.Errorf("DLQ MessageRetentionPeriod %v, want 14 days", got)
	}
	if refOf(get(dq.Props, "RedrivePolicy", "deadLetterTargetArn")) != dlq.ID || get(dq.Props, "RedrivePolicy", "maxReceiveCount") != float64(30) {
		t.Errorf("delivery queue RedrivePolicy %s, want the DLQ after 30 receives", jsonString(dq.Props["RedrivePolicy"]))
	}
	// TLS only, on both queues.
	tls := map[string]bool{}
	for _, p := range d.dataJSON.resources("AWS::SQS::QueuePolicy") {
		doc := jsonString(p.Props["PolicyDocument"])
		if strings.Contains(doc, `"aws:SecureTransport":"false"`) && strings.Contains(doc, `"Effect":"Deny"`) {
			for _, q := range asList(p.Props["Queues"]) {
				tls[refOf(q)] = true
			}
		}
	}
	if !tls[dq.ID] || !tls[dlq.ID] {
		t.Errorf("queues refusing plain HTTP: %v, want both", tls)
	}

	fns := functionsByName(d.apiJSON)
	relay, deliver := fns["wallets-prod-"+functions.EventsRelayFunction], fns["wallets-prod-"+functions.WebhooksDeliverFunction]
	for _, c := range []struct {
		fn              resource
		timeout, memory float64
		reserved        float64
		env, missing    []string
	}{
		{relay, 60, 256, functions.RelayConcurrency, []string{"EVENT_BUS_NAME", "DELIVERY_QUEUE_URL"}, nil},
		{deliver, data.DeliverTimeoutSeconds, 256, functions.DeliveryConcurrency, []string{"DELIVERY_QUEUE_URL"}, []string{"EVENT_BUS_NAME"}},
	} {
		name := c.fn.Props["FunctionName"]
		if c.fn.Props["Timeout"] != c.timeout || c.fn.Props["MemorySize"] != c.memory || c.fn.Props["ReservedConcurrentExecutions"] != c.reserved {
			t.Errorf("%s: Timeout %v MemorySize %v ReservedConcurrentExecutions %v, want %v %v %v", name,
				c.fn.Props["Timeout"], c.fn.Props["MemorySize"], c.fn.Props["ReservedConcurrentExecutions"], c.timeout, c.memory, c.reserved)
		}
		env, _ := get(c.fn.Props, "Environment", "Variables").(map[string]any)
		for _, k := range c.env {
			if env[k] == nil {
				t.Errorf("%s: no %s", name, k)
			}
		}
		for _, k := range c.missing {
			if env[k] != nil {
				t.Errorf("%s: has %s", name, k)
			}
		}
		if get(c.fn.Props, "TracingConfig", "Mode") != "Active" && d.w.Settings.Tracing {
			t.Errorf("%s: tracing off", name)
		}
	}
	if v := jsonString(get(relay.Props, "Environment", "Variables", "EVENT_BUS_NAME")); !strings.Contains(v, "EventsBus") {
		t.Errorf("relay EVENT_BUS_NAME %s, want the bus's name", v)
	}
	if v := jsonString(get(deliver.Props, "Environment", "Variables", "DELIVERY_QUEUE_URL")); !strings.Contains(v, "EventsDeliveries") || strings.Contains(v, "DeadLetters") {
		t.Errorf("deliver DELIVERY_QUEUE_URL %s, want the delivery queue's URL", v)
	}

	// The relay's schedule: every minute, its live alias, no retry.
	var schedules []resource
	for _, r := range d.apiJSON.resources("AWS::Events::Rule") {
		if r.Props["ScheduleExpression"] != nil {
			schedules = append(schedules, r)
		}
	}
	if len(schedules) != 1 || schedules[0].Props["ScheduleExpression"] != "rate(1 minute)" {
		t.Fatalf("schedule rules %s, want one rate(1 minute)", jsonString(schedules))
	}
	targets := asList(schedules[0].Props["Targets"])
	if len(targets) != 1 {
		t.Fatalf("schedule targets %s", jsonString(targets))
	}
	if alias, _ := d.apiJSON.resource(refOf(get(targets[0], "Arn"))); alias.Type != "AWS::Lambda::Alias" || refOf(alias.Props["FunctionName"]) != relay.ID {
		t.Errorf("schedule targets %s, want the relay's live alias", jsonString(get(targets[0], "Arn")))
	}
	if get(targets[0], "RetryPolicy", "MaximumRetryAttempts") != float64(0) {
		t.Errorf("schedule target RetryPolicy %s, want no retry", jsonString(get(targets[0], "RetryPolicy")))
	}

	// The delivery worker's event source mapping: the delivery queue, ten
	// at a time, partial batch failures, at most DeliveryConcurrency.
	mappings := d.apiJSON.resources("AWS::Lambda::EventSourceMapping")
	if len(mappings) != 1 {
		t.Fatalf("%d event source mappings, want 1", len(mappings))
	}
	esm := mappings[0].Props
	if alias, _ := d.apiJSON.resource(firstRef(esm["FunctionName"])); alias.Type != "AWS::Lambda::Alias" || refOf(alias.Props["FunctionName"]) != deliver.ID {
		t.Errorf("event source mapping invokes %s, want the delivery worker's live alias", jsonString(esm["FunctionName"]))
	}
	if !strings.Contains(jsonString(esm["EventSourceArn"]), "EventsDeliveries") || strings.Contains(jsonString(esm["EventSourceArn"]), "DeadLetters") {
		t.Errorf("event source %s, want the delivery queue", jsonString(esm["EventSourceArn"]))
	}
	if esm["BatchSize"] != float64(10) || jsonString(esm["FunctionResponseTypes"]) != `["ReportBatchItemFailures"]` ||
		get(esm, "ScalingConfig", "MaximumConcurrency") != float64(functions.DeliveryConcurrency) {
		t.Errorf("event source mapping %s, want batch 10, ReportBatchItemFailures, MaximumConcurrency %d", jsonString(esm), functions.DeliveryConcurrency)
	}
}

// The keys rotate on a schedule through the rotation function, which runs
// outside the VPC and may rotate the two key secrets and nothing else.
func TestKeyRotation(t *testing.T) {
	d := prodDeployment(t)
	schedules := d.dataJSON.resources("AWS::SecretsManager::RotationSchedule")
	rotated := map[string]bool{}
	for _, sc := range schedules {
		id := refOf(sc.Props["SecretId"])
		if !strings.HasPrefix(id, "Secrets") {
			continue // the master secret, rotated by the hosted rotation function
		}
		rotated[id] = true
		if !strings.Contains(jsonString(sc.Props["RotationLambdaARN"]), "RotateKey") {
			t.Errorf("%s: rotated by %s, want the rotate-key function", id, jsonString(sc.Props["RotationLambdaARN"]))
		}
		if got := get(sc.Props, "RotationRules", "ScheduleExpression"); got != fmt.Sprintf("rate(%d days)", data.KeyRotationDays) {
			t.Errorf("%s: schedule %v", id, got)
		}
		if sc.Props["RotateImmediatelyOnUpdate"] != false {
			t.Errorf("%s: RotateImmediatelyOnUpdate %v, want false", id, sc.Props["RotateImmediatelyOnUpdate"])
		}
	}
	for _, want := range []string{"JwtKey", "CursorKey"} {
		found := false
		for id := range rotated {
			found = found || strings.Contains(id, want)
		}
		if !found {
			t.Errorf("no rotation schedule for secret %s (%v)", want, rotated)
		}
	}
	fn, ok := functionsByName(d.dataJSON)["wallets-prod-"+data.RotateKeyFunction]
	if !ok {
		t.Fatal("no rotate-key function in the Data stack")
	}
	if fn.Props["VpcConfig"] != nil || fn.Props["Environment"] != nil {
		t.Errorf("rotate-key: VpcConfig %v, Environment %v; want neither", fn.Props["VpcConfig"], fn.Props["Environment"])
	}
	for _, st := range rolePolicyStatements(d.dataJSON, refOf(fn.Props["Role"])) {
		s := jsonString(st)
		if strings.Contains(s, "rds-db") || strings.Contains(s, "SentryDsn") || strings.Contains(s, "DatabaseCluster") {
			t.Errorf("rotate-key may %s", s)
		}
		if get(st, "Resource") == "*" && jsonString(get(st, "Action")) != `"secretsmanager:GetRandomPassword"` {
			t.Errorf("rotate-key: wildcard resource in %s", s)
		}
	}
}

// Nothing is reachable from the internet but the API: no security group
// admits 0.0.0.0/0 or ::/0, no database instance is public, the cluster
// and the proxy live in the isolated subnets.
func TestNothingPublic(t *testing.T) {
	d := prodDeployment(t)
	for _, tp := range []template{d.dataJSON, d.apiJSON} {
		for _, sg := range tp.resources("AWS::EC2::SecurityGroup") {
			for _, in := range asList(sg.Props["SecurityGroupIngress"]) {
				if open(in) {
					t.Errorf("security group %s admits %s", sg.ID, jsonString(in))
				}
			}
		}
		for _, in := range tp.resources("AWS::EC2::SecurityGroupIngress") {
			if open(in.Props) {
				t.Errorf("ingress %s admits %s", in.ID, jsonString(in.Props))
			}
		}
	}
	check(t, "instances private", func() {
		d.data.AllResourcesProperties(jsii.String("AWS::RDS::DBInstance"), map[string]any{"PubliclyAccessible": false})
	})
	for _, sg := range d.dataJSON.resources("AWS::RDS::DBSubnetGroup") {
		ids := jsonString(sg.Props["SubnetIds"])
		if !strings.Contains(ids, "dataSubnet1") || !strings.Contains(ids, "dataSubnet2") || strings.Contains(ids, "public") || strings.Contains(ids, "app") {
			t.Errorf("DB subnet group %s uses %s, want the isolated data subnets", sg.ID, ids)
		}
	}
	for _, typ := range []string{"AWS::RDS::DBProxy", "AWS::RDS::DBProxyEndpoint"} {
		for _, p := range d.dataJSON.resources(typ) {
			if ids := jsonString(p.Props["VpcSubnetIds"]); !strings.Contains(ids, "dataSubnet") || strings.Contains(ids, "public") {
				t.Errorf("%s %s in %s, want the isolated data subnets", typ, p.ID, ids)
			}
		}
	}
	// The isolated subnets have no route out.
	for _, rt := range d.dataJSON.resources("AWS::EC2::Route") {
		if strings.Contains(rt.ID, "data") {
			t.Errorf("isolated subnet route %s: %s", rt.ID, jsonString(rt.Props))
		}
	}
	// The database admits the proxy and the rotation function only; the
	// proxy admits the functions only.
	for _, in := range d.dataJSON.resources("AWS::EC2::SecurityGroupIngress") {
		target, source := refOf(in.Props["GroupId"]), refOf(in.Props["SourceSecurityGroupId"])
		switch {
		case strings.HasPrefix(target, "NetworkDatabaseSg"):
			if !strings.HasPrefix(source, "NetworkProxySg") && !strings.Contains(source, "RotationSingleUser") {
				t.Errorf("database admits %s", source)
			}
		case strings.HasPrefix(target, "NetworkProxySg"):
			if !strings.HasPrefix(source, "NetworkFunctionsSg") {
				t.Errorf("proxy admits %s", source)
			}
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func open(rule any) bool {
	return get(rule, "CidrIp") == "0.0.0.0/0" || get(rule, "CidrIpv6") == "::/0"
}

// Aurora PostgreSQL 16 Serverless v2: encrypted, IAM auth, backups, deletion
// protection and snapshot in prod, Performance Insights, a rotated master
// secret, a writer and a reader scaling with it.
func TestDatabase(t *testing.T) {
	d := prodDeployment(t)
	check(t, "cluster", func() {
		d.data.HasResourceProperties(jsii.String("AWS::RDS::DBCluster"), map[string]any{
			"Engine":                          "aurora-postgresql",
			"EngineVersion":                   assertions.Match_StringLikeRegexp(jsii.String(`^16\.`)),
			"StorageEncrypted":                true,
			"EnableIAMDatabaseAuthentication": true,
			"DeletionProtection":              true,
			"PerformanceInsightsEnabled":      true,
			"DatabaseName":                    data.DBName,
			"ServerlessV2ScalingConfiguration": map[string]any{
				"MinCapacity": assertions.Match_AnyValue(), "MaxCapacity": assertions.Match_AnyValue(),
			},
		})
	})
	check(t, "snapshot on delete", func() {
		d.data.HasResource(jsii.String("AWS::RDS::DBCluster"), map[string]any{"DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot"})
	})
	for _, c := range d.dataJSON.resources("AWS::RDS::DBCluster") {
		if days, _ := c.Props["BackupRetentionPeriod"].(float64); days < 7 {
			t.Errorf("BackupRetentionPeriod %v, want >= 7", c.Props["BackupRetentionPeriod"])
		}
	}
	instances := d.dataJSON.resources("AWS::RDS::DBInstance")
	if len(instances) < 2 {
		t.Fatalf("%d instances, want a writer and a reader", len(instances))
	}
	tiers := map[float64]int{}
	for _, in := range instances {
		if in.Props["DBInstanceClass"] != "db.serverless" {
			t.Errorf("%s: class %v", in.ID, in.Props["DBInstanceClass"])
		}
		if in.Props["EnablePerformanceInsights"] != true {
			t.Errorf("%s: no Performance Insights", in.ID)
		}
		tier, _ := in.Props["PromotionTier"].(float64)
		tiers[tier]++
	}
	if tiers[0]+tiers[1] < 2 {
		t.Errorf("promotion tiers %v: want the writer and a reader in tiers 0-1 (the reader scales with the writer)", tiers)
	}
	check(t, "master secret rotation", func() {
		d.data.HasResourceProperties(jsii.String("AWS::SecretsManager::RotationSchedule"), map[string]any{
			"RotationRules": map[string]any{"ScheduleExpression": assertions.Match_StringLikeRegexp(jsii.String("rate"))},
		})
	})
	check(t, "hosted rotation function", func() {
		d.data.ResourceCountIs(jsii.String("AWS::Serverless::Application"), jsii.Number(1))
	})
}

// RDS Proxy: TLS required, IAM authentication end to end, a borrow timeout
// shorter than the functions' timeouts, and a read-only endpoint.
func TestProxy(t *testing.T) {
	d := prodDeployment(t)
	check(t, "proxy", func() {
		d.data.HasResourceProperties(jsii.String("AWS::RDS::DBProxy"), map[string]any{
			"RequireTLS":        true,
			"DefaultAuthScheme": "IAM_AUTH",
			"EngineFamily":      "POSTGRESQL",
		})
	})
	check(t, "read-only endpoint", func() {
		d.data.ResourceCountIs(jsii.String("AWS::RDS::DBProxyEndpoint"), jsii.Number(1))
		d.data.HasResourceProperties(jsii.String("AWS::RDS::DBProxyEndpoint"), map[string]any{"TargetRole": "READ_ONLY"})
	})
	for _, tg := range d.dataJSON.resources("AWS::RDS::DBProxyTargetGroup") {
		borrow, _ := get(tg.Props, "ConnectionPoolConfigurationInfo", "ConnectionBorrowTimeout").(float64)
		if borrow <= 0 || borrow >= 10 {
			t.Errorf("ConnectionBorrowTimeout %v, want 1-9 s (below the functions' 10 s)", borrow)
		}
	}
	// The proxy's role may connect to the cluster as either user.
	for _, user := range []string{data.DBOwner, data.DBAppUser} {
		found := false
		for _, p := range d.dataJSON.resources("AWS::IAM::Policy") {
			s := jsonString(p.Props["PolicyDocument"])
			if strings.Contains(s, "rds-db:connect") && strings.Contains(s, "DBClusterResourceId") && strings.Contains(s, `"/`+user+`"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no rds-db:connect on the cluster's dbuser %s for the proxy role", user)
		}
	}
	// The IAM database user is created through the Data API.
	users := d.dataJSON.resources("Custom::AWS")
	if len(users) != 1 {
		t.Fatalf("%d Custom::AWS resources, want the database user", len(users))
	}
	for _, key := range []string{"Create", "Update"} {
		call := jsonString(users[0].Props[key])
		for _, want := range []string{`\"action\":\"ExecuteStatement\"`, "GRANT rds_iam TO " + data.DBOwner + " WITH ADMIN OPTION", "CREATE ROLE " + data.DBOwner + " LOGIN CREATEROLE", "ALTER ROLE " + data.DBOwner + " CREATEROLE"} {
			if !strings.Contains(call, want) {
				t.Errorf("database user %s call lacks %s: %s", key, want, call)
			}
		}
	}
}

// The migrations run on deploy through a trigger bound to the migrate
// function's current version, before the functions and the API stage.
func TestMigrationsOnDeploy(t *testing.T) {
	d := prodDeployment(t)
	triggers := d.apiJSON.resources("Custom::Trigger")
	if len(triggers) != 1 {
		t.Fatalf("%d triggers, want 1", len(triggers))
	}
	trig := triggers[0]
	version, ok := d.apiJSON.resource(refOf(trig.Props["HandlerArn"]))
	if !ok || version.Type != "AWS::Lambda::Version" {
		t.Fatalf("trigger HandlerArn %s: want a function version (it changes with the code)", jsonString(trig.Props["HandlerArn"]))
	}
	migrate := functionsByName(d.apiJSON)["wallets-prod-"+functions.MigrateFunction]
	if refOf(version.Props["FunctionName"]) != migrate.ID {
		t.Errorf("trigger runs %s, want the migrate function", jsonString(version.Props["FunctionName"]))
	}
	if get(trig.Props, "ExecuteOnHandlerChange") != true {
		t.Error("trigger does not re-run on handler change")
	}
	if tm, _ := strconv.Atoi(fmt.Sprint(trig.Props["Timeout"])); tm < int(migrate.Props["Timeout"].(float64))*1000 {
		t.Errorf("trigger timeout %v ms shorter than the migrate function's %v s", trig.Props["Timeout"], migrate.Props["Timeout"])
	}
	for _, st := range d.apiJSON.resources("AWS::ApiGateway::Stage") {
		if !slices.Contains(dependsOn(st), trig.ID) {
			t.Errorf("stage %s does not wait for the migrations", st.ID)
		}
	}
	for name, fn := range functionsByName(d.apiJSON) {
		if strings.HasPrefix(name, "wallets-prod-") && name != migrate.Props["FunctionName"] && !slices.Contains(dependsOn(fn), trig.ID) {
			t.Errorf("%s does not wait for the migrations", name)
		}
	}
}

// API Gateway answers in the contract's JSON: every gateway response of
// route.GatewayResponses(), and 405 for the other methods of a known path.
func TestGatewayResponses(t *testing.T) {
	d := prodDeployment(t)
	got := map[string]resource{}
	for _, r := range d.apiJSON.resources("AWS::ApiGateway::GatewayResponse") {
		got[r.Props["ResponseType"].(string)] = r
	}
	for _, g := range route.GatewayResponses() {
		r, ok := got[g.Type]
		if !ok {
			t.Errorf("%s: not configured", g.Type)
			continue
		}
		switch status, set := r.Props["StatusCode"]; {
		case g.Status == 0 && set:
			t.Errorf("%s: status %v, want API Gateway's own", g.Type, status)
		case g.Status != 0 && status != strconv.Itoa(g.Status):
			t.Errorf("%s: status %v, want %d", g.Type, status, g.Status)
		}
		if body := get(r.Props, "ResponseTemplates", "application/json"); body != g.Body() {
			t.Errorf("%s: body %v, want %s", g.Type, body, g.Body())
		}
		for k, v := range g.Headers {
			if h := get(r.Props, "ResponseParameters", "gatewayresponse.header."+k); h != "'"+v+"'" {
				t.Errorf("%s: header %s = %v, want '%s'", g.Type, k, h, v)
			}
		}
	}
	if len(got) != len(route.GatewayResponses()) {
		t.Errorf("%d gateway responses configured, route.GatewayResponses() has %d", len(got), len(route.GatewayResponses()))
	}
	if body := get(got["ACCESS_DENIED"].Props, "ResponseTemplates", "application/json"); !strings.Contains(fmt.Sprint(body), "$context.authorizer."+route.CtxDetail) {
		t.Errorf("ACCESS_DENIED does not carry the authorizer's detail: %v", body)
	}
}

// The other methods of a known path answer 405 like the handlers do: one
// MOCK ANY method per path (a resource's own methods take precedence), which
// names the request's method and lists the path's in Allow.
func TestMethodNotAllowed(t *testing.T) {
	d := prodDeployment(t)
	paths := resourcePaths(d.apiJSON)
	anys := map[string]resource{} // path → its ANY method
	for _, m := range d.apiJSON.resources("AWS::ApiGateway::Method") {
		if m.Props["HttpMethod"] == "ANY" {
			anys[paths[refOf(m.Props["ResourceId"])]] = m
		}
	}
	routes := route.Routes()
	want := map[string]bool{}
	for _, r := range routes {
		want[r.Path] = true
	}
	for p := range want {
		meth, found := anys[p]
		if !found {
			t.Errorf("%s: no ANY method answering 405", p)
			continue
		}
		_, _, allowed, _ := route.Match(routes, http.MethodOptions, p)
		integ := get(meth.Props, "Integration")
		resp := get(integ, "IntegrationResponses").([]any)[0]
		if get(integ, "Type") != "MOCK" || get(resp, "StatusCode") != "405" || get(resp, "ResponseTemplates", "application/json") != api.NotAllowedTemplate {
			t.Errorf("%s: %s, want a MOCK 405 with %s", p, jsonString(integ), api.NotAllowedTemplate)
		}
		if h := get(resp, "ResponseParameters", "method.response.header.Allow"); h != "'"+strings.Join(allowed, ", ")+"'" {
			t.Errorf("%s: Allow %v, want %v", p, h, allowed)
		}
		if meth.Props["AuthorizationType"] != "NONE" {
			t.Errorf("%s: a 405 must not need credentials", p)
		}
	}
	if len(anys) != len(want) || d.w.Api.Api.MethodsNotAllowed != len(want) {
		t.Errorf("%d ANY methods (built %d) for %d paths", len(anys), d.w.Api.Api.MethodsNotAllowed, len(want))
	}
	if !strings.Contains(api.NotAllowedTemplate, `Method \"$context.httpMethod\" not allowed.`) {
		t.Errorf("405 template %s", api.NotAllowedTemplate)
	}
}

// The stage throttles, logs access as JSON, caches nothing; the authorizer
// caches per the setting (0: no identity source, so cookie-only clients
// reach it).
func TestStage(t *testing.T) {
	d := prodDeployment(t)
	s := d.w.Settings
	stages := d.apiJSON.resources("AWS::ApiGateway::Stage")
	if len(stages) != 1 {
		t.Fatalf("%d stages", len(stages))
	}
	st := stages[0].Props
	methodSettings := get(st, "MethodSettings").([]any)[0]
	if get(methodSettings, "ThrottlingRateLimit") != s.ThrottleRate || get(methodSettings, "ThrottlingBurstLimit") != s.ThrottleBurst {
		t.Errorf("throttling %s, want rate %v burst %v", jsonString(methodSettings), s.ThrottleRate, s.ThrottleBurst)
	}
	if get(methodSettings, "CachingEnabled") == true || get(st, "CacheClusterEnabled") == true {
		t.Error("API caching is on")
	}
	if get(methodSettings, "DataTraceEnabled") == true {
		t.Error("data trace logs request bodies")
	}
	format, _ := get(st, "AccessLogSetting", "Format").(string)
	if !strings.HasPrefix(format, "{") || !strings.Contains(format, "$context.requestId") || get(st, "AccessLogSetting", "DestinationArn") == nil {
		t.Errorf("access log %s", jsonString(get(st, "AccessLogSetting")))
	}
	if get(st, "TracingEnabled") != s.Tracing {
		t.Errorf("TracingEnabled %v, want %v", get(st, "TracingEnabled"), s.Tracing)
	}
	a := d.apiJSON.resources("AWS::ApiGateway::Authorizer")[0].Props
	if a["Type"] != "REQUEST" || a["AuthorizerResultTtlInSeconds"] != float64(s.AuthorizerCacheTTL) {
		t.Errorf("authorizer %s", jsonString(a))
	}
	if s.AuthorizerCacheTTL == 0 && a["IdentitySource"] != nil {
		t.Errorf("uncached authorizer has IdentitySource %v", a["IdentitySource"])
	}
}

// Every log group keeps logs for the stage's retention, and every function
// (CDK's own included) logs to one of them.
func TestLogRetention(t *testing.T) {
	for _, d := range []*synthesized{prodDeployment(t)} {
		for _, tp := range []template{d.dataJSON, d.monJSON, d.apiJSON} {
			groups := map[string]bool{}
			for _, lg := range tp.resources("AWS::Logs::LogGroup") {
				groups[lg.ID] = true
				if lg.Props["RetentionInDays"] != float64(d.w.Settings.LogRetentionDays) {
					t.Errorf("log group %s: RetentionInDays %v", lg.ID, lg.Props["RetentionInDays"])
				}
			}
			for _, fn := range tp.resources("AWS::Lambda::Function") {
				if !groups[refOf(get(fn.Props, "LoggingConfig", "LogGroup"))] {
					t.Errorf("function %s logs to %v, not a log group with retention", fn.ID, get(fn.Props, "LoggingConfig"))
				}
			}
		}
		for _, c := range d.dataJSON.resources("AWS::RDS::DBCluster") {
			name := "/aws/rds/cluster/" + c.Props["DBClusterIdentifier"].(string) + "/postgresql"
			found := false
			for _, lg := range d.dataJSON.resources("AWS::Logs::LogGroup") {
				found = found || lg.Props["LogGroupName"] == name
			}
			if !found {
				t.Errorf("no log group %s for the exported PostgreSQL log", name)
			}
		}
	}
}

// Every alarm exists and notifies the (encrypted) topic on ALARM and OK.
func TestAlarms(t *testing.T) {
	d := prodDeployment(t)
	topics := d.monJSON.resources("AWS::SNS::Topic")
	if len(topics) != 1 || topics[0].Props["KmsMasterKeyId"] == nil {
		t.Fatalf("want one KMS-encrypted alarm topic, got %s", jsonString(topics))
	}
	topic := topics[0].ID
	check(t, "e-mail subscription", func() {
		d.mon.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "email", "Endpoint": testAlarmEmail})
	})
	want := []string{"api-5xx", "api-4xx", "api-latency",
		"db-writer-cpu", "db-reader-cpu", "db-writer-connections", "db-reader-connections",
		"db-writer-memory", "db-reader-memory", "db-replica-lag", "db-deadlocks",
		"proxy-borrow-latency", "proxy-pinned-sessions", "rejected-debits", "login-throttled",
		"db-writer-local-storage", "db-reader-local-storage", "db-writer-capacity-max", "db-reader-capacity-max",
		"db-transaction-ids", "db-load-1", "db-load-2", "lambda-account-concurrency", "canary"}
	seen := map[string]bool{}
	for _, r := range route.Routes() {
		if !seen[r.Function] {
			seen[r.Function] = true
			want = append(want, r.Function+"-errors", r.Function+"-throttles", r.Function+"-duration")
		}
	}
	want = append(want, functions.AuthorizerFunction+"-errors", functions.AuthorizerFunction+"-throttles", functions.AuthorizerFunction+"-duration")
	// The events: the relay runs ~50 s of every minute by design, so it has
	// no duration alarm.
	want = append(want, functions.EventsRelayFunction+"-errors", functions.EventsRelayFunction+"-throttles",
		functions.WebhooksDeliverFunction+"-errors", functions.WebhooksDeliverFunction+"-throttles", functions.WebhooksDeliverFunction+"-duration",
		"outbox-age", "deliveries-dlq", "deliveries-dead", "delivery-failures")
	alarms := map[string]resource{}
	for _, a := range d.monJSON.resources("AWS::CloudWatch::Alarm") {
		alarms[a.Props["AlarmName"].(string)] = a
		for _, key := range []string{"AlarmActions", "OKActions"} {
			acts := asList(a.Props[key])
			if len(acts) != 1 || refOf(acts[0]) != topic {
				t.Errorf("alarm %s: %s %s, want the topic", a.Props["AlarmName"], key, jsonString(acts))
			}
		}
		if !regexp.MustCompile(`First look: .+\[runbook: [a-z0-9-]+\]$`).MatchString(fmt.Sprint(a.Props["AlarmDescription"])) {
			t.Errorf("alarm %s: description without a runbook line", a.Props["AlarmName"])
		}
	}
	for _, n := range want {
		if _, ok := alarms["wallets-prod-"+n]; !ok {
			t.Errorf("alarm wallets-prod-%s missing", n)
		}
	}
	if len(alarms) != len(want) {
		t.Errorf("%d alarms, want %d", len(alarms), len(want))
	}
	t.Logf("%d alarms", len(alarms))
	// A few thresholds that follow from the configuration.
	dur := alarms["wallets-prod-users-login-duration"].Props
	if login, _ := route.ByFunction("users-login"); dur["Threshold"] != 0.8*float64(login.Timeout())*1000 || dur["ExtendedStatistic"] != "p99" {
		t.Errorf("users-login duration alarm %s", jsonString(dur))
	}
	debits := alarms["wallets-prod-rejected-debits"].Props
	// The series the invocation's line carries: RejectedMovements by
	// Function, with no Unit (the line writes none).
	if debits["Namespace"] != "Wallets" || debits["MetricName"] != "RejectedMovements" ||
		jsonString(debits["Dimensions"]) != `[{"Name":"Function","Value":"business-debit"}]` || debits["Unit"] != nil {
		t.Errorf("rejected-debits alarm %s", jsonString(debits))
	}
	for name, a := range alarms {
		if ns := a.Props["Namespace"]; ns == "Wallets" && a.Props["Unit"] != nil {
			t.Errorf("alarm %s pins the unit of an EMF metric: %s", name, jsonString(a.Props))
		}
	}
	pinned := alarms["wallets-prod-proxy-pinned-sessions"].Props
	if pinned["MetricName"] != "DatabaseConnectionsCurrentlySessionPinned" || !strings.Contains(jsonString(pinned["Dimensions"]), "ProxyName") {
		t.Errorf("pinned sessions alarm %s", jsonString(pinned))
	}
	check(t, "dashboard", func() { d.mon.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1)) })
	// The dashboard reads the EMF series the invocations' lines carry: every
	// one dimensioned by Function alone.
	body := jsonString(d.monJSON.resources("AWS::CloudWatch::Dashboard")[0].Props["DashboardBody"])
	for _, want := range []string{
		`{Wallets,Function} MetricName=\\\"Requests\\\"', 'Sum'`,
		`{Wallets,Function} MetricName=\\\"5xx\\\"', 'Sum'`,
		`{Wallets,Function} MetricName=\\\"AmountMoved\\\"', 'SampleCount'`,
		`{Wallets,Function} MetricName=\\\"AmountMoved\\\"', 'Sum'`,
		`{Wallets,Function} MetricName=\\\"RejectedMovements\\\"', 'Sum'`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard does not read %s", want)
		}
	}
	// The events alarms read the series the events functions emit.
	for name, w := range map[string]string{
		"outbox-age":        `"MetricName":"OutboxAgeSeconds","Namespace":"Wallets","Dimensions":[{"Name":"Function","Value":"events-relay"}],"Statistic":"Maximum","Period":60,"EvaluationPeriods":5,"DatapointsToAlarm":3,"Threshold":300`,
		"deliveries-dead":   `"MetricName":"DeliveriesDead","Namespace":"Wallets","Dimensions":[{"Name":"Function","Value":"webhooks-deliver"}],"Statistic":"Sum","Period":300,"EvaluationPeriods":1,"DatapointsToAlarm":1,"Threshold":0`,
		"delivery-failures": `"MetricName":"DeliveriesRetried","Namespace":"Wallets","Dimensions":[{"Name":"Function","Value":"webhooks-deliver"}],"Statistic":"Sum","Period":900,"EvaluationPeriods":1,"DatapointsToAlarm":1,"Threshold":50`,
		"deliveries-dlq":    `"MetricName":"ApproximateNumberOfMessagesVisible","Namespace":"AWS/SQS","Dimensions":[{"Name":"QueueName","Value":"wallets-prod-deliveries-dlq"}],"Statistic":"Maximum","Period":300,"EvaluationPeriods":1,"DatapointsToAlarm":1,"Threshold":0`,
	} {
		a := alarms["wallets-prod-"+name].Props
		got := jsonString(map[string]any{"MetricName": a["MetricName"], "Namespace": a["Namespace"], "Dimensions": a["Dimensions"], "Statistic": a["Statistic"],
			"Period": a["Period"], "EvaluationPeriods": a["EvaluationPeriods"], "DatapointsToAlarm": a["DatapointsToAlarm"], "Threshold": a["Threshold"]})
		for _, part := range strings.Split(w, `,"`) {
			if !strings.Contains(got, strings.TrimPrefix(part, `"`)) {
				t.Errorf("alarm %s: %s, want %s", name, got, part)
			}
		}
	}
	// The Events row: the four metrics, the outbox age, the delivery
	// queue's oldest message and the DLQ's depth.
	for _, want := range []string{`## Events`, `"Wallets","EventsPublished","Function","events-relay"`,
		`"Wallets","DeliveriesDelivered","Function","webhooks-deliver"`, `"Wallets","DeliveriesRetried","Function","webhooks-deliver"`,
		`"Wallets","DeliveriesDead","Function","webhooks-deliver"`, `"Wallets","OutboxAgeSeconds","Function","events-relay"`, `"AWS/SQS","ApproximateAgeOfOldestMessage","QueueName","wallets-prod-deliveries"`,
		`"AWS/SQS","ApproximateNumberOfMessagesVisible","QueueName","wallets-prod-deliveries-dlq"`} {
		if !strings.Contains(strings.ReplaceAll(body, `\"`, `"`), want) {
			t.Errorf("dashboard: no %s", want)
		}
	}
	if strings.Contains(body, "Operation") || strings.Contains(body, "MoneyMovements") {
		t.Errorf("dashboard reads a series no line carries: %s", body)
	}
}

// cdk-nag's AWS Solutions rules find nothing unsuppressed, in prod and dev.
func TestCdkNag(t *testing.T) {
	for _, d := range []*synthesized{prodDeployment(t), devDeployment(t)} {
		stacks := []awscdk.Stack{d.w.Data.Stack, d.w.Monitoring.Stack, d.w.Api.Stack}
		if d.w.Deploy != nil {
			stacks = append(stacks, d.w.Deploy.Stack)
		}
		for _, st := range stacks {
			a := assertions.Annotations_FromStack(st)
			errs := a.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
			// Printed whole: the Go binding of the message type (moved to
			// @aws-cdk/cloud-assembly-api) deprecates its fields.
			for _, m := range *errs {
				t.Errorf("%s: %s", *st.StackName(), jsonString(m))
			}
			warns := a.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
			for _, m := range *warns {
				t.Errorf("%s (warning): %s", *st.StackName(), jsonString(m))
			}
		}
	}
}

// The dev stage is disposable and cheaper, and still passes cdk-nag.
func TestDevStage(t *testing.T) {
	d := devDeployment(t)
	check(t, "dev cluster", func() {
		d.data.HasResourceProperties(jsii.String("AWS::RDS::DBCluster"), map[string]any{"DeletionProtection": false})
		d.data.HasResource(jsii.String("AWS::RDS::DBCluster"), map[string]any{"DeletionPolicy": "Delete"})
		d.data.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(1))
	})
	if d.w.Data.Stack.TerminationProtection() != nil && *d.w.Data.Stack.TerminationProtection() {
		t.Error("dev stack is termination-protected")
	}
	t.Logf("dev synth %s, prod synth %s", d.took, prodDeployment(t).took)
}

// The README's runbook has a line for every kind of alarm.
func TestRunbookCoversEveryAlarm(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range monitoring.AllAlarmKinds {
		if !strings.Contains(string(docs), "**"+k.Key+"**") {
			t.Errorf("no runbook line for alarm kind %s", k.Key)
		}
	}
}
