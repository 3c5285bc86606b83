package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wallets/internal/syncbuf"
)

// bin is the command, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		goTool, err := exec.LookPath("go")
		if err != nil {
			fmt.Fprintln(os.Stderr, "no go tool on PATH:", err)
			return 1
		}
		dir, err := os.MkdirTemp("", "wallets-local-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "wallets-local")
		if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}())
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

var pgLine = regexp.MustCompile(`PostgreSQL at (\S+) \(files in (\S+),`)

// server is the command running in a test.
type server struct {
	cmd    *exec.Cmd
	port   int
	output syncbuf.Buffer
	ready  chan string
	// exited receives Wait's result once stdout is closed, that is once
	// the command and every process holding its stdout have exited.
	exited chan error
	pgURL  string
	pgDir  string
}

// startServer starts cmd (the command, or something that runs it) and
// waits until it prints the ready line.
func startServer(t *testing.T, cmd *exec.Cmd, port int) *server {
	t.Helper()
	s := &server{cmd: cmd, port: port, ready: make(chan string, 1), exited: make(chan error, 1)}
	cmd.Stderr = &s.output
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.output.Write([]byte(line + "\n"))
			if strings.Contains(line, "http://127.0.0.1:") {
				select {
				case s.ready <- line:
				default:
					s.output.Write([]byte("TEST: a second line with the URL\n"))
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		s.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		// Whatever happened, leave nothing running: the command, or the
		// copy of it that cmd started.
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
			select {
			case <-done:
			default:
				_ = cmd.Process.Signal(sig)
				for _, pid := range processesRunning(bin) {
					_ = syscall.Kill(pid, sig)
				}
				select {
				case <-done:
				case <-time.After(15 * time.Second):
				}
			}
		}
		if strings.Contains(s.output.String(), "TEST: a second line") {
			t.Errorf("printed the URL more than once:\n%s", s.output.String())
		}
	})

	base := "http://127.0.0.1:" + strconv.Itoa(port) + "/api/v1"
	select {
	case line := <-s.ready:
		if !strings.Contains(line, base) {
			t.Fatalf("ready line %q does not contain %s", line, base)
		}
	case err := <-s.exited:
		t.Fatalf("exited before it was ready: %v\n%s", err, s.output.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("not ready after 2 minutes:\n%s", s.output.String())
	}
	m := pgLine.FindStringSubmatch(s.output.String())
	if m == nil {
		t.Fatalf("no line telling where PostgreSQL runs:\n%s", s.output.String())
	}
	s.pgURL, s.pgDir = m[1], m[2]
	if _, err := os.Stat(s.pgDir); err != nil {
		t.Errorf("PostgreSQL's directory: %v", err)
	}
	return s
}

// waitExit waits for the command to end and returns Wait's result.
func (s *server) waitExit(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-s.exited:
		return err
	case <-time.After(within):
		t.Fatalf("still running %s after the signal:\n%s", within, s.output.String())
		return nil
	}
}

// checkGone checks that nothing is left: PostgreSQL's directory,
// processes and port, and the API's port.
func (s *server) checkGone(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(s.pgDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PostgreSQL's directory %s is still there (%v)", s.pgDir, err)
	}
	if pids := processesMentioning(s.pgDir); len(pids) > 0 {
		t.Errorf("PostgreSQL processes still running: %v", pids)
	}
	if u, err := url.Parse(s.pgURL); err == nil {
		if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			c.Close()
			t.Errorf("something still listens on PostgreSQL's address %s", u.Host)
		}
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens on port %d", s.port)
	}
}

func TestRunServesAndStopsCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			port := freePort(t)
			cmd := exec.Command(bin)
			cmd.Env = env("PORT=" + strconv.Itoa(port))
			s := startServer(t, cmd, port)

			resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/api/v1/health")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok","database":"ok"}` {
				t.Errorf("GET /health: %d %s", resp.StatusCode, body)
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := s.waitExit(t, 10*time.Second); err != nil {
				t.Errorf("exit: %v\n%s", err, s.output.String())
			}
			s.checkGone(t)
		})
	}
}

// TestStopsWithItsParent kills the command's parent (as when `go run` is
// killed on its own): the command shuts down cleanly too.
func TestStopsWithItsParent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("parent-death signal is Linux only")
	}
	port := freePort(t)
	// sh stays the parent: "; true" keeps it from exec'ing the command.
	cmd := exec.Command("sh", "-c", `"$0"; true`, bin)
	cmd.Env = env("PORT=" + strconv.Itoa(port))
	s := startServer(t, cmd, port)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	s.waitExit(t, 10*time.Second) // sh's "signal: killed"
	s.checkGone(t)
}

// processesRunning lists the pids of the processes running the executable
// at path.
func processesRunning(path string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == path {
			pids = append(pids, pid)
		}
	}
	return pids
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
