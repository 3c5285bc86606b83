// Package cold is `make bench-cold`: the cold start of a hello-world
// aws-lambda-go bootstrap and of several of the project's functions, each
// started cold several times under the Lambda Runtime Interface Emulator in
// the same run, side by side.
//
// What is measured, for every cold start, from the emulator's own log:
//
//   - Init: its INIT REPORT, as Lambda's Init Duration: from the start of the
//     init phase (the emulator forks and execs the bootstrap) to the
//     bootstrap's first request for an event (GET /runtime/invocation/next).
//     (The "Init Duration" of the emulator's REPORT line is not that: the
//     emulator starts the init asynchronously and reports only how long
//     starting it took, about 0.02 ms.)
//   - first call: the INVOKE RTDONE duration of the invocation that caused
//     the cold start, from the event's hand-over to the response;
//   - warm call: the median of three more identical invocations.
//
// The verdict is on the cold start's cost: Init + first call − warm call,
// i.e. how much longer the first request takes than a warm one. Wherever a
// function pays for its start (process start, package initialisation,
// configuration, secrets, the database connection, anything done lazily at
// the first call), it is in that number; the work every request does (an
// argon2id hash at login) is not. Each function's median cost is divided by
// the hello world's; the worst ratio is the verdict (target ≤ 1.5×).
//
// The functions run as they do in AWS, with stand-ins only where AWS would
// be needed: their environment is the CDK app's (DATABASE_HOST and friends,
// IAM authentication, JWT_SECRET_ARN, SENTRY_DSN_SECRET_ARN); Secrets Manager
// is package secretstest over HTTPS (AWS_ENDPOINT_URL_SECRETS_MANAGER) answering at once,
// with a certificate from a throwaway CA that the functions trust through
// AWS_CA_BUNDLE (added to the roots of AWS endpoints, package awstrust) and
// SSL_CERT_FILE (the system's trust store with the CA appended, so that
// anything verifying against the system's store pays for all of it, as in
// Lambda); RDS Proxy is a stand-in (proxy_test.go) that terminates TLS
// (verified by the function: sslmode=verify-full, same CA) and lends its
// warm connections to a throwaway PostgreSQL, as the proxy does; the IAM
// token is signed with dummy credentials and not checked. A first round of
// cold starts is not counted (page cache, the proxy's connections). The
// bootstraps are built as `make build` builds them (-tags lambda.norpc,
// -trimpath, -s -w, static), for the host.
//
// It is a benchmark so that `go test` does not run it: `make bench-cold`
// does.
package cold

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/auth"
	"wallets/internal/lambdatest"
	"wallets/internal/localpg"
	"wallets/internal/passhash"
	"wallets/internal/postgres"
	"wallets/internal/postgres/migrate"
	"wallets/internal/route"
	"wallets/internal/user"
	"wallets/migrations"
)

// runs is how many cold starts of each bootstrap are counted; warm is how
// many warm invocations follow each.
const (
	runs = 25
	warm = 3
)

// functions are the functions measured against hello: the one without a
// service (health pings the database), a money route, the authorizer, the
// password route, and a listing with its reader pool.
var functions = []string{"health", "wallets-deposit", "authorizer", "users-login", "wallets-transactions"}

const (
	jwtKey   = "bench-cold-jwt-signing-key-0123456789abcdef"
	username = "bench_cold"
	password = "Tr0ub4dor&3-bench-cold"
	// cursorKey signs the listings' cursors.
	cursorKey = "bench-cold-cursor-key-0123456789abcdef0123456789abcdef"
)

var (
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	invokeDone = regexp.MustCompile(`INVOKE RTDONE\(status: (\w+)[^)]*duration: ([0-9.]+)ms\)`)
)

