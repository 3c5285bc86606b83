// Package lambdatest runs the real Lambda bootstraps of functions/ in tests:
// it builds them for the host, installs the AWS Lambda Runtime Interface
// Emulator (RIE), starts one emulator per function on free ports and invokes
// the function through it, as Lambda would, over the Runtime API.
//
// A test builds, starts and invokes:
//
//	rie := lambdatest.RIE(ctx, t)
//	bins := lambdatest.BuildHost(ctx, t, moduleDir, "health")
//	fn := lambdatest.Start(ctx, t, lambdatest.Config{RIE: rie, Bootstrap: bins["health"], Env: env})
//	body, err := fn.Invoke(ctx, "request-id", event)
//
// Every process Start launches (the emulator, and the bootstrap the emulator
// launches in a process group of its own) is killed when the test ends.
//
// The emulator (aws-lambda-rie) takes --runtime-api-address (the Runtime API
// it serves the bootstrap, default 127.0.0.1:9001) and
// --runtime-interface-emulator-address (the invoke endpoint, default
// 0.0.0.0:8080); Start sets both to free loopback ports. It has no --help:
// unknown flags are ignored, so `aws-lambda-rie --help` starts serving on
// the defaults and never returns. It starts the bootstrap at the first
// invocation (the cold start) and passes it its own environment.
package lambdatest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
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

	"wallets/internal/syncbuf"
)

// The emulator this package installs with go install.
const (
	RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// RIEEnv names an environment variable that, when set, gives the path of an
// aws-lambda-rie binary to use instead of installing one (e.g. offline).
const RIEEnv = "LAMBDA_RIE"

// BuildTags are the tags of every Lambda build: lambda.norpc drops the
// legacy RPC mode, so the bootstrap speaks only the Runtime API.
const BuildTags = "lambda.norpc"

// GoTool returns the go command: the one on PATH (go test puts its own
// GOROOT/bin first).
func GoTool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("lambdatest: no go command on PATH: %v", err)
	}
	return p
}

// RIE returns the path of an aws-lambda-rie binary (see FindRIE) or fails
// the test.
func RIE(ctx context.Context, t testing.TB) string {
	t.Helper()
	p, err := FindRIE(ctx, t.Logf)
	if err != nil {
		t.Fatalf("lambdatest: %v", err)
	}
	return p
}

// FindRIE returns the path of an aws-lambda-rie binary: $LAMBDA_RIE, else
// one cached in os.UserCacheDir(), else one it installs there with go install
// (through the Go module proxy) for the next runs. It may run in any
// goroutine; logf reports what it did.
func FindRIE(ctx context.Context, logf func(format string, args ...any)) (string, error) {
	if p := os.Getenv(RIEEnv); p != "" {
		return p, nil
	}
	var cached string
	if dir, err := os.UserCacheDir(); err == nil {
		cached = filepath.Join(dir, "wallets-lambdatest",
			fmt.Sprintf("aws-lambda-rie@%s-%s-%s", RIEVersion, runtime.GOOS, runtime.GOARCH))
		if fi, err := os.Stat(cached); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return cached, nil
		}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command on PATH: %w", err)
	}

	start := time.Now()
	gobin, err := os.MkdirTemp("", "lambdatest-rie-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(gobin)
	cmd := exec.CommandContext(ctx, goTool, "install", RIEPackage+"@"+RIEVersion)
	cmd.Dir = gobin // outside any module: pkg@version ignores it anyway
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOOS=", "GOARCH=", "CGO_ENABLED=0", "GOWORK=off")
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %v\n%s\n(set $%s to an aws-lambda-rie binary to skip the install)",
			RIEPackage, RIEVersion, err, out, RIEEnv)
	}
	logf("lambdatest: installed aws-lambda-rie@%s in %v", RIEVersion, time.Since(start).Round(time.Millisecond))
	if cached == "" {
		cached = filepath.Join(os.TempDir(), fmt.Sprintf("lambdatest-aws-lambda-rie-%d", os.Getpid()))
	}
	if err := copyExecutable(filepath.Join(gobin, "aws-lambda-rie"), cached); err != nil {
		return "", fmt.Errorf("keep aws-lambda-rie: %w", err)
	}
	return cached, nil
}

