// Package localpg starts a throwaway PostgreSQL server from the system's
// binaries (initdb and postgres), for tests and for `make run`.
//
// The server lives in a fresh temporary directory, listens only on 127.0.0.1,
// trusts every local connection as the superuser "postgres", and trades
// durability for speed (fsync and full_page_writes are off). Stop shuts it down
// and deletes the directory. Nothing it stores is meant to survive.
//
// initdb and postgres refuse to run as root. When the calling process is root
// (as in CI and in the development containers), both run as the "postgres" OS
// user, or "nobody" if there is no such user, and the temporary directory is
// given to that user.
package localpg

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Defaults used when the corresponding Options field is zero.
const (
	DefaultMaxConnections = 200
	DefaultReadyTimeout   = 30 * time.Second
)

// How long Stop waits for a fast shutdown, and Kill for an immediate one,
// before it sends SIGKILL.
const (
	stopTimeout = 30 * time.Second
	killTimeout = 10 * time.Second
)

// Options configure Start. The zero value is ready to use.
type Options struct {
	// Port is the TCP port to listen on; 0 picks a free one.
	Port int
	// MaxConnections is the server's max_connections; 0 means
	// DefaultMaxConnections.
	MaxConnections int
	// BinDir is the directory holding initdb and postgres. Empty means: the
	// directory of initdb on PATH, else the newest /usr/lib/postgresql/*/bin.
	BinDir string
	// Dir is where the temporary directory is created. Empty means /dev/shm
	// when TMPDIR is unset and /dev/shm has at least 1 GiB free (memory-backed
	// storage makes CREATE DATABASE and initdb several times faster), else
	// os.TempDir(). Start also removes from it the directories of servers
	// whose process died without calling Stop.
	Dir string
	// Durable keeps PostgreSQL's defaults for durability (fsync and
	// full_page_writes on) and, unless Dir is set, the data on disk rather
	// than under /dev/shm (where fsync does nothing): for benchmarks that
	// must pay what a real database pays per commit.
	Durable bool
	// ReadyTimeout bounds the wait for the server to accept connections after
	// each start; 0 means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Logf, if set, receives one line per lifecycle event (started, stopped,
	// killed). The server's own log goes to a file in the temporary directory.
	Logf func(format string, args ...any)
}

// Server is a running throwaway PostgreSQL server. Its methods are safe for
// concurrent use.
type Server struct {
	// URL connects to the "postgres" database as the superuser "postgres",
	// e.g. postgres://postgres@127.0.0.1:54321/postgres?sslmode=disable.
	URL string
	// Port is the TCP port the server listens on; it does not change across
	// Kill and Restart.
	Port int
	// Dir is the temporary directory holding the data directory ("data"), the
	// server log ("server.log") and the Unix socket. Stop removes it.
	Dir string

	bins      binaries
	cred      *syscall.Credential // nil: run as the current user
	maxConns  int
	durable   bool
	readyWait time.Duration
	logf      func(format string, args ...any)

	mu      sync.Mutex
	proc    *process // nil while the server is not running
	removed bool     // Stop has run
	lock    *os.File // holds an flock on Dir/lockName while we own Dir
}

// process is one run of the postmaster.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid once done is closed
}

type binaries struct {
	dir, initdb, postgres string
}

// Start creates a new database cluster in a temporary directory, starts a
// server on it and waits until it accepts connections. ctx bounds the whole
// start-up; the server itself outlives ctx and runs until Stop or Kill. On
// error nothing is left behind.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	bins, err := findBinaries(opts.BinDir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		bins:      bins,
		maxConns:  cmp.Or(opts.MaxConnections, DefaultMaxConnections),
		durable:   opts.Durable,
		readyWait: cmp.Or(opts.ReadyTimeout, DefaultReadyTimeout),
		logf:      opts.Logf,
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	if os.Geteuid() == 0 {
		if s.cred, err = unprivilegedCredential(); err != nil {
			return nil, err
		}
	}

	dir := opts.Dir
	if dir == "" && opts.Durable {
		dir = os.TempDir()
	}
	if s.Dir, err = s.makeDir(dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	if err := s.initdb(ctx); err != nil {
		return nil, err
	}

	// A free port found by the kernel may be taken by someone else (another
	// test binary, typically) before postgres binds it: pick again then.
	const attempts = 5
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		s.setPort(port)
		err = s.start(ctx)
		if err == nil {
			break
		}
		if opts.Port != 0 || attempt == attempts || !errors.Is(err, errAddrInUse) {
			return nil, err
		}
		s.logf("localpg: port %d was taken, trying another one", port)
	}
	s.logf("localpg: PostgreSQL from %s listening at %s (dir %s)", s.bins.dir, s.URL, s.Dir)
	return s, nil
}

