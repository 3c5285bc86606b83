package functions_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wallets/internal/auth"
	"wallets/internal/keyrotation"
	"wallets/internal/lambdatest"
	"wallets/internal/mains"
	"wallets/internal/pgtest"
	"wallets/internal/secretstest"
	"wallets/internal/user"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// appImport is the package every route's main calls into.
const appImport = "wallets/internal/app"

// expectedFunctions maps each folder of functions/ to what its main.go must
// be: for a route, exactly what internal/mains writes (`make functions`);
// for the authorizer, one call app.ServeAuthorizer(); migrate, rotate-key
// and the event functions are their own ("").
func expectedFunctions(t *testing.T) (calls map[string]string, sources map[string][]byte) {
	t.Helper()
	calls = map[string]string{
		"authorizer": "ServeAuthorizer()",
		"migrate":    "",
		"rotate-key": "",
		// The events relay and the webhook deliveries (package relayenv).
		"events-relay":     "",
		"webhooks-deliver": "",
	}
	sources, err := mains.All()
	if err != nil {
		t.Fatal(err)
	}
	for fn := range sources {
		if _, dup := calls[fn]; dup {
			t.Errorf("route %s: function name taken by a function that serves no route", fn)
		}
		calls[fn] = ""
	}
	return calls, sources
}

// TestLayout: one folder per route named by its Function, plus authorizer,
// migrate, rotate-key and the two event functions, each a main.go; a
// route's main is what the route table makes of it (internal/mains: a call
// of app.Serve with its own name, its own handler and the wiring of the
// services its route uses).
func TestLayout(t *testing.T) {
	t.Parallel()
	want, sources := expectedFunctions(t)
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			if !strings.HasSuffix(e.Name(), ".go") {
				t.Errorf("functions/%s: unexpected file", e.Name())
			}
			continue
		}
		if _, ok := want[e.Name()]; !ok {
			t.Errorf("functions/%s: no route has this function, and it is none of authorizer, migrate, rotate-key, events-relay, webhooks-deliver", e.Name())
			continue
		}
		seen[e.Name()] = true
		if src, ok := sources[e.Name()]; ok {
			checkGenerated(t, e.Name(), src)
		} else if call := want[e.Name()]; call != "" {
			checkMain(t, e.Name(), call)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if !seen[name] {
			t.Errorf("functions/%s/main.go is missing", name)
		}
	}
}

// checkGenerated checks that functions/<dir> holds main.go alone and that
// it is src.
func checkGenerated(t *testing.T, dir string, src []byte) {
	t.Helper()
	if sources := goSources(t, dir); !slices.Equal(sources, []string{"main.go"}) {
		t.Errorf("functions/%s: want main.go alone, have %v", dir, sources)
	}
	have, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil {
		t.Errorf("functions/%s/main.go: %v (run `make functions`)", dir, err)
		return
	}
	if !bytes.Equal(have, src) {
		t.Errorf("functions/%s/main.go is not what the route table makes of it: run `make functions`", dir)
	}
}

// goSources lists the non-test Go files of functions/<dir>.
func goSources(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			sources = append(sources, filepath.Base(f))
		}
	}
	return sources
}

// checkMain parses functions/<dir> and checks it is package main with one
// file, main.go, whose main is exactly app.<call>.
func checkMain(t *testing.T, dir, call string) {
	t.Helper()
	sources := goSources(t, dir)
	if !slices.Equal(sources, []string{"main.go"}) {
		t.Errorf("functions/%s: want main.go alone, have %v", dir, sources)
		if !slices.Contains(sources, "main.go") {
			return
		}
	}
	path := filepath.Join(dir, "main.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("functions/%s: %v", path, err)
		return
	}
	if f.Name.Name != "main" {
		t.Errorf("functions/%s: package %s, want main", path, f.Name.Name)
	}
	appName := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == appImport {
			appName = "app"
			if imp.Name != nil {
				appName = imp.Name.Name
			}
		}
	}
	if appName != "app" {
		t.Errorf("functions/%s: does not import %q as app", path, appImport)
		return
	}
	var mainFn *ast.FuncDecl
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "main" {
			mainFn = fn
		}
	}
	if mainFn == nil || mainFn.Body == nil {
		t.Errorf("functions/%s: no func main", path)
		return
	}
	if got := mainCall(mainFn); got != call {
		t.Errorf("functions/%s: main calls %q, want exactly app.%s", path, got, call)
	}
}