// copyExecutable copies src to dst through a temporary file and a rename, so
// concurrent test processes never see a partial binary.
func copyExecutable(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// BuildHost builds the functions named (folders of moduleDir/functions) for
// the host with the Lambda build tags, in one go build, and returns each
// one's bootstrap path: <tempdir>/<name>/bootstrap.
func BuildHost(ctx context.Context, t testing.TB, moduleDir string, names ...string) map[string]string {
	t.Helper()
	start := time.Now()
	root := t.TempDir()
	binDir := filepath.Join(root, "bin") + string(filepath.Separator)
	args := []string{"build", "-tags", BuildTags, "-o", binDir}
	for _, n := range names {
		args = append(args, "./functions/"+n)
	}
	cmd := exec.CommandContext(ctx, GoTool(t), args...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOOS=", "GOARCH=", "CGO_ENABLED=0")
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lambdatest: go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	paths := make(map[string]string, len(names))
	for _, n := range names {
		exe := n
		if runtime.GOOS == "windows" {
			exe += ".exe"
		}
		dst := filepath.Join(root, n, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(binDir, exe), dst); err != nil {
			t.Fatalf("lambdatest: go build wrote no binary for %s: %v", n, err)
		}
		paths[n] = dst
	}
	t.Logf("lambdatest: built %d host bootstraps (%s) in %v", len(names), strings.Join(names, ", "),
		time.Since(start).Round(time.Millisecond))
	return paths
}

// Config describes one emulated function.
type Config struct {
	// RIE is the aws-lambda-rie binary (see RIE).
	RIE string
	// Bootstrap is the function's executable; the emulator runs it in its
	// directory.
	Bootstrap string
	// Env is the function's environment, added to a minimal one (PATH, HOME,
	// AWS_REGION, the function timeout and memory size); nothing else of the
	// test's environment leaks in.
	Env map[string]string
}

// Function is a running emulator with its function.
type Function struct {
	// Name is the function's name (AWS_LAMBDA_FUNCTION_NAME).
	Name string
	// URL is the emulator's invoke endpoint.
	URL string

	t      testing.TB
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{}
	// procs are the descendants seen alive (the bootstrap among them); stop
	// kills them too, since the emulator starts the bootstrap in a process
	// group of its own.
	mu       sync.Mutex
	procs    map[int]uint64 // pid → start time, to never kill a reused pid
	stopOnce sync.Once
}

// InvokePath is the emulator's invoke endpoint (Lambda's Invoke API).
const InvokePath = "/2015-03-31/functions/function/invocations"

// Start starts the emulator for cfg on free loopback ports and waits until it
// accepts invocations. The function's cold start happens at the first
// invocation, as in Lambda. The emulator and the bootstrap are killed when
// the test ends; their output is logged if the test failed.
func Start(ctx context.Context, t testing.TB, cfg Config) *Function {
	t.Helper()
	var lastErr error
	// A free port may be taken between picking and binding it: retry then.
	for attempt := 0; attempt < 3; attempt++ {
		f, err := start(ctx, t, cfg)
		if err == nil {
			return f
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	t.Fatalf("lambdatest: start %s: %v", cfg.Bootstrap, lastErr)
	return nil
}

func start(ctx context.Context, t testing.TB, cfg Config) (*Function, error) {
	rapidPort, err := freePort()
	if err != nil {
		return nil, err
	}
	invokePort, err := freePort()
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"HOME":                            filepath.Dir(cfg.Bootstrap),
		"TZ":                              "UTC",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME":        filepath.Base(filepath.Dir(cfg.Bootstrap)),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "10",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"LOG_LEVEL":                       "info",
	}
	maps.Copy(env, cfg.Env)
	environ := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		environ = append(environ, k+"="+env[k])
	}

	// Not CommandContext: the process is stopped by stop, with its group.
	cmd := exec.Command(cfg.RIE,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(rapidPort),
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(invokePort),
		cfg.Bootstrap)
	cmd.Dir = filepath.Dir(cfg.Bootstrap)
	cmd.Env = environ
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second // a surviving grandchild must not hold Wait on the pipe
	newProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &Function{
		Name:   env["AWS_LAMBDA_FUNCTION_NAME"],
		URL:    "http://127.0.0.1:" + strconv.Itoa(invokePort) + InvokePath,
		t:      t,
		cmd:    cmd,
		out:    out,
		exited: make(chan struct{}),
		procs:  map[int]uint64{},
	}
	go func() {
		_ = cmd.Wait()
		close(f.exited)
	}()

	// Ready when the invoke port accepts connections (the Runtime API port
	// is bound before it); an emulator that exits first failed to bind.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(invokePort), time.Second)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-f.exited:
			return nil, fmt.Errorf("aws-lambda-rie exited before listening: %v\n%s", cmd.ProcessState, out.String())
		case <-ctx.Done():
			f.Stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			f.Stop()
			return nil, fmt.Errorf("aws-lambda-rie not listening on %d after 10s\n%s", invokePort, out.String())
		}
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Logf("output of aws-lambda-rie running %s:\n%s", f.Name, f.Logs())
		}
	})
	return f, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Invoke sends event (marshalled to JSON unless it is a []byte) to the