// Stop shuts the server down (fast shutdown: open sessions are ended, their
// transactions rolled back), waits for it to exit and removes the temporary
// directory. It is safe to call more than once and after Kill; calls after
// the first do nothing and return nil.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return nil
	}
	s.removed = true
	err := s.stopLocked(syscall.SIGINT, stopTimeout)
	if rmErr := os.RemoveAll(s.Dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("localpg: remove %s: %w", s.Dir, rmErr))
	}
	if s.lock != nil {
		s.lock.Close()
	}
	s.logf("localpg: stopped the server at %s and removed %s", s.URL, s.Dir)
	return err
}

// Kill stops the server the hard way, as a crash would, and keeps the data
// directory: it asks for an immediate shutdown (SIGQUIT), so every session is
// cut off without a checkpoint and the next start runs crash recovery. It
// waits until the server and all its processes have exited (SIGKILL after
// 10 s). Committed transactions survive, since commits still reach the
// operating system. Killing a server that is not running does nothing.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return errors.New("localpg: server already stopped")
	}
	if s.proc == nil {
		return nil
	}
	err := s.stopLocked(syscall.SIGQUIT, killTimeout)
	s.logf("localpg: killed the server at %s", s.URL)
	return err
}

// Restart starts the server again on the same port and data directory and
// waits until it accepts connections. A running server is first shut down
// (fast shutdown). It fails after Stop, or if the port has been taken in the
// meantime.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return errors.New("localpg: server already stopped")
	}
	if err := s.stopLocked(syscall.SIGINT, stopTimeout); err != nil {
		return err
	}
	if err := s.startLocked(ctx); err != nil {
		return err
	}
	s.logf("localpg: restarted the server at %s", s.URL)
	return nil
}

// CreateDatabase runs CREATE DATABASE name TEMPLATE template (the default
// template, template1, when template is empty) and returns the URL of the new
// database. CREATE DATABASE fails while anyone is connected to the template.
func (s *Server) CreateDatabase(ctx context.Context, name, template string) (string, error) {
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		return "", fmt.Errorf("localpg: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return "", fmt.Errorf("localpg: create database %q: %w", name, err)
	}
	return s.databaseURL(name), nil
}

// PID is the running postmaster's process id; 0 while the server is not
// running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.cmd.Process == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// LogTail returns the last lines of the server's log, for error messages.
func (s *Server) LogTail() string {
	return tail(filepath.Join(s.Dir, "server.log"))
}

func (s *Server) setPort(port int) {
	s.Port = port
	s.URL = s.databaseURL("postgres")
}

// DatabaseURLAs is the URL of database name connecting as user (the server
// trusts every local connection, so no password): the runtime role, for a
// process that serves on a database the superuser migrated.
func (s *Server) DatabaseURLAs(name, user string) string {
	u, _ := url.Parse(s.databaseURL(name)) // built just above: it parses
	u.User = url.User(user)
	return u.String()
}

func (s *Server) databaseURL(name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }

// lockName is the file in each temporary directory that its owner holds an
// flock on for as long as it runs, and into which it writes its PID.
const lockName = "localpg.lock"

// makeDir creates the temporary directory in parent (see Options.Dir), locks
// it and, when running as root, hands it to the unprivileged user. It first
// removes the directories that processes which died without calling Stop
// left in parent.
func (s *Server) makeDir(parent string) (string, error) {
	if parent == "" {
		parent = os.TempDir()
		var fs syscall.Statfs_t
		if os.Getenv("TMPDIR") == "" && syscall.Statfs("/dev/shm", &fs) == nil && fs.Bavail*uint64(fs.Bsize) >= 1<<30 {
			parent = "/dev/shm"
		}
	}
	s.removeStale(parent)
	dir, err := os.MkdirTemp(parent, "localpg-")
	if err != nil && parent == "/dev/shm" {
		dir, err = os.MkdirTemp("", "localpg-")
	}
	if err != nil {
		return "", fmt.Errorf("localpg: create temporary directory: %w", err)
	}
	if s.lock, err = lockDir(dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	if s.cred == nil {
		return dir, nil
	}
	if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
		_ = os.RemoveAll(dir)
		s.lock.Close()
		return "", fmt.Errorf("localpg: give %s to uid %d: %w", dir, s.cred.Uid, err)
	}
	// The unprivileged user must be able to reach the directory: a TMPDIR
	// under /root, say, would stop it with a confusing "permission denied".
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if !searchableBy(d, s.cred.Uid) {
			_ = os.RemoveAll(dir)
			s.lock.Close()
			return "", fmt.Errorf("localpg: %s is not searchable by uid %d, which runs postgres because we are root; pick a directory it can reach (Options.Dir or TMPDIR), such as /tmp", d, s.cred.Uid)
		}
		if d == filepath.Dir(d) {
			return dir, nil
		}
	}
}

