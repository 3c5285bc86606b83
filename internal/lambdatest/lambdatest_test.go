package lambdatest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeModeEnv makes the test binary act as a stand-in emulator (or as the
// "bootstrap" such a stand-in starts) instead of running the tests: it lets
// the tests drive Start, Invoke, LogLine and Stop through answers and failures
// the real aws-lambda-rie does not give on demand.
const fakeModeEnv = "LAMBDATEST_FAKE_MODE"

func TestMain(m *testing.M) {
	switch os.Getenv(fakeModeEnv) {
	case "":
		os.Exit(m.Run())
	case "exit":
		fmt.Println("fake rie: cannot bind")
		os.Exit(3)
	case "serve":
		fakeEmulator()
	case "sleep":
		signal.Ignore(syscall.SIGTERM) // only SIGKILL ends it, as a stuck bootstrap
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(2)
}

// fakeEmulator serves InvokePath on --runtime-interface-emulator-address like
// the emulator: the first invocation starts a "bootstrap" (this binary in
// sleep mode) in a process group of its own; an event {"fail": true} is
// answered 502; every invocation writes a JSON log line.
func fakeEmulator() {
	var addr string
	for i, a := range os.Args {
		if a == "--runtime-interface-emulator-address" && i+1 < len(os.Args) {
			addr = os.Args[i+1]
		}
	}
	var child *exec.Cmd
	http.HandleFunc(InvokePath, func(w http.ResponseWriter, r *http.Request) {
		if child == nil {
			child = exec.Command(os.Args[0])
			child.Env = append(os.Environ(), fakeModeEnv+"=sleep")
			child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := child.Start(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		line, _ := json.Marshal(map[string]any{"msg": "invoked", "request_id": r.Header.Get("X-Amzn-RequestId")})
		fmt.Println("not json: START")
		fmt.Println(string(line))
		if ev["fail"] == true {
			http.Error(w, `{"errorType":"Runtime.ExitError"}`, http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, `{"function":%q}`, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))
	})
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

// fatalTB records a Fatalf instead of failing the test, so the tests can
// check what the helpers report when they give up.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any) {
	f.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}

// fatalOf runs fn with a fatalTB wrapping t and returns what it reported
// through Fatalf, "" if nothing.
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	return tb.fatal
}

// bootstrapIn returns a bootstrap path in a new folder named name (the
// emulator runs in the bootstrap's folder).
func bootstrapIn(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "bootstrap")
}

func selfExecutable(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestFindRIEPrefersTheEnvironmentVariable(t *testing.T) {
	t.Setenv(RIEEnv, "/opt/rie/aws-lambda-rie")
	got, err := FindRIE(context.Background(), t.Logf)
	if err != nil || got != "/opt/rie/aws-lambda-rie" {
		t.Fatalf("FindRIE = %q, %v; want $%s", got, err, RIEEnv)
	}
}

func TestFindRIEUsesAnExecutableInTheCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(RIEEnv, "")
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	want := filepath.Join(cache, "wallets-lambdatest",
		fmt.Sprintf("aws-lambda-rie@%s-%s-%s", RIEVersion, runtime.GOOS, runtime.GOARCH))
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // no go: an install would fail
	got, err := FindRIE(context.Background(), t.Logf)
	if err != nil || got != want {
		t.Fatalf("FindRIE = %q, %v; want the cached %q", got, err, want)
	}
}

func TestFindRIEIgnoresANonExecutableCacheAndNeedsGoToInstall(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(RIEEnv, "")
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	stale := filepath.Join(cache, "wallets-lambdatest",
		fmt.Sprintf("aws-lambda-rie@%s-%s-%s", RIEVersion, runtime.GOOS, runtime.GOARCH))
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	got, err := FindRIE(context.Background(), t.Logf)
	if err == nil || !strings.Contains(err.Error(), "no go command on PATH") {
		t.Fatalf("FindRIE = %q, %v; want the missing go command reported", got, err)
	}
	if msg := fatalOf(t, func(tb testing.TB) { RIE(context.Background(), tb) }); !strings.Contains(msg, "lambdatest: no go command on PATH") {
		t.Errorf("RIE fatal = %q; want the FindRIE error", msg)
	}
	if msg := fatalOf(t, func(tb testing.TB) { GoTool(tb) }); !strings.Contains(msg, "no go command on PATH") {
		t.Errorf("GoTool fatal = %q; want the missing go command reported", msg)
	}
}

// fakeGo puts on PATH a go command that runs script (sh) for any arguments.
func fakeGo(t *testing.T, script string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+"/usr/bin:/bin")
}

func TestFindRIEInstallsIntoTheCacheForTheNextRuns(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(RIEEnv, "")
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	fakeGo(t, `[ "$1 $2" = "install `+RIEPackage+"@"+RIEVersion+`" ] || exit 9
printf 'installed rie' > "$GOBIN/aws-lambda-rie"
`)
	var logged []string
	got, err := FindRIE(context.Background(), func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
	want := filepath.Join(cache, "wallets-lambdatest",
		fmt.Sprintf("aws-lambda-rie@%s-%s-%s", RIEVersion, runtime.GOOS, runtime.GOARCH))
	if err != nil || got != want {
		t.Fatalf("FindRIE = %q, %v; want the cache path %q", got, err, want)
	}
	if b, _ := os.ReadFile(got); string(b) != "installed rie" {
		t.Errorf("cached binary holds %q; want what go install wrote", b)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "installed aws-lambda-rie@"+RIEVersion) {
		t.Errorf("logged %q; want one line about the install", logged)
	}
	fakeGo(t, "exit 7\n") // the next run must not install again
	if again, err := FindRIE(context.Background(), t.Logf); err != nil || again != want {
		t.Errorf("second FindRIE = %q, %v; want the cached binary", again, err)
	}
}

func TestFindRIEReportsAFailedInstallWithTheWayAround(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(RIEEnv, "")
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	fakeGo(t, "echo 'proxy.golang.org: no such host' >&2\nexit 1\n")
	_, err := FindRIE(context.Background(), t.Logf)
	if err == nil {
		t.Fatal("FindRIE succeeded with a failing go install")
	}
	for _, want := range []string{"go install " + RIEPackage + "@" + RIEVersion, "no such host", "set $" + RIEEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("FindRIE error %q; want it to hold %q", err, want)
		}
	}
}

func TestCopyExecutableWritesAnExecutableCopyAndNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "new", "sub", "rie")
	if err := copyExecutable(src, dst); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil || string(b) != "binary" {
		t.Fatalf("copy = %q, %v; want the source's bytes", b, err)
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("copy mode = %v, %v; want 0755", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dst))
	if len(entries) != 1 {
		t.Errorf("directory holds %v; want only the copy", entries)
	}
}