// mainCall renders main's body if it is one call app.F() without
// arguments; anything else renders as "<...>".
func mainCall(fn *ast.FuncDecl) string {
	const other = "<something other than one app.Serve* call>"
	if len(fn.Body.List) != 1 {
		return other
	}
	stmt, ok := fn.Body.List[0].(*ast.ExprStmt)
	if !ok {
		return other
	}
	call, ok := stmt.X.(*ast.CallExpr)
	if !ok || len(call.Args) > 0 {
		return other
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return other
	}
	if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "app" {
		return other
	}
	return sel.Sel.Name + "()"
}

// TestLinks: each function links what it needs and no more: only migrate
// links the migration runner, only the routes that handle passwords link
// argon2, none the AWS SDK's configuration loader.
func TestLinks(t *testing.T) {
	t.Parallel()
	password := map[string]bool{"users-sign-up": true, "users-login": true, "users-change-password": true}
	// go list -deps prints each package once across all its roots: list
	// the functions one at a time.
	calls, _ := expectedFunctions(t)
	for name := range calls {
		out, err := exec.Command(lambdatest.GoTool(t), "list", "-C", moduleDir(t), "-tags", lambdatest.BuildTags,
			"-deps", "./functions/"+name).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", name, err)
		}
		deps := string(out)
		has := func(pkg string) bool { return strings.Contains(deps, pkg+"\n") || strings.Contains(deps, pkg+"/") }
		if got := has("github.com/pressly/goose/v3"); got != (name == "migrate") {
			t.Errorf("%s links goose: %v", name, got)
		}
		if got := has("github.com/alexedwards/argon2id"); got != password[name] {
			t.Errorf("%s links argon2id: %v, want %v", name, got, password[name])
		}
		// Only the two event functions talk to EventBridge and SQS.
		events := name == "events-relay" || name == "webhooks-deliver"
		for _, pkg := range []string{"github.com/aws/aws-sdk-go-v2/service/eventbridge", "github.com/aws/aws-sdk-go-v2/service/sqs"} {
			if got := has(pkg); got != events {
				t.Errorf("%s links %s: %v, want %v", name, pkg, got, events)
			}
		}
		// The AWS configuration comes from the environment (internal/awsenv),
		// not from the SDK's loader, whose credential chain brings the STS,
		// SSO and Sign-In clients (a millisecond of package init each cold
		// start).
		for _, pkg := range []string{"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sts",
			"github.com/aws/aws-sdk-go-v2/service/sso", "github.com/aws/aws-sdk-go-v2/service/ssooidc",
			"github.com/aws/aws-sdk-go-v2/service/signin"} {
			if has(pkg) {
				t.Errorf("%s links %s", name, pkg)
			}
		}
	}
}

// moduleDir is the module's root: the tests run in functions/.
func moduleDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return dir
}

