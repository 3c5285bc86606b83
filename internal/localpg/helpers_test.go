package localpg

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"wallets/internal/procstat"
)

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		sign int
	}{
		{"16", "15", 1},
		{"9.6", "10", -1},
		{"9.6", "9.6", 0},
		{"13", "13.0", 0},
		{"13.1", "13", 1},
		{"17", "9.6", 1},
	}
	for _, c := range cases {
		got := compareVersions(c.a, c.b)
		if (got > 0) != (c.sign > 0) || (got < 0) != (c.sign < 0) {
			t.Errorf("compareVersions(%q, %q) = %d; want sign %d", c.a, c.b, got, c.sign)
		}
	}
	dirs := []string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/13/bin"}
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	if dirs[0] != "/usr/lib/postgresql/16/bin" || dirs[2] != "/usr/lib/postgresql/9.6/bin" {
		t.Errorf("newest first = %v; want 16, 13, 9.6 (numeric, not lexical)", dirs)
	}
}

func writeExecutable(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile keeps an existing file's mode
		t.Fatal(err)
	}
}

func TestFindBinariesInAGivenDirectory(t *testing.T) {
	dir := t.TempDir()
	writeExecutable(t, filepath.Join(dir, "initdb"), 0o755)
	writeExecutable(t, filepath.Join(dir, "postgres"), 0o644) // not executable
	if _, err := findBinaries(dir); err == nil || !strings.Contains(err.Error(), "no PostgreSQL server binaries (initdb and postgres) in ["+dir+"]") {
		t.Fatalf("findBinaries with a non-executable postgres = %v; want the directories searched named", err)
	}
	writeExecutable(t, filepath.Join(dir, "postgres"), 0o755)
	b, err := findBinaries(dir)
	if err != nil || b.dir != dir || b.initdb != filepath.Join(dir, "initdb") || b.postgres != filepath.Join(dir, "postgres") {
		t.Fatalf("findBinaries = %+v, %v; want both binaries of %s", b, err, dir)
	}
}

func TestFindBinariesFollowsInitdbOnPath(t *testing.T) {
	real := t.TempDir()
	writeExecutable(t, filepath.Join(real, "initdb"), 0o755)
	writeExecutable(t, filepath.Join(real, "postgres"), 0o755)
	// PATH holds a symlink to initdb alone, as /usr/bin does on Debian.
	onPath := t.TempDir()
	if err := os.Symlink(filepath.Join(real, "initdb"), filepath.Join(onPath, "initdb")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", onPath)
	b, err := findBinaries("")
	if err != nil || b.dir != real {
		t.Fatalf("findBinaries = %+v, %v; want the installation the symlink points into, %s", b, err, real)
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, fmt.Sprintf("log line %03d", i))
	}
	path := filepath.Join(dir, "server.log")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(tail(path), "\n")
	if len(got) != 30 || got[0] != "log line 071" || got[29] != "log line 100" {
		t.Errorf("tail = %d lines from %q to %q; want the last 30", len(got), got[0], got[len(got)-1])
	}

	big := filepath.Join(dir, "big.log")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", 10000)+"\nFATAL: the end\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := tail(big); !strings.HasSuffix(got, "FATAL: the end") || len(got) > 4096 {
		t.Errorf("tail of a big file = %d bytes ending %q; want at most 4 KiB with the last line", len(got), got[max(0, len(got)-20):])
	}
	if got := tail(filepath.Join(dir, "missing.log")); !strings.HasPrefix(got, "(no log: ") {
		t.Errorf("tail of a missing file = %q; want it said", got)
	}
}

func TestSearchableBy(t *testing.T) {
	dir := t.TempDir()
	uid := uint32(os.Getuid())
	other := uid + 12345
	cases := []struct {
		mode     os.FileMode
		uid      uint32
		want     bool
		describe string
	}{
		{0o700, uid, true, "the owner with u+x"},
		{0o600, uid, false, "the owner without u+x"},
		{0o701, other, true, "another user with o+x"},
		{0o770, other, false, "another user without o+x"},
	}
	for _, c := range cases {
		if err := os.Chmod(dir, c.mode); err != nil {
			t.Fatal(err)
		}
		if got := searchableBy(dir, c.uid); got != c.want {
			t.Errorf("%s (%o): searchableBy = %v, want %v", c.describe, c.mode, got, c.want)
		}
	}
	os.Chmod(dir, 0o700)
	if !searchableBy(filepath.Join(dir, "missing"), other) {
		t.Error("searchableBy of a missing directory is false; want true (the real operation reports it)")
	}
}

func TestLockDirWritesThePIDAndRefusesASecondLock(t *testing.T) {
	dir := t.TempDir()
	f, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := os.ReadFile(filepath.Join(dir, lockName))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, %v; want our PID", b, err)
	}
	if _, err := lockDir(dir); err == nil || !strings.Contains(err.Error(), "localpg: create lock file") {
		t.Errorf("second lockDir = %v; want the existing lock file refused", err)
	}
}

func TestPIDAndDatabaseURLAs(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	pid := s.PID()
	if st, ok := procstat.Read(pid); pid <= 0 || !ok || st.State == 'Z' {
		t.Fatalf("PID = %d (stat %v, %v); want the running postmaster", pid, st, ok)
	}
	for _, user := range []string{"postgres", "nobody_in_particular"} {
		u := s.DatabaseURLAs("postgres", user)
		if want := "postgres://" + user + "@127.0.0.1:" + strconv.Itoa(s.Port) + "/postgres?sslmode=disable"; u != want {
			t.Errorf("DatabaseURLAs = %q; want %q", u, want)
		}
	}
	conn, err := pgx.Connect(ctx, s.DatabaseURLAs("template1", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil || db != "template1" {
		t.Errorf("connected to %q, %v; want template1", db, err)
	}
	conn.Close(ctx)

	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if s.PID() != 0 {
		t.Errorf("PID after Kill = %d; want 0", s.PID())
	}
	if err := s.Kill(); err != nil {
		t.Errorf("Kill of a server that is not running = %v; want nil", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(); err == nil || !strings.Contains(err.Error(), "already stopped") {
		t.Errorf("Kill after Stop = %v; want it refused", err)
	}
	if err := s.Restart(ctx); err == nil || !strings.Contains(err.Error(), "already stopped") {
		t.Errorf("Restart after Stop = %v; want it refused", err)
	}
}