func TestCopyExecutableOfAMissingSourceLeavesNoDestination(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "rie")
	if err := copyExecutable(filepath.Join(dir, "missing"), dst); !os.IsNotExist(err) {
		t.Fatalf("copyExecutable = %v; want a not-exist error", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("destination exists after a failed copy: %v", err)
	}
}

// module writes a throwaway module with functions/<name>/main.go for each
// source given.
func module(t *testing.T, sources map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module fake\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, src := range sources {
		p := filepath.Join(dir, "functions", name, "main.go")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildHostPutsEachFunctionsBootstrapInItsOwnFolder(t *testing.T) {
	dir := module(t, map[string]string{
		"alpha": "package main\n\nfunc main() { println(\"alpha\") }\n",
		"beta":  "package main\n\nfunc main() { println(\"beta\") }\n",
	})
	bins := BuildHost(context.Background(), t, dir, "alpha", "beta")
	if len(bins) != 2 {
		t.Fatalf("BuildHost = %v; want two bootstraps", bins)
	}
	for _, name := range []string{"alpha", "beta"} {
		p := bins[name]
		if filepath.Base(p) != "bootstrap" || filepath.Base(filepath.Dir(p)) != name {
			t.Errorf("%s: bootstrap at %q; want <dir>/%s/bootstrap", name, p, name)
		}
		out, err := exec.Command(p).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != name {
			t.Errorf("%s: running the bootstrap = %q, %v; want it to print its name", name, out, err)
		}
	}
}

func TestBuildHostReportsTheCompilerOutput(t *testing.T) {
	dir := module(t, map[string]string{"broken": "package main\n\nfunc main() { undefinedThing() }\n"})
	msg := fatalOf(t, func(tb testing.TB) { BuildHost(context.Background(), tb, dir, "broken") })
	if !strings.Contains(msg, "lambdatest: go build") || !strings.Contains(msg, "undefinedThing") {
		t.Fatalf("BuildHost fatal = %q; want the go build command and the compiler error", msg)
	}
}

func TestStartReportsAnEmulatorThatExitsBeforeListening(t *testing.T) {
	bootstrap := bootstrapIn(t, "fn")
	msg := fatalOf(t, func(tb testing.TB) {
		Start(context.Background(), tb, Config{RIE: selfExecutable(t), Bootstrap: bootstrap,
			Env: map[string]string{fakeModeEnv: "exit"}})
	})
	for _, want := range []string{"lambdatest: start " + bootstrap, "exited before listening", "fake rie: cannot bind"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Start fatal = %q; want it to hold %q", msg, want)
		}
	}
}

func TestStartGivesUpWhenTheContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	msg := fatalOf(t, func(tb testing.TB) {
		// sleep mode never listens: only the context ends the wait.
		Start(ctx, tb, Config{RIE: selfExecutable(t), Bootstrap: bootstrapIn(t, "fn"),
			Env: map[string]string{fakeModeEnv: "sleep"}})
	})
	if !strings.Contains(msg, context.Canceled.Error()) {
		t.Fatalf("Start fatal = %q; want the context's error", msg)
	}
}