// TestBuildLinuxARM64 cross-compiles every function as `make build` does and
// checks each is a stripped, static linux/arm64 executable.
func TestBuildLinuxARM64(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles every function; skipped with -short")
	}
	t.Parallel()
	// Cold build caches compile every dependency for arm64 first (minutes
	// on two cores); warm ones only link.
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	out := t.TempDir() + string(filepath.Separator)
	const version = "lambdatest-version-marker"
	// The Makefile's build/%/bootstrap recipe, for every function at once.
	cmd := exec.CommandContext(ctx, lambdatest.GoTool(t), "build",
		"-tags", lambdatest.BuildTags, "-trimpath",
		"-ldflags", "-s -w -X wallets/internal/obs.Version="+version,
		"-o", out, "./functions/...")
	cmd.Dir = moduleDir(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
	t.Logf("cross-compiled ./functions/... for linux/arm64 in %v", time.Since(start).Round(time.Millisecond))

	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	calls, _ := expectedFunctions(t)
	want := slices.Sorted(maps.Keys(calls))
	if !slices.Equal(got, want) {
		t.Fatalf("go build wrote %v\nwant one binary per function: %v", got, want)
	}
	// The renderer's bundle reaches the docs function alone: every
	// function imports internal/api, which imports internal/docs, so go
	// list cannot tell; the linker drops the bundle from the binaries whose
	// code never calls docs.Page. A slice of its middle stands for it.
	bundle, err := os.ReadFile(filepath.Join(moduleDir(t), "internal", "docs", "redoc.standalone.js"))
	if err != nil {
		t.Fatal(err)
	}
	marker := bundle[len(bundle)/2 : len(bundle)/2+256]
	for _, name := range got {
		b := checkELF(t, filepath.Join(out, name), version)
		if has := bytes.Contains(b, marker); has != (name == "docs") {
			t.Errorf("%s carries the docs page's Redoc bundle: %v", name, has)
		}
	}
}

// maxBootstrap bounds a function's binary, to catch a function that starts
// linking what it does not need. (10 MB is out of reach: aws-lambda-go's
// hello world is 5.8 MB on linux/arm64 with these flags, and with a pgx pool
// 10.2 MB, before sentry-go and the AWS SDK; the functions are 11.4–11.7
// MiB, 1.6 MiB less than when they linked the SDK's configuration loader.)
const maxBootstrap = 12<<20 + 1<<19 // 12.5 MiB

// maxDocsBootstrap bounds the docs function, which embeds the renderer's
// bundle (internal/docs, 1.1 MB) beside what the health function links.
const maxDocsBootstrap = maxBootstrap + 2<<20

