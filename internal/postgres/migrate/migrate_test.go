package migrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/jackc/pgx/v5"

	"wallets/internal/localpg"
	"wallets/internal/postgres/migrate"
	"wallets/migrations"
)

// server starts a throwaway server and returns a function that creates a
// fresh database on it and returns its URL.
func server(t *testing.T) func(name string) string {
	t.Helper()
	srv, err := localpg.Start(t.Context(), localpg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	return func(name string) string {
		url, err := srv.CreateDatabase(t.Context(), name, "")
		if err != nil {
			t.Fatal(err)
		}
		return url
	}
}

func allMigrations(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	return files
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestMigrate(t *testing.T) {
	newDB := server(t)
	files := allMigrations(t)

	t.Run("the handler applies every migration, then none, and answers the files as JSON", func(t *testing.T) {
		h := migrate.Handler(newDB("handler"), "")
		res, err := h(t.Context())
		if err != nil {
			t.Fatalf("first invocation: %v", err)
		}
		if !slices.Equal(res.Applied, files) {
			t.Errorf("applied %v; want every migration in order %v", res.Applied, files)
		}
		res, err = h(t.Context())
		if err != nil || len(res.Applied) != 0 {
			t.Errorf("second invocation = %v, %v; want nothing applied", res.Applied, err)
		}
		b, _ := json.Marshal(res)
		if string(b) != `{"applied":[]}` {
			t.Errorf("answer %s; want an empty list, not null", b)
		}
	})

	t.Run("a failing migration stops the run, reports the ones applied before it, and a rerun resumes", func(t *testing.T) {
		url := newDB("partial")
		// 00004 creates transaction_counts: a table in its way makes it fail.
		exec(t, url, `CREATE TABLE transaction_counts (x int)`)
		applied, err := migrate.Up(t.Context(), url, "")
		if err == nil || !strings.HasPrefix(err.Error(), "migrate: ") || !strings.Contains(err.Error(), "transaction_counts") {
			t.Fatalf("Up = %v; want the failing migration's error", err)
		}
		i := slices.IndexFunc(files, func(f string) bool { return strings.HasPrefix(f, "00004_") })
		if i < 0 {
			t.Fatal("no migration 00004")
		}
		if !slices.Equal(applied, files[:i]) {
			t.Errorf("applied %v before the failure; want %v", applied, files[:i])
		}
		exec(t, url, `DROP TABLE transaction_counts`)
		rest, err := migrate.Up(t.Context(), url, "")
		if err != nil || !slices.Equal(rest, files[i:]) {
			t.Errorf("rerun = %v, %v; want the rest %v", rest, err, files[i:])
		}
	})

	t.Run("with an IAM region the connections use the given AWS configuration", func(t *testing.T) {
		loaded := 0
		load := func(context.Context) (aws.Config, error) {
			loaded++
			return aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}, nil
		}
		// The throwaway server trusts local connections: the token is sent
		// as the password and ignored.
		applied, err := migrate.UpWith(t.Context(), newDB("iam"), "eu-west-1", load)
		if err != nil || len(applied) != len(files) {
			t.Errorf("UpWith = %v, %v; want every migration", applied, err)
		}
		if loaded != 1 {
			t.Errorf("loaded the AWS configuration %d times; want once", loaded)
		}
	})
}

func TestMigrateRefusals(t *testing.T) {
	cases := []struct {
		name, url, region string
		load              func(context.Context) (aws.Config, error)
		want              string
	}{
		{"a database URL that does not parse", "postgres://%zz", "", nil, "migrate: parse database URL"},
		{"AWS credentials that cannot be loaded", "postgres://u@127.0.0.1:1/db", "eu-west-1",
			func(context.Context) (aws.Config, error) { return aws.Config{}, errors.New("no profile sso-dev") },
			"migrate: aws config for iam auth: no profile sso-dev"},
		{"a server that is not there", "postgres://u@127.0.0.1:1/db?connect_timeout=2", "", nil, "migrate: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			applied, err := migrate.UpWith(t.Context(), c.url, c.region, c.load)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("UpWith = %v; want an error holding %q", err, c.want)
			}
			if len(applied) != 0 {
				t.Errorf("applied %v on failure; want none", applied)
			}
		})
	}
	if _, err := migrate.Handler("postgres://%zz", "")(t.Context()); err == nil || !strings.Contains(err.Error(), "migrate: parse database URL") {
		t.Errorf("Handler = %v; want Up's error passed on", err)
	}
}
