package localpg_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wallets/internal/localpg"
)

func start(t *testing.T, opts localpg.Options) *localpg.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	opts.Logf = t.Logf
	begin := time.Now()
	srv, err := localpg.Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("started in %s", time.Since(begin))
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return srv
}

func queryInt(t *testing.T, url, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func exec(t *testing.T, url string, sqls ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(t.Context())
	for _, sql := range sqls {
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

func TestStartQueryStop(t *testing.T) {
	t.Parallel()
	srv := start(t, localpg.Options{MaxConnections: 123})

	if got := queryInt(t, srv.URL, "SELECT current_setting('max_connections')::int"); got != 123 {
		t.Errorf("max_connections = %d, want 123", got)
	}
	if got := queryInt(t, srv.URL, "SELECT current_setting('server_version_num')::int"); got < 130000 {
		t.Errorf("server_version_num = %d, want PostgreSQL 13 or newer", got)
	}
	// Superuser postgres, UTC, listening on the loopback only.
	conn, err := pgx.Connect(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var user, tz, listen string
	var super bool
	err = conn.QueryRow(t.Context(), `SELECT current_user, current_setting('TimeZone'),
		current_setting('listen_addresses'), current_setting('is_superuser') = 'on'`).Scan(&user, &tz, &listen, &super)
	conn.Close(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if user != "postgres" || tz != "UTC" || listen != "127.0.0.1" || !super {
		t.Errorf("user %q tz %q listen %q superuser %v; want postgres UTC 127.0.0.1 true", user, tz, listen, super)
	}

	if _, err := os.Stat(filepath.Join(srv.Dir, "data", "PG_VERSION")); err != nil {
		t.Errorf("data directory: %v", err)
	}
	begin := time.Now()
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %s", time.Since(begin))
	if _, err := os.Stat(srv.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Stop, stat %s: %v; want it removed", srv.Dir, err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := pgx.Connect(t.Context(), srv.URL); err == nil {
		t.Error("connected after Stop")
	}
}

func TestKillRestartKeepsDataAndPort(t *testing.T) {
	t.Parallel()
	srv := start(t, localpg.Options{})
	port := srv.Port
	exec(t, srv.URL, "CREATE TABLE kept (n int)", "INSERT INTO kept VALUES (1), (2), (3)")

	// A session open across the outage sees it end.
	conn, err := pgx.Connect(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	begin := time.Now()
	if err := srv.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	t.Logf("killed in %s", time.Since(begin))
	if err := conn.Ping(t.Context()); err == nil {
		t.Error("old session still works after Kill")
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
		c.Close()
		t.Error("port still accepting connections after Kill")
	}
	if err := srv.Kill(); err != nil {
		t.Errorf("second Kill: %v", err)
	}

	begin = time.Now()
	if err := srv.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	t.Logf("restarted in %s", time.Since(begin))
	if srv.Port != port {
		t.Errorf("port changed from %d to %d", port, srv.Port)
	}
	if got := queryInt(t, srv.URL, "SELECT sum(n) FROM kept"); got != 6 {
		t.Errorf("sum after restart = %d, want 6", got)
	}

	// Restarting a running server works too.
	if err := srv.Restart(t.Context()); err != nil {
		t.Fatalf("Restart of a running server: %v", err)
	}
	if got := queryInt(t, srv.URL, "SELECT count(*) FROM kept"); got != 3 {
		t.Errorf("count after second restart = %d, want 3", got)
	}
}

func TestCreateDatabaseFromTemplate(t *testing.T) {
	t.Parallel()
	srv := start(t, localpg.Options{})
	tmplURL, err := srv.CreateDatabase(t.Context(), "Tmpl-1", "")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, tmplURL, "CREATE TABLE things (id int)", "INSERT INTO things VALUES (42)")
	url, err := srv.CreateDatabase(t.Context(), "copy", "Tmpl-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, url, "SELECT id FROM things"); got != 42 {
		t.Errorf("id in the copy = %d, want 42", got)
	}
	if _, err := srv.CreateDatabase(t.Context(), "copy", ""); err == nil {
		t.Error("creating an existing database succeeded")
	}
}

func TestFixedPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	srv, err := localpg.Start(t.Context(), localpg.Options{Port: port})
	if err == nil {
		srv.Stop()
		t.Fatalf("Start on busy port %d succeeded", port)
	}
	t.Logf("Start on a busy port: %v", err)
}

func TestStaleDirectoriesAreRemoved(t *testing.T) {
	t.Parallel()
	base := "" // the default temporary directory, or memory when there is some
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	parent, err := os.MkdirTemp(base, "stale-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil { // reachable by postgres when we are root
		t.Fatal(err)
	}
	// Left by a process that died: PID written, nobody holds the lock.
	stale := filepath.Join(parent, "localpg-stale")
	// Not (yet) a server directory: no lock file.
	other := filepath.Join(parent, "localpg-other")
	for _, d := range []string{stale, other} {
		if err := os.MkdirAll(filepath.Join(d, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(stale, "localpg.lock"), []byte("12345\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	srv := start(t, localpg.Options{Dir: parent})
	if filepath.Dir(srv.Dir) != parent {
		t.Errorf("server directory %s is not in %s", srv.Dir, parent)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale directory: %v; want it removed", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("directory without a lock file: %v; want it kept", err)
	}
	// A live server's directory survives another server's start.
	srv2 := start(t, localpg.Options{Dir: parent})
	if _, err := os.Stat(srv.Dir); err != nil {
		t.Errorf("live server directory after another Start: %v", err)
	}
	if got := queryInt(t, srv2.URL, "SELECT 1"); got != 1 {
		t.Errorf("SELECT 1 = %d", got)
	}
}

func TestUnreachableDirectoryAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the directory to another user")
	}
	t.Parallel()
	parent := t.TempDir() // mode 0700, owned by root
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	srv, err := localpg.Start(t.Context(), localpg.Options{Dir: parent})
	if err == nil {
		srv.Stop()
		t.Fatal("Start in a directory postgres cannot reach succeeded")
	}
	t.Logf("Start: %v", err)
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("left behind %v", entries)
	}
}

// TestDurable: a durable server keeps PostgreSQL's durability settings and
// its data on disk; the default trades them for speed.
func TestDurable(t *testing.T) {
	for _, durable := range []bool{false, true} {
		srv := start(t, localpg.Options{Durable: durable})
		conn, err := pgx.Connect(t.Context(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		var fsync, fpw string
		if err := conn.QueryRow(t.Context(), `SELECT current_setting('fsync'), current_setting('full_page_writes')`).Scan(&fsync, &fpw); err != nil {
			t.Fatal(err)
		}
		_ = conn.Close(t.Context())
		want := map[bool]string{false: "off", true: "on"}[durable]
		if fsync != want || fpw != want {
			t.Errorf("Durable %v: fsync %s, full_page_writes %s; want %s", durable, fsync, fpw, want)
		}
		if durable && filepath.Dir(srv.Dir) == "/dev/shm" {
			t.Errorf("Durable: data under %s, in memory", srv.Dir)
		}
	}
}