// checkELF checks path is a static, stripped linux/arm64 executable that
// carries the version set at link time, and returns its bytes.
func checkELF(t *testing.T, path, version string) []byte {
	t.Helper()
	name := filepath.Base(path)
	f, err := elf.Open(path)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return nil
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Machine != elf.EM_AARCH64 {
		t.Errorf("%s: %v %v %v, want ELFCLASS64 ELFDATA2LSB EM_AARCH64", name, f.Class, f.Data, f.Machine)
	}
	if f.Type != elf.ET_EXEC {
		t.Errorf("%s: type %v, want ET_EXEC", name, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: has a %v program header: not static", name, p.Type)
		}
	}
	for _, s := range f.Sections {
		switch {
		case s.Name == ".interp" || s.Name == ".dynamic":
			t.Errorf("%s: has a %s section: not static", name, s.Name)
		case s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_"):
			t.Errorf("%s: has a %s section: not stripped (-s -w)", name, s.Name)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s: imports libraries %v (%v)", name, libs, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	limit := maxBootstrap
	if name == "docs" {
		limit = maxDocsBootstrap
	}
	if len(b) > limit {
		t.Errorf("%s: %.1f MB, more than %.1f MB", name, float64(len(b))/(1<<20), float64(limit)/(1<<20))
	}
	t.Logf("%s: %.1f MB", name, float64(len(b))/(1<<20))
	if !bytes.Contains(b, []byte(version)) {
		t.Errorf("%s: -X wallets/internal/obs.Version=%s did not reach the binary", name, version)
	}
	return b
}

// jwtSecret is the functions' signing key (JWT_SECRET wants 32 bytes or more).
const jwtSecret = "lambdatest-jwt-secret-0123456789abcdef"

// TestLambdaRuntime builds real bootstraps for the host and drives them
// through the AWS Lambda Runtime Interface Emulator, which speaks the Lambda
// Runtime API to them exactly as Lambda does: cold start, /next, /response.
func TestLambdaRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bootstraps and installs the Lambda emulator; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the Lambda Runtime Interface Emulator runs Linux bootstraps")
	}
	t.Parallel()

	// Install (or find cached) the emulator while the bootstraps build.
	setup, cancelSetup := context.WithTimeout(t.Context(), 5*time.Minute)
	var (
		wg     sync.WaitGroup
		rie    string
		rieErr error
	)
	defer func() { cancelSetup(); wg.Wait() }() // also when the build fails
	wg.Go(func() { rie, rieErr = lambdatest.FindRIE(setup, t.Logf) })
	bins := lambdatest.BuildHost(setup, t, moduleDir(t),
		"health", "migrate", "users-sign-up", "users-login", "authorizer", "rotate-key")
	wg.Wait()
	if rieErr != nil {
		t.Fatal(rieErr)
	}

	// From here on everything is bounded by a minute. (Cleanup, not defer:
	// the parallel subtests run after this function returns.)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	start := func(t *testing.T, name, dbURL string) *lambdatest.Function {
		env := map[string]string{
			"DATABASE_URL":             dbURL,
			"AWS_LAMBDA_FUNCTION_NAME": name,
			"WALLETS_ENV":              "test",
		}
		// Only the functions holding the token key get it, as in the CDK app.
		if name == "users-login" || name == "authorizer" {
			env["JWT_SECRET"] = jwtSecret
		}
		return lambdatest.Start(ctx, t, lambdatest.Config{RIE: rie, Bootstrap: bins[name], Env: env})
	}

	t.Run("health", func(t *testing.T) {
		t.Parallel()
		fn := start(t, "health", pgtest.URL(t))
		began := time.Now()
		resp, ids := invokeAPI(ctx, t, fn, http.MethodGet, "/api/v1/health", nil, "")
		t.Logf("health: cold invocation (init + handler) in %v", time.Since(began).Round(time.Millisecond))
		want(t, resp, http.StatusOK, `{"status":"ok","database":"ok"}`)
		checkRequestLog(t, fn, ids, "request", http.StatusOK)
		if runtime.GOOS == "linux" && len(fn.Processes()) == 0 {
			t.Error("no bootstrap process seen under the emulator: cleanup could not kill it")
		}

		began = time.Now()
		resp, _ = invokeAPI(ctx, t, fn, http.MethodPost, "/api/v1/health", nil, "")
		t.Logf("health: warm invocation in %v", time.Since(began).Round(time.Millisecond))
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /health: status %d, want 405 (body %s)", resp.StatusCode, resp.Body)
		}
	})

	t.Run("init failure", func(t *testing.T) {
		t.Parallel()
		// Login without the token key: the container must fail its init,
		// not serve. (health, which holds no key, started without one.)
		fn := lambdatest.Start(ctx, t, lambdatest.Config{RIE: rie, Bootstrap: bins["users-login"], Env: map[string]string{
			"DATABASE_URL":             pgtest.URL(t),
			"AWS_LAMBDA_FUNCTION_NAME": "users-login",
		}})
		ev := events.APIGatewayProxyRequest{HTTPMethod: http.MethodPost, Path: "/api/v1/users/login", Resource: "/api/v1/users/login"}
		body, err := fn.Invoke(ctx, lambdatest.NewID("lambda-"), ev)
		if err == nil || !strings.Contains(err.Error(), "502") {
			t.Errorf("invoke without JWT_SECRET: %v (body %s), want the emulator's 502 for a failed init", err, body)
		}
		if logs := fn.Logs(); !strings.Contains(logs, "init failed") || !strings.Contains(logs, "no token key") {
			t.Errorf("the output does not say why init failed:\n%s", logs)
		}
	})

	t.Run("database down", func(t *testing.T) {
		t.Parallel()
		// A port nothing listens on: every connection is refused. The
		// containers still start (their init's first connection fails and
		// is left to the first request), then answer 503.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "postgres://postgres@" + l.Addr().String() + "/wallets?sslmode=disable"
		l.Close()
		health, login := start(t, "health", down), start(t, "users-login", down)

		began := time.Now()
		resp, _ := invokeAPI(ctx, t, health, http.MethodGet, "/api/v1/health", nil, "")
		want(t, resp, http.StatusServiceUnavailable, `{"status":"unavailable","database":"unreachable"}`)
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("health: cold invocation with the database down took %v", d)
		}
		resp, _ = invokeAPI(ctx, t, login, http.MethodPost, "/api/v1/users/login",
			map[string]string{"Content-Type": "application/json"}, `{"username":"nobody","password":"whatever-it-is"}`)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(resp.Body, "temporarily unavailable") ||
			resp.Headers["Retry-After"] == "" {
			t.Errorf("login with the database down: %d %v %s, want 503 with Retry-After", resp.StatusCode, resp.Headers, resp.Body)
		}
	})

	t.Run("migrate", func(t *testing.T) {
		t.Parallel()
		// As the schema's owner, as in AWS; pgtest's database is migrated
		// already: nothing to apply.
		fn := start(t, "migrate", pgtest.OwnerURL(t, pgtest.URL(t)))
		body, err := fn.Invoke(ctx, lambdatest.NewID("lambda-"), map[string]any{})
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Applied  []string `json:"applied"`
			ErrorMsg string   `json:"errorMessage"`
		}
		if err := json.Unmarshal(body, &res); err != nil || res.ErrorMsg != "" || len(res.Applied) != 0 ||
			!bytes.Contains(body, []byte(`"applied"`)) {
			t.Errorf("migrate answered %s (%v), want no migration applied", body, err)
		}
	})

	t.Run("rotate-key", func(t *testing.T) {
		t.Parallel()
		// Secrets Manager's side: the stand-in, a key, and a rotation started
		// as RotateSecret starts one (the token's version AWSPENDING, empty).
		sm := secretstest.New(t)
		const key = "wallets/test/jwt-key"
		sm.Put(key, jwtSecret)
		sm.SetRotationEnabled(key, true)
		started, err := sm.Client().RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		fn := lambdatest.Start(ctx, t, lambdatest.Config{RIE: rie, Bootstrap: bins["rotate-key"], Env: map[string]string{
			"AWS_LAMBDA_FUNCTION_NAME":         "rotate-key",
			"AWS_ACCESS_KEY_ID":                "AKIDLAMBDATEST",
			"AWS_SECRET_ACCESS_KEY":            "lambdatest-secret-key",
			"AWS_SESSION_TOKEN":                "lambdatest-session-token",
			"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL,
		}})
		for _, step := range keyrotation.Steps {
			id := lambdatest.NewID("lambda-")
			ev := keyrotation.Event{Step: step, SecretID: sm.ARN(key), ClientRequestToken: aws.ToString(started.VersionId)}
			body, err := fn.Invoke(ctx, id, ev)
			if err != nil || string(body) != "null" {
				t.Fatalf("%s: %s (%v), want null", step, body, err)
			}
			line, ok := fn.LogLine(5*time.Second, func(m map[string]any) bool { return m["aws_request_id"] == id })
			if !ok || line["msg"] != "rotation step" || line["step"] != step || line["function"] != "rotate-key" || line["outcome"] == nil {
				t.Errorf("%s: log line %v, want the step's JSON line", step, line)
			}
		}
		cur, _ := sm.Value(key, "AWSCURRENT")
		prev, _ := sm.Value(key, "AWSPREVIOUS")
		if len(cur) != keyrotation.KeyLength || prev != jwtSecret {
			t.Errorf("after the rotation: AWSCURRENT %d characters, AWSPREVIOUS %q; want a new key and the old one", len(cur), prev)
		}
		if strings.Contains(fn.Logs(), cur) || strings.Contains(fn.Logs(), jwtSecret) {
			t.Error("the function logged a key")
		}
		// A step the contract refuses fails the invocation, for Secrets
		// Manager to retry and report.
		body, err := fn.Invoke(ctx, lambdatest.NewID("lambda-"), keyrotation.Event{Step: keyrotation.CreateSecret,
			SecretID: sm.ARN(key), ClientRequestToken: "00000000-0000-4000-8000-00000000dead"})
		if err != nil || !bytes.Contains(body, []byte("errorMessage")) || !bytes.Contains(body, []byte("not pending")) {
			t.Errorf("a token that is no version: %s (%v), want a function error", body, err)
		}
	})

	t.Run("users", func(t *testing.T) {
		t.Parallel()
		dbURL := pgtest.URL(t)
		signUp := start(t, "users-sign-up", dbURL)
		login := start(t, "users-login", dbURL)
		authorizer := start(t, "authorizer", dbURL)

		const password = "Tr0ub4dor&3-horse-battery"
		body := `{"username":"lambda_alice","email":"alice@example.com","first_name":"Alice","last_name":"Liddell",` +
			`"password":"` + password + `","password2":"` + password + `"}`
		began := time.Now()
		resp, ids := invokeAPI(ctx, t, signUp, http.MethodPost, "/api/v1/users/sign-up", map[string]string{"Content-Type": "application/json"}, body)
		t.Logf("users-sign-up: cold invocation (init + argon2id hash + insert) in %v", time.Since(began).Round(time.Millisecond))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("sign-up: status %d, want 201; body %s", resp.StatusCode, resp.Body)
		}
		var created struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
			Email    string `json:"email"`
			Profile  struct {
				Type int `json:"type"`
			} `json:"profile"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &created); err != nil || created.ID <= 0 ||
			created.Username != "lambda_alice" || created.Email != "alice@example.com" || created.Profile.Type != int(user.CustomerType) {
			t.Errorf("sign-up body %s (%v): want the new customer", resp.Body, err)
		}
		checkRequestLog(t, signUp, ids, "request", http.StatusCreated)

		for _, bad := range []string{`{"username":`, `{"username":"lambda_bob"}`} {
			resp, ids = invokeAPI(ctx, t, signUp, http.MethodPost, "/api/v1/users/sign-up", map[string]string{"Content-Type": "application/json"}, bad)
			if resp.StatusCode != http.StatusBadRequest || !json.Valid([]byte(resp.Body)) {
				t.Errorf("sign-up %s: status %d body %s, want 400 with a JSON body", bad, resp.StatusCode, resp.Body)
			}
			checkRequestLog(t, signUp, ids, "request", http.StatusBadRequest)
		}

		// No token: the authorizer denies with the 401 detail.
		arn := "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/test/GET/api/v1/users/me"
		deny, ids := invokeAuthorizer(ctx, t, authorizer, arn, nil)
		checkPolicy(t, "no token", deny, "Deny", arn)
		if deny.Context["detail"] != "Authentication credentials were not provided." {
			t.Errorf("no token: context %v, want detail %q", deny.Context, "Authentication credentials were not provided.")
		}
		checkRequestLog(t, authorizer, ids, "authorize", http.StatusForbidden)

		// A forged token: denied too.
		deny, _ = invokeAuthorizer(ctx, t, authorizer, arn, map[string]string{"Authorization": "JWT not.a.token"})
		checkPolicy(t, "bad token", deny, "Deny", arn)
		if deny.Context["detail"] != auth.ErrInvalidToken.Detail {
			t.Errorf("bad token: context %v, want detail %q", deny.Context, auth.ErrInvalidToken.Detail)
		}

		// The real token from the login function: allowed, on the whole stage.
		resp, _ = invokeAPI(ctx, t, login, http.MethodPost, "/api/v1/users/login", map[string]string{"Content-Type": "application/json"},
			`{"username":"lambda_alice","password":"`+password+`"}`)
		var session struct {
			Token string `json:"token"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &session) != nil || session.Token == "" {
			t.Fatalf("login: status %d body %s, want 200 with a token", resp.StatusCode, resp.Body)
		}
		allow, ids := invokeAuthorizer(ctx, t, authorizer, arn, map[string]string{"Authorization": "JWT " + session.Token})
		checkPolicy(t, "login token", allow, "Allow", "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/test/*")
		id := strconv.FormatInt(created.ID, 10)
		if allow.PrincipalID != id || allow.Context["user_id"] != id || allow.Context["user_type"] != "1" {
			t.Errorf("login token: principal %q context %v, want user %s of type 1", allow.PrincipalID, allow.Context, id)
		}
		checkRequestLog(t, authorizer, ids, "authorize", http.StatusOK)
	})
}