func BenchmarkColdStart(b *testing.B) {
	var t testing.TB = b
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rie, err := lambdatest.FindRIE(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	moduleDir, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	bins := build(ctx, t, moduleDir)

	p := newPKI(t)
	pg, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	dbURL, err := pg.CreateDatabase(ctx, "wallets", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Up(ctx, dbURL, ""); err != nil {
		t.Fatal(err)
	}
	events := seed(ctx, t, dbURL)
	px := newProxy(t, p, "127.0.0.1:"+strconv.Itoa(pg.Port))

	sentryDSN, sentryPosts := newSentryStandIn(t)
	secrets := newSecretsStandIn(t, p)
	secrets.Put("wallets/bench/jwt-key", jwtKey)
	secrets.Put("wallets/bench/sentry-dsn", sentryDSN)
	secrets.Put("wallets/bench/cursor-key", cursorKey)
	env := map[string]string{
		// The CDK app's environment (infra/functions.go).
		"WALLETS_ENV":           "bench",
		"DATABASE_HOST":         "localhost",
		"DATABASE_PORT":         strconv.Itoa(px.Port),
		"DATABASE_NAME":         "wallets",
		"DATABASE_USER":         migrations.RuntimeRole, // as the CDK app: the runtime role
		"DATABASE_IAM_AUTH":     "true",
		"DB_MAX_CONNS":          "2",
		"DB_STATEMENT_TIMEOUT":  "5s",
		"SENTRY_DSN_SECRET_ARN": secrets.ARN("wallets/bench/sentry-dsn"),
		// Lambda's: the execution role's credentials.
		"AWS_ACCESS_KEY_ID":     "AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN":     "bench-cold-session-token",
		// The stand-ins.
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": secrets.URL,
		"AWS_CA_BUNDLE":                    p.CA,
		"SSL_CERT_FILE":                    p.Bundle,
	}

	names := append([]string{"hello"}, functions...)
	results := map[string][]coldStart{}
	// Round 0 is not counted: it brings the bootstraps into the page cache
	// and gives the proxy its server connections, warm.
	for i := range runs + 1 {
		for _, name := range names {
			fnEnv := withKeys(env, name, secrets.ARN("wallets/bench/jwt-key"), secrets.ARN("wallets/bench/cursor-key"))
			if name == "wallets-transactions" {
				fnEnv = withReader(fnEnv)
			}
			r, err := measure(ctx, t, rie, bins[name], fnEnv, events[name])
			if err != nil {
				t.Fatalf("%s, run %d: %v", name, i, err)
			}
			if !px.waitIdle(5 * time.Second) {
				t.Fatalf("%s, run %d: the function's database connections outlived it", name, i)
			}
			if i > 0 {
				results[name] = append(results[name], r)
			}
		}
	}
	if n := sentryPosts.Load(); n != 0 {
		t.Errorf("the functions reported %d errors to Sentry", n)
	}
	t.Logf("Secrets Manager stand-in answered %d calls", secrets.Calls("GetSecretValue"))
	report(names, results)
}

// withReader adds the read-only endpoint (the same server) to env.
func withReader(env map[string]string) map[string]string {
	e := make(map[string]string, len(env)+1)
	for k, v := range env {
		e[k] = v
	}
	e["DATABASE_READ_HOST"] = "localhost"
	return e
}

// build builds hello and the functions as `make build` does, for the host,
// and returns each one's bootstrap path (<dir>/<name>/bootstrap).
func build(ctx context.Context, t testing.TB, moduleDir string) map[string]string {
	t.Helper()
	start := time.Now()
	root := t.TempDir()
	out := filepath.Join(root, "bin") + string(filepath.Separator)
	args := []string{"build", "-tags", lambdatest.BuildTags, "-trimpath", "-ldflags", "-s -w", "-o", out, "./internal/bench/cold/hello"}
	for _, f := range functions {
		args = append(args, "./functions/"+f)
	}
	cmd := exec.CommandContext(ctx, lambdatest.GoTool(t), args...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOOS=", "GOARCH=", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	bins := map[string]string{}
	for _, name := range append([]string{"hello"}, functions...) {
		dst := filepath.Join(root, name, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(out, name), dst); err != nil {
			t.Fatal(err)
		}
		bins[name] = dst
	}
	t.Logf("built hello and %d functions in %v", len(functions), time.Since(start).Round(time.Millisecond))
	return bins
}

// invocation is one function's event and the check of its answer.
type invocation struct {
	event any
	check func(raw []byte) error
}

// seed creates a customer with a wallet and returns each function's event:
// the ones a client (through API Gateway and the authorizer) would send.
func seed(ctx context.Context, t testing.TB, dbURL string) map[string]invocation {
	t.Helper()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	u, err := postgres.NewUsers(pool, passhash.Argon2id{}).SignUp(ctx, user.NewAccount{
		Username: username, Email: "bench-cold@example.com", Type: user.CustomerType,
		Password: password, Password2: password,
	})
	if err != nil {
		t.Fatal(err)
	}
	w, err := postgres.NewWallets(pool, nil).OpenWallet(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.StaticTokens([]byte(jwtKey))
	if err != nil {
		t.Fatal(err)
	}
	token, err := tokens.Issue(ctx, auth.PrincipalOf(u))
	if err != nil {
		t.Fatal(err)
	}
	principal := map[string]any{
		route.CtxUserID:       strconv.FormatInt(u.ID, 10),
		route.CtxUserType:     strconv.Itoa(int(u.Type)),
		route.CtxTokenVersion: strconv.Itoa(u.TokenVersion),
	}
	api := func(method, resource string, params map[string]string, body string, ctx map[string]any) events.APIGatewayProxyRequest {
		path := resource
		for k, v := range params {
			path = strings.Replace(path, "{"+k+"}", v, 1)
		}
		ev := events.APIGatewayProxyRequest{
			Resource: resource, Path: path, HTTPMethod: method, PathParameters: params, Body: body,
			RequestContext: events.APIGatewayProxyRequestContext{
				RequestID: "bench-cold", Stage: "bench", HTTPMethod: method, ResourcePath: resource,
				Path: "/bench" + path, Authorizer: ctx,
			},
		}
		if body != "" {
			ev.Headers = map[string]string{"Content-Type": "application/json"}
		}
		return ev
	}
	status := func(want int) func([]byte) error {
		return func(raw []byte) error {
			var r events.APIGatewayProxyResponse
			if err := json.Unmarshal(raw, &r); err != nil || r.StatusCode != want {
				return fmt.Errorf("answered %s, want status %d", raw, want)
			}
			return nil
		}
	}
	wallet := map[string]string{"uuid": w.UUID.String()}
	arn := "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/bench/GET/api/v1/users/me"
	return map[string]invocation{
		"hello": {event: map[string]any{}, check: func(raw []byte) error {
			if string(raw) != `"hello"` {
				return fmt.Errorf("answered %s", raw)
			}
			return nil
		}},
		"health": {event: api(http.MethodGet, route.Prefix+"/health", nil, "", nil), check: status(http.StatusOK)},
		"wallets-deposit": {
			event: api(http.MethodPut, route.Prefix+"/wallets/customers/wallets/{uuid}/deposit", wallet,
				`{"amount":"1.00","description":"bench-cold"}`, principal),
			check: status(http.StatusOK),
		},
		"wallets-transactions": {
			event: api(http.MethodGet, route.Prefix+"/wallets/customers/wallets/{uuid}/transactions", wallet, "", principal),
			check: status(http.StatusOK),
		},
		"users-login": {
			event: api(http.MethodPost, route.Prefix+"/users/login", nil,
				`{"username":"`+username+`","password":"`+password+`"}`, nil),
			check: status(http.StatusOK),
		},
		"authorizer": {
			event: events.APIGatewayCustomAuthorizerRequestTypeRequest{
				Type: "REQUEST", MethodArn: arn, Resource: route.Prefix + "/users/me", Path: route.Prefix + "/users/me",
				HTTPMethod: http.MethodGet, Headers: map[string]string{"Authorization": "JWT " + token},
				RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
					RequestID: "bench-cold", Stage: "bench", HTTPMethod: http.MethodGet, ResourcePath: route.Prefix + "/users/me",
				},
			},
			check: func(raw []byte) error {
				var r events.APIGatewayCustomAuthorizerResponse
				if err := json.Unmarshal(raw, &r); err != nil || len(r.PolicyDocument.Statement) != 1 ||
					r.PolicyDocument.Statement[0].Effect != "Allow" {
					return fmt.Errorf("answered %s, want an Allow policy", raw)
				}
				return nil
			},
		},
	}
}

// coldStart is one cold start's times, in ms.
type coldStart struct {
	init, first, warm float64
}

// cost is what the cold start added to the first request.
func (c coldStart) cost() float64 { return c.init + c.first - c.warm }

// measure starts an emulator for bootstrap, invokes it once cold and warm
// more times, and reads the times from the emulator's log.
func measure(ctx context.Context, t testing.TB, rie, bootstrap string, env map[string]string, inv invocation) (coldStart, error) {
	fn := lambdatest.Start(ctx, t, lambdatest.Config{RIE: rie, Bootstrap: bootstrap, Env: env})
	defer fn.Stop()
	for i := range 1 + warm {
		raw, err := fn.Invoke(ctx, lambdatest.NewID("lambda-"), inv.event)
		if err == nil {
			err = inv.check(raw)
		}
		if err != nil {
			return coldStart{}, fmt.Errorf("invocation %d: %w\n%s", i+1, err, fn.Logs())
		}
	}
	// The emulator logs before it answers, but through a pipe.
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs := fn.Logs()
		inits, done := initReport.FindAllStringSubmatch(logs, -1), invokeDone.FindAllStringSubmatch(logs, -1)
		if len(inits) == 1 && len(done) == 1+warm {
			var c coldStart
			c.init, _ = strconv.ParseFloat(inits[0][1], 64)
			var warms []float64
			for i, m := range done {
				if m[1] != "success" {
					return c, fmt.Errorf("invocation %d: %s\n%s", i+1, m[0], logs)
				}
				d, _ := strconv.ParseFloat(m[2], 64)
				if i == 0 {
					c.first = d
				} else {
					warms = append(warms, d)
				}
			}
			c.warm = median(warms)
			return c, nil
		}
		if time.Now().After(deadline) {
			return coldStart{}, fmt.Errorf("%d INIT REPORT and %d INVOKE RTDONE lines in the emulator's output, want 1 and %d:\n%s",
				len(inits), len(done), 1+warm, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func report(names []string, results map[string][]coldStart) {
	col := func(name string, f func(coldStart) float64) []float64 {
		var xs []float64
		for _, r := range results[name] {
			xs = append(xs, f(r))
		}
		return xs
	}
	initOf := func(c coldStart) float64 { return c.init }
	cost := func(c coldStart) float64 { return c.cost() }
	helloInit, helloCost := median(col("hello", initOf)), median(col("hello", cost))
	fmt.Printf("\nCold starts under the Lambda Runtime Interface Emulator, %d per function, interleaved; medians in ms\n", runs)
	fmt.Printf("(init: INIT REPORT, fork/exec to the first /next; first: the cold invocation; warm: median of %d more;\n", warm)
	fmt.Printf(" cost = init + first − warm, what the cold start adds to the first request; [min–max] of cost):\n")
	fmt.Printf("  %-22s %7s %6s %7s %7s %7s  %-15s %6s\n", "function", "init", "×hello", "first", "warm", "cost", "[min–max]", "×hello")
	worst, worstName := 0.0, ""
	for _, name := range names {
		costs := col(name, cost)
		in, c := median(col(name, initOf)), median(costs)
		ratio := c / helloCost
		fmt.Printf("  %-22s %7.2f %5.2f× %7.2f %7.2f %7.2f  [%5.2f–%5.2f] %5.2f×\n", name,
			in, in/helloInit,
			median(col(name, func(c coldStart) float64 { return c.first })),
			median(col(name, func(c coldStart) float64 { return c.warm })),
			c, slices.Min(costs), slices.Max(costs), ratio)
		if name != "hello" && ratio > worst {
			worst, worstName = ratio, name
		}
	}
	verdict := "yes"
	if worst > 1.5 {
		verdict = "NO"
	}
	fmt.Printf("  worst: %s, %.2f× hello's cold-start cost (target ≤ 1.5×): met? %s\n", worstName, worst, verdict)
}

// withKeys adds to env the ARNs of the keys function holds in the CDK app
// (route.Route.Keys): the token key only in login and the authorizer, the
// cursor key only in the listings.
func withKeys(env map[string]string, function, jwtARN, cursorARN string) map[string]string {
	out := maps.Clone(env)
	held := route.AuthorizerKeys()
	if function != "authorizer" {
		rt, _ := route.ByFunction(function)
		held = rt.Keys
	}
	for _, k := range held {
		switch k {
		case route.TokenKey:
			out["JWT_SECRET_ARN"] = jwtARN
		case route.CursorKey:
			out["CURSOR_SECRET_ARN"] = cursorARN
		}
	}
	return out
}
