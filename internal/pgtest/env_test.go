package pgtest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"wallets/migrations"
)

func TestWithDatabase(t *testing.T) {
	cases := []struct {
		name, base, db, want string
	}{
		{"URL", "postgres://u@127.0.0.1:5432/postgres?sslmode=disable", "t1", "postgres://u@127.0.0.1:5432/t1?sslmode=disable"},
		{"postgresql URL with an escaped path", "postgresql://u:p@h/a%2Fb", "t2", "postgresql://u:p@h/t2"},
		{"DSN: the last dbname wins", "host=h user=u dbname=postgres", "t3", "host=h user=u dbname=postgres dbname='t3'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := withDatabase(c.base, c.db)
			if err != nil || got != c.want {
				t.Errorf("withDatabase = %q, %v; want %q", got, err, c.want)
			}
			if name, err := databaseOf(got); err != nil || name != c.db {
				t.Errorf("databaseOf(%q) = %q, %v; want %q", got, name, err, c.db)
			}
		})
	}
	if _, err := withDatabase("postgres://%zz", "x"); err == nil || !strings.Contains(err.Error(), "parse database URL") {
		t.Errorf("withDatabase of a bad URL = %v; want a parse error", err)
	}
	if _, err := databaseOf("postgres://%zz"); err == nil || !strings.Contains(err.Error(), "parse database URL") {
		t.Errorf("databaseOf of a bad URL = %v; want a parse error", err)
	}
}

func TestHasPassword(t *testing.T) {
	cases := []struct {
		base string
		want bool
	}{
		{"postgres://u:secret@h/db", true},
		{"postgresql://u:@h/db", true}, // an empty password is still one given
		{"postgres://u@h/db", false},
		{"host=h user=u password=secret", true},
		{"host=h user=u", false},
	}
	for _, c := range cases {
		if got := hasPassword(c.base); got != c.want {
			t.Errorf("hasPassword(%q) = %v, want %v", c.base, got, c.want)
		}
	}
}

func TestAsRuntimeRole(t *testing.T) {
	r := migrations.RuntimeRole
	cases := []struct {
		name, url, password, want string
	}{
		{"URL", "postgres://owner@h:5432/db", "", "postgres://" + r + "@h:5432/db"},
		{"URL with a password", "postgres://owner:o@h:5432/db", "pw", "postgres://" + r + ":pw@h:5432/db"},
		{"DSN", "host=h dbname='db'", "", "host=h dbname='db' user='" + r + "'"},
		{"DSN with a password", "host=h dbname='db'", "pw", "host=h dbname='db' user='" + r + "' password='pw'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := asRuntimeRole(c.url, c.password)
			if err != nil || got != c.want {
				t.Errorf("asRuntimeRole = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := asRuntimeRole("postgres://%zz", ""); err == nil {
		t.Error("asRuntimeRole of a bad URL succeeded")
	}
}

func TestSlug(t *testing.T) {
	cases := map[string]string{
		"TestDB":                         "testdb",
		"TestURL/sub test #1":            "testurl_sub_test__1",
		"TestAVeryLongNameIndeedForSure": "testaverylongnameind",
		"Testé":                          "test_",
	}
	for in, want := range cases {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// templateExists reports whether database name exists on the server Main
// started (or was given).
func templateExists(t *testing.T, name string) bool {
	t.Helper()
	var n int
	if err := current.Load().admin.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// A second set-up on a server given by DATABASE_URL, with a password: the
// runtime role gets the fixed password, the URLs handed out carry it, and
// tearDown drops the template but leaves the server running.
func TestSetUpOnAGivenServerWithAPassword(t *testing.T) {
	main := current.Load()
	if main.server == nil {
		t.Skip("the tests run on DATABASE_URL; this one changes the runtime role's password")
	}
	base := main.server.DatabaseURLAs("postgres", "postgres")
	withPassword := strings.Replace(base, "postgres@", "postgres:ignored@", 1) // trusted: the password is not checked
	t.Setenv("DATABASE_URL", withPassword)
	e, err := setUp()
	if err != nil {
		if e != nil {
			e.tearDown()
		}
		t.Fatalf("setUp: %v", err)
	}
	if e.server != nil {
		t.Error("setUp started a server though DATABASE_URL was set")
	}
	if e.appPassword != "pgtest-"+migrations.RuntimeRole {
		t.Errorf("runtime role password %q; want the fixed one", e.appPassword)
	}
	if !templateExists(t, e.template) {
		t.Fatalf("template %s missing after setUp", e.template)
	}
	app, err := asRuntimeRole(e.baseURL, e.appPassword)
	if err != nil || !strings.Contains(app, migrations.RuntimeRole+":pgtest-") {
		t.Errorf("runtime URL %q, %v; want the runtime role with its password", app, err)
	}

	if err := e.tearDown(); err != nil {
		t.Fatalf("tearDown: %v", err)
	}
	if templateExists(t, e.template) {
		t.Errorf("template %s still exists after tearDown", e.template)
	}
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatalf("the given server is gone after tearDown: %v", err)
	}
	conn.Close(context.Background())
}

func TestSetUpFailuresLeaveSomethingToTearDown(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://%zz")
	e, err := setUp()
	if err == nil || !strings.Contains(err.Error(), "parse database URL") {
		t.Fatalf("setUp = %v; want the parse error", err)
	}
	if e == nil {
		t.Fatal("setUp returned no env to tear down")
	}
	if err := e.tearDown(); err != nil {
		t.Errorf("tearDown of a set-up that built nothing: %v", err)
	}
}

func TestHelpersOutsideMainFail(t *testing.T) {
	saved := current.Load()
	current.Store(nil)
	defer current.Store(saved)
	if Server() != nil {
		t.Error("Server outside Main is not nil")
	}
	for name, fn := range map[string]func(testing.TB){
		"URL":      func(tb testing.TB) { URL(tb) },
		"OwnerURL": func(tb testing.TB) { OwnerURL(tb, "postgres://u@h/db") },
	} {
		if msg := fatalOf(t, fn); !strings.Contains(msg, "call pgtest.Main from TestMain") {
			t.Errorf("%s outside Main reported %q; want the hint to call Main", name, msg)
		}
	}
}

// fatalTB records a Fatal instead of failing the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func fatalOf(t *testing.T, fn func(testing.TB)) string {
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	return tb.msg
}