// requestIDs are the ids of one invocation: API Gateway's (the event's
// requestContext.requestId, logged as request_id) and Lambda's (the Runtime
// API's Lambda-Runtime-Aws-Request-Id, logged as aws_request_id).
type requestIDs struct{ apiGateway, lambda string }

func newIDs() requestIDs {
	return requestIDs{apiGateway: lambdatest.NewID("apigw-"), lambda: lambdatest.NewID("lambda-")}
}

// invokeAPI sends an API Gateway proxy event to fn and decodes its answer.
func invokeAPI(ctx context.Context, t *testing.T, fn *lambdatest.Function, method, path string, headers map[string]string, body string) (events.APIGatewayProxyResponse, requestIDs) {
	t.Helper()
	ids := newIDs()
	ev := events.APIGatewayProxyRequest{
		Resource:   path,
		Path:       path,
		HTTPMethod: method,
		Headers:    headers,
		Body:       body,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID:    ids.apiGateway,
			Stage:        "test",
			HTTPMethod:   method,
			ResourcePath: path,
			Path:         "/test" + path,
		},
	}
	raw, err := fn.Invoke(ctx, ids.lambda, ev)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(raw, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("%s %s: not an API Gateway proxy response (%v): %s", method, path, err, raw)
	}
	return resp, ids
}