// function with Lambda request id requestID (empty: the emulator makes one)
// and returns the function's response payload. An error is returned for a
// non-200 answer of the emulator (an init failure, a crash, a timeout).
func (f *Function) Invoke(ctx context.Context, requestID string, event any) ([]byte, error) {
	payload, ok := event.([]byte)
	if !ok {
		var err error
		if payload, err = json.Marshal(event); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if requestID != "" {
		req.Header.Set("X-Amzn-RequestId", requestID)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	f.track() // the bootstrap exists once the first invocation started it
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: read: %w", f.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke %s: emulator answered %s: %s", f.Name, resp.Status, body)
	}
	return body, nil
}

// Logs returns everything the emulator and the function wrote so far.
func (f *Function) Logs() string { return f.out.String() }

// LogLine waits up to timeout for a JSON line of the output for which match
// returns true, and returns it decoded. Lines reach the emulator's output
// through a pipe, possibly after the invocation's answer.
func (f *Function) LogLine(timeout time.Duration, match func(line map[string]any) bool) (map[string]any, bool) {
	deadline := time.Now().Add(timeout)
	for {
		sc := bufio.NewScanner(strings.NewReader(f.out.String()))
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] != '{' {
				continue
			}
			var m map[string]any
			if json.Unmarshal(line, &m) == nil && match(m) {
				return m, true
			}
		}
		if time.Now().After(deadline) {
			return nil, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// track records the emulator's live descendants.
func (f *Function) track() {
	found := descendants(f.cmd.Process.Pid)
	f.mu.Lock()
	maps.Copy(f.procs, found)
	f.mu.Unlock()
}

// Processes returns the pids of the emulator's descendants seen so far.
func (f *Function) Processes() []int {
	f.track()
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.procs))
}

// Stop stops the emulator and its function now rather than when the test
// ends (see Start).
func (f *Function) Stop() { f.stopOnce.Do(f.stop) }

// stop ends the emulator and every descendant it was seen with: SIGTERM to
// the emulator's group (it then stops its runtime), SIGKILL to whatever is
// left after 2 s, and a test error if a process survives. Call it through
// Stop, once.
func (f *Function) stop() {
	f.track()
	pid := f.cmd.Process.Pid
	signalGroup(pid, false)
	select {
	case <-f.exited:
	case <-time.After(2 * time.Second):
	}
	signalGroup(pid, true)
	f.mu.Lock()
	procs := maps.Clone(f.procs)
	f.mu.Unlock()
	for p, started := range procs {
		if startTime(p) == started { // still the same process
			signalGroup(p, true)
			killProcess(p)
		}
	}
	select {
	case <-f.exited:
	case <-time.After(5 * time.Second):
		f.t.Errorf("lambdatest: aws-lambda-rie (pid %d) did not exit", pid)
	}
	deadline := time.Now().Add(3 * time.Second)
	for p, started := range procs {
		for alive(p, started) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(p, started) {
			f.t.Errorf("lambdatest: process %d started by aws-lambda-rie survived", p)
		}
	}
}

// NewID returns a random id with prefix, for request ids.
func NewID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