func TestStartOfAMissingEmulatorFails(t *testing.T) {
	msg := fatalOf(t, func(tb testing.TB) {
		Start(context.Background(), tb, Config{RIE: filepath.Join(t.TempDir(), "no-rie"), Bootstrap: "/x/fn/bootstrap"})
	})
	if !strings.Contains(msg, "lambdatest: start /x/fn/bootstrap") || !strings.Contains(msg, "no-rie") {
		t.Fatalf("Start fatal = %q; want the failed exec reported", msg)
	}
}

func TestInvokeLogLineAndStopThroughAStandInEmulator(t *testing.T) {
	ctx := context.Background()
	bootstrap := bootstrapIn(t, "payments")
	fn := Start(ctx, t, Config{RIE: selfExecutable(t), Bootstrap: bootstrap, Env: map[string]string{fakeModeEnv: "serve"}})
	if fn.Name != "payments" {
		t.Errorf("Name = %q; want the bootstrap's folder", fn.Name)
	}

	body, err := fn.Invoke(ctx, "req-1", map[string]any{"n": 1})
	if err != nil || string(body) != `{"function":"payments"}` {
		t.Fatalf("Invoke = %s, %v; want the function's answer", body, err)
	}
	line, ok := fn.LogLine(5*time.Second, func(m map[string]any) bool { return m["request_id"] == "req-1" })
	if !ok || line["msg"] != "invoked" {
		t.Errorf("LogLine = %v, %v; want the invocation's JSON line", line, ok)
	}
	if !strings.Contains(fn.Logs(), "not json: START") {
		t.Errorf("Logs = %q; want the emulator's plain lines too", fn.Logs())
	}
	if _, ok := fn.LogLine(50*time.Millisecond, func(m map[string]any) bool { return m["request_id"] == "never" }); ok {
		t.Error("LogLine found a line no invocation wrote")
	}

	body, err = fn.Invoke(ctx, "", []byte(`{"fail":true}`))
	if err == nil || !strings.Contains(err.Error(), "invoke payments: emulator answered 502 Bad Gateway") ||
		!strings.Contains(string(body), "Runtime.ExitError") {
		t.Errorf("Invoke of a failing function = %s, %v; want the 502 and its body", body, err)
	}
	if _, err := fn.Invoke(ctx, "", make(chan int)); err == nil {
		t.Error("Invoke of an event JSON cannot encode succeeded")
	}

	procs := fn.Processes()
	if len(procs) == 0 {
		t.Fatal("Processes is empty after an invocation started the bootstrap")
	}
	started := map[int]uint64{}
	for _, p := range procs {
		started[p] = startTime(p)
	}

	// The "bootstrap" ignores SIGTERM and sits in a group of its own: Stop
	// must still leave no process behind.
	fn.Stop()
	fn.Stop() // a second Stop (and the one at cleanup) is harmless
	for p, st := range started {
		if alive(p, st) {
			t.Errorf("process %d survived Stop", p)
		}
	}
	if _, err := fn.Invoke(ctx, "", map[string]any{}); err == nil || !strings.Contains(err.Error(), "invoke payments:") {
		t.Errorf("Invoke after Stop = %v; want a connection error naming the function", err)
	}
}

func TestTheRealEmulatorRunsAGoBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a bootstrap and runs aws-lambda-rie")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rie, err := FindRIE(ctx, t.Logf)
	if err != nil {
		t.Skipf("no aws-lambda-rie (offline?): %v", err)
	}
	bootstrap := filepath.Join(t.TempDir(), "hello", "bootstrap")
	build := exec.CommandContext(ctx, GoTool(t), "build", "-tags", BuildTags, "-o", bootstrap, "wallets/internal/bench/cold/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build hello: %v\n%s", err, out)
	}
	fn := Start(ctx, t, Config{RIE: rie, Bootstrap: bootstrap})
	body, err := fn.Invoke(ctx, NewID("lambda-"), map[string]any{})
	if err != nil || string(body) != `"hello"` {
		t.Fatalf("Invoke = %s, %v; want \"hello\"", body, err)
	}
	procs := fn.Processes()
	bootstrapSeen := slices.ContainsFunc(procs, func(p int) bool {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p))
		return exe == bootstrap
	})
	if runtime.GOOS == "linux" && !bootstrapSeen {
		t.Errorf("Processes = %v; want the bootstrap among them", procs)
	}
	started := map[int]uint64{}
	for _, p := range procs {
		started[p] = startTime(p)
	}
	fn.Stop()
	for p, st := range started {
		if alive(p, st) {
			t.Errorf("process %d survived Stop", p)
		}
	}
}

func TestNewIDIsPrefixedAndRandom(t *testing.T) {
	a, b := NewID("lambda-"), NewID("lambda-")
	if !strings.HasPrefix(a, "lambda-") || len(a) != len("lambda-")+16 {
		t.Errorf("NewID = %q; want the prefix and 16 hex digits", a)
	}
	if a == b {
		t.Errorf("two NewIDs are both %q", a)
	}
}