// invokeAuthorizer sends a REQUEST authorizer event for GET /api/v1/users/me.
func invokeAuthorizer(ctx context.Context, t *testing.T, fn *lambdatest.Function, arn string, headers map[string]string) (events.APIGatewayCustomAuthorizerResponse, requestIDs) {
	t.Helper()
	ids := newIDs()
	const path = "/api/v1/users/me"
	ev := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:       "REQUEST",
		MethodArn:  arn,
		Resource:   path,
		Path:       path,
		HTTPMethod: http.MethodGet,
		Headers:    headers,
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			RequestID:    ids.apiGateway,
			Stage:        "test",
			HTTPMethod:   http.MethodGet,
			ResourcePath: path,
			Path:         "/test" + path,
		},
	}
	raw, err := fn.Invoke(ctx, ids.lambda, ev)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayCustomAuthorizerResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("authorizer: not an authorizer response (%v): %s", err, raw)
	}
	return resp, ids
}

func want(t *testing.T, resp events.APIGatewayProxyResponse, status int, body string) {
	t.Helper()
	if resp.StatusCode != status || resp.Body != body {
		t.Errorf("got %d %s, want %d %s", resp.StatusCode, resp.Body, status, body)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
}

func checkPolicy(t *testing.T, what string, resp events.APIGatewayCustomAuthorizerResponse, effect, resource string) {
	t.Helper()
	st := resp.PolicyDocument.Statement
	if len(st) != 1 || st[0].Effect != effect || !slices.Equal(st[0].Resource, []string{resource}) ||
		!slices.Equal(st[0].Action, []string{"execute-api:Invoke"}) {
		t.Errorf("%s: policy %+v, want one %s of execute-api:Invoke on %s", what, resp.PolicyDocument, effect, resource)
	}
}

// checkRequestLog waits for the function's JSON log line msg ("request" or
// "authorize") of the invocation ids, and checks its status.
func checkRequestLog(t *testing.T, fn *lambdatest.Function, ids requestIDs, msg string, status int) {
	t.Helper()
	line, ok := fn.LogLine(5*time.Second, func(m map[string]any) bool {
		return m["msg"] == msg && m["request_id"] == ids.apiGateway
	})
	if !ok {
		t.Errorf("%s: no JSON %q log line with request_id %s", fn.Name, msg, ids.apiGateway)
		return
	}
	if line["aws_request_id"] != ids.lambda || line["Function"] != fn.Name || line["status"] != float64(status) {
		t.Errorf("%s: log line %v: want aws_request_id %s, Function %s, status %d", fn.Name, line, ids.lambda, fn.Name, status)
	}
}