// searchableBy reports whether uid, not root, may traverse dir: as its owner
// or through the permission bits for others. (Group membership is ignored:
// a false "no" only makes Start ask for another TMPDIR.)
func searchableBy(dir string, uid uint32) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		return true // let the real operation report it
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == uid {
		return fi.Mode().Perm()&0o100 != 0
	}
	return fi.Mode().Perm()&0o001 != 0
}

// lockDir creates dir's lock file, locks it and writes our PID into it. The
// lock goes when the process does, however it ends.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("localpg: create lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("localpg: lock %s: %w", f.Name(), err)
	}
	if _, err := fmt.Fprintln(f, os.Getpid()); err != nil {
		f.Close()
		return nil, fmt.Errorf("localpg: write %s: %w", f.Name(), err)
	}
	return f, nil
}

// removeStale removes the temporary directories in parent whose owner has
// died without calling Stop (killed by a test timeout or a Ctrl-C, say):
// those whose lock file holds a PID but nobody's lock. Under /dev/shm they
// would otherwise hold on to memory until the next reboot. A postgres still
// running in such a directory (normally it died with its owner) shuts itself
// down within a minute of finding its lock file gone.
func (s *Server) removeStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "localpg-*"))
	for _, dir := range dirs {
		f, err := os.Open(filepath.Join(dir, lockName))
		if err != nil {
			continue // not ours to judge, or its owner is still creating it
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			// An empty file means its owner is between creating and
			// locking it.
			if pid, _ := io.ReadAll(f); len(pid) > 0 {
				if err := os.RemoveAll(dir); err == nil {
					s.logf("localpg: removed %s, left behind by process %s", dir, strings.TrimSpace(string(pid)))
				}
			}
		}
		f.Close()
	}
}

func (s *Server) initdb(ctx context.Context) error {
	logPath := filepath.Join(s.Dir, "initdb.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("localpg: create initdb log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, s.bins.initdb,
		"--pgdata="+s.dataDir(),
		"--auth=trust",
		"--username=postgres",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
	)
	s.prepare(cmd, logFile)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("localpg: %s: %w\n%s", s.bins.initdb, err, tail(logPath))
	}
	return nil
}

// prepare sets what every command we run shares: the unprivileged user when
// we are root, a clean environment, the temporary directory as working
// directory, and output into logFile.
func (s *Server) prepare(cmd *exec.Cmd, logFile *os.File) {
	cmd.Dir = s.Dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	env := []string{"LC_ALL=C"}
	for _, kv := range os.Environ() {
		// PGDATA, PGPORT, PGHOST... from the caller's environment must not
		// reach this server.
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: s.cred,
		// A process group of its own: a Ctrl-C meant for `make run` or
		// `go test` reaches us only, and we shut postgres down in order.
		Setpgid: true,
	}
}

// start is startLocked for Start, which owns s alone.
func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(ctx)
}

var errAddrInUse = errors.New("address already in use")

