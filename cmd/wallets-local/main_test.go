package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// build compiles the command into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	bin := filepath.Join(t.TempDir(), "wallets-local")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// env is the test's environment without the variables that would change
// what the command does.
func env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "PORT", "DATABASE_URL", "READ_DATABASE_URL", "DATABASE_HOST", "SENTRY_DSN", "SENTRY_DSN_SECRET_ARN", "JWT_SECRET_ARN", "DB_MAX_CONNS":
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects the command's output from two goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var pgLine = regexp.MustCompile(`PostgreSQL at (\S+) \(files in (\S+),`)

func TestRunServesAndStopsCleanly(t *testing.T) {
	bin := build(t)
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = env("PORT=" + strconv.Itoa(port))
	var output lockedBuffer
	cmd.Stderr = &output
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	done := make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			output.Write([]byte(line + "\n"))
			if strings.Contains(line, "http://127.0.0.1:") {
				select {
				case ready <- line:
				default:
					t.Errorf("a second line with the URL: %q", line)
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-done
		}
	})

	base := "http://127.0.0.1:" + strconv.Itoa(port) + "/api/v1"
	select {
	case line := <-ready:
		if !strings.Contains(line, base) {
			t.Fatalf("ready line %q does not contain %s", line, base)
		}
	case err := <-exited:
		t.Fatalf("exited before it was ready: %v\n%s", err, output.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("not ready after 2 minutes:\n%s", output.String())
	}

	m := pgLine.FindStringSubmatch(output.String())
	if m == nil {
		t.Fatalf("no line telling where PostgreSQL runs:\n%s", output.String())
	}
	pgURL, pgDir := m[1], m[2]
	if _, err := os.Stat(pgDir); err != nil {
		t.Errorf("PostgreSQL's directory: %v", err)
	}

	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok","database":"ok"}` {
		t.Errorf("GET /health: %d %s", resp.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, output.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after SIGTERM:\n%s", output.String())
	}

	// PostgreSQL is gone: its directory, its processes, its port.
	if _, err := os.Stat(pgDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PostgreSQL's directory %s is still there (%v)", pgDir, err)
	}
	if pids := processesMentioning(pgDir); len(pids) > 0 {
		t.Errorf("PostgreSQL processes still running: %v", pids)
	}
	if u, err := url.Parse(pgURL); err == nil {
		if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			c.Close()
			t.Errorf("something still listens on PostgreSQL's address %s", u.Host)
		}
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens on port %d", port)
	}
}

// processesMentioning lists the pids whose command line contains s.
func processesMentioning(s string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestStartupFailures(t *testing.T) {
	bin := build(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		name, env, want string
	}{
		{"bad port", "PORT=http", `PORT="http" is not a port number`},
		{"busy port", "PORT=" + busyPort, "cannot listen on 127.0.0.1:" + busyPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = env(tc.env)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Errorf("exit: %v, want a non-zero status", err)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %q does not say %q", out, tc.want)
			}
			if strings.Contains(string(out), "PostgreSQL at") {
				t.Errorf("started PostgreSQL before failing: %s", out)
			}
		})
	}
}