// startLocked starts the postmaster and waits until it accepts connections.
// On error the postmaster is not running.
func (s *Server) startLocked(ctx context.Context) error {
	logPath := filepath.Join(s.Dir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("localpg: open server log: %w", err)
	}
	defer logFile.Close() // the child has its own copy

	socketDir := s.Dir
	if len(socketDir) > 80 { // Unix socket paths are limited to 107 bytes
		socketDir = ""
	}
	args := []string{
		"-D", s.dataDir(),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port=" + strconv.Itoa(s.Port),
		"-c", "unix_socket_directories=" + socketDir,
		"-c", "max_connections=" + strconv.Itoa(s.maxConns),
		"-c", "TimeZone=UTC",
	}
	if !s.durable {
		args = append(args,
			// Throwaway data: no need to survive an OS crash.
			// synchronous_commit stays on, since with fsync off it costs
			// only a write(2) per commit, and it keeps committed data
			// across Kill.
			"-c", "fsync=off",
			"-c", "full_page_writes=off",
			// Every CREATE DATABASE writes the template's 7 MB to the WAL;
			// keep that from piling up (in memory, under /dev/shm) between
			// checkpoints.
			"-c", "max_wal_size=128MB",
			"-c", "min_wal_size=32MB",
		)
	}
	cmd := exec.Command(s.bins.postgres, args...)
	s.prepare(cmd, logFile)
	// If we die without calling Stop, the kernel asks postgres for an
	// immediate shutdown. (Go sets Pdeathsig after changing credentials,
	// which clears it. Strictly, the signal comes when the OS thread that
	// started postgres exits; the Go runtime keeps its threads for the life
	// of the process unless a goroutine exits while locked to one.)
	setParentDeathSignal(cmd, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("localpg: start %s: %w", s.bins.postgres, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.proc = p

	if err := s.waitReady(ctx, p); err != nil {
		_ = s.stopLocked(syscall.SIGQUIT, killTimeout)
		log := s.LogTail()
		if strings.Contains(log, "could not bind") || strings.Contains(log, "already in use") {
			err = fmt.Errorf("%w (%w)", err, errAddrInUse)
		}
		return fmt.Errorf("%w\n--- server log (%s) ---\n%s", err, logPath, log)
	}
	return nil
}

// waitReady polls until the server accepts a connection, the postmaster
// exits, ctx is done, or the ready timeout passes.
func (s *Server) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, s.readyWait)
	defer cancel()
	cfg, err := pgx.ParseConfig(s.URL)
	if err != nil {
		return fmt.Errorf("localpg: parse %s: %w", s.URL, err)
	}
	cfg.ConnectTimeout = time.Second
	delay := 10 * time.Millisecond
	for {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-p.done:
			return fmt.Errorf("localpg: postgres exited during start-up: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("localpg: postgres not accepting connections at %s: %w (last error: %v)", s.URL, ctx.Err(), err)
		case <-time.After(delay):
			delay = min(2*delay, 200*time.Millisecond)
		}
	}
}

// stopLocked sends sig to the postmaster and waits for it to exit, sending
// SIGKILL after timeout. It does nothing if the server is not running.
func (s *Server) stopLocked(sig syscall.Signal, timeout time.Duration) error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	select {
	case <-p.done: // it died on its own
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("localpg: signal postgres: %w", err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("localpg: postgres did not exit within %s of %s; killed it", timeout, sig)
}

// unprivilegedCredential returns the user to run initdb and postgres as when
// we are root: postgres, else nobody.
func unprivilegedCredential() (*syscall.Credential, error) {
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("localpg: user %s: %w", name, err)
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("localpg: running as root and found no user to run postgres as: %w", errors.Join(errs...))
}

// findBinaries locates initdb and postgres of one and the same installation:
// in dir if given, else next to initdb on PATH, else in the newest
// /usr/lib/postgresql/*/bin.
func findBinaries(dir string) (binaries, error) {
	var candidates []string
	if dir != "" {
		candidates = []string{dir}
	} else {
		if initdb, err := exec.LookPath("initdb"); err == nil {
			candidates = append(candidates, filepath.Dir(initdb))
			if real, err := filepath.EvalSymlinks(initdb); err == nil {
				candidates = append(candidates, filepath.Dir(real))
			}
		}
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		slices.SortFunc(dirs, func(a, b string) int { // newest first
			return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
		})
		candidates = append(candidates, dirs...)
	}
	for _, d := range candidates {
		b := binaries{dir: d, initdb: filepath.Join(d, "initdb"), postgres: filepath.Join(d, "postgres")}
		if isExecutable(b.initdb) && isExecutable(b.postgres) {
			return b, nil
		}
	}
	return binaries{}, fmt.Errorf("localpg: no PostgreSQL server binaries (initdb and postgres) in %v; install the PostgreSQL server package or put its bin directory on PATH", candidates)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// compareVersions compares dotted version numbers such as "9.6" and "16".
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localpg: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns about the last 30 lines of the file at path.
func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	const maxBytes = 4096
	if fi, err := f.Stat(); err == nil && fi.Size() > maxBytes {
		_, _ = f.Seek(-maxBytes, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
