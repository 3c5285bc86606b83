package postgres_test

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"wallets/migrations"
)

// Migrations are expand/contract: a deploy migrates first, and the previous
// release keeps serving (its functions, the CodeDeploy canary's 90%, and a
// rollback) on the new schema. So a migration after the baseline may only
// add: new tables, new nullable or defaulted columns, new indexes, relaxed
// constraints. Anything the previous release's SQL could trip over — DROP,
// RENAME, a column's type, SET NOT NULL, a NOT NULL column without a
// default, a new constraint on an existing table, deleting rows — is a
// contract step.
//
// The escape hatch: a contract step ships in a release after the one that
// stopped using what it removes (so the previous release does not use it
// either), and says so in its Up section with a line
//
//	-- contract: <why the previous release no longer needs it>
//
// which this test then accepts (the reason must not be empty).
func TestMigrationsOnlyExpand(t *testing.T) {
	entries, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(entries) == 0 {
		t.Fatalf("migrations: %v %v", entries, err)
	}
	for _, name := range entries[1:] { // entries[0] is the baseline schema
		b, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		up, reason := upSection(string(b))
		findings := contractSteps(up)
		switch {
		case len(findings) > 0 && reason == "":
			t.Errorf("%s contracts the schema without a `-- contract: <reason>` line: %s", name, strings.Join(findings, "; "))
		case len(findings) > 0:
			t.Logf("%s: contract step accepted (%s): %s", name, reason, strings.Join(findings, "; "))
		}
	}
}

// The checker itself.
func TestContractSteps(t *testing.T) {
	expand := []string{
		"CREATE TABLE a (id bigint PRIMARY KEY, b text NOT NULL); ALTER TABLE a ADD CONSTRAINT a_b CHECK (b <> '')",
		"ALTER TABLE users ADD COLUMN nickname text",
		"ALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0",
		"CREATE INDEX CONCURRENTLY users_nick ON users (nickname)",
		"ALTER TABLE users ALTER COLUMN email DROP NOT NULL",
		"-- DROP TABLE users in a comment\nSELECT 1",
	}
	contract := []string{
		"DROP TABLE users",
		"ALTER TABLE users DROP COLUMN email",
		"ALTER TABLE users DROP email",
		"ALTER TABLE users RENAME COLUMN email TO mail",
		"ALTER TABLE users ALTER COLUMN type TYPE integer",
		"ALTER TABLE users ALTER type SET DATA TYPE integer",
		"ALTER TABLE users ALTER COLUMN first_name SET NOT NULL",
		"ALTER TABLE users ADD COLUMN nickname text NOT NULL",
		"ALTER TABLE users ADD CONSTRAINT users_nick CHECK (nickname <> '')",
		"ALTER TABLE users ALTER COLUMN first_name DROP DEFAULT",
		"DELETE FROM users",
		"TRUNCATE users",
	}
	for _, sql := range expand {
		if f := contractSteps(sql); len(f) > 0 {
			t.Errorf("%q: flagged %v", sql, f)
		}
	}
	for _, sql := range contract {
		if f := contractSteps(sql); len(f) == 0 {
			t.Errorf("%q: not flagged", sql)
		}
	}
	if _, reason := upSection("-- +goose Up\n-- contract: v12 stopped reading users.nickname\nALTER TABLE users DROP COLUMN nickname;\n-- +goose Down\n"); reason != "v12 stopped reading users.nickname" {
		t.Errorf("reason %q", reason)
	}
}

var contractReason = regexp.MustCompile(`(?m)^\s*--\s*contract:\s*(.*\S)\s*$`)

// upSection returns a migration's Up section and its contract reason.
func upSection(src string) (up, reason string) {
	up = src
	if i := strings.Index(up, "-- +goose Down"); i >= 0 {
		up = up[:i]
	}
	if m := contractReason.FindStringSubmatch(up); m != nil {
		reason = m[1]
	}
	return up, reason
}

var (
	lineComment  = regexp.MustCompile(`--[^\n]*`)
	createTable  = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w."]+)`)
	alterTable   = regexp.MustCompile(`(?i)^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?([\w."]+)`)
	addColumn    = regexp.MustCompile(`(?i)\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?([^,]*)`)
	contractRule = []struct {
		what string
		re   *regexp.Regexp
	}{
		{"DROP", regexp.MustCompile(`(?i)\bDROP\b(?:\s+NOT\s+NULL\b)?`)},
		{"RENAME", regexp.MustCompile(`(?i)\bRENAME\b`)},
		{"a column's type", regexp.MustCompile(`(?i)\bALTER\s+(?:COLUMN\s+)?[\w"]+\s+(?:SET\s+DATA\s+)?TYPE\b`)},
		{"SET NOT NULL", regexp.MustCompile(`(?i)\bSET\s+NOT\s+NULL\b`)},
		{"a new constraint on an existing table", regexp.MustCompile(`(?i)\bADD\s+CONSTRAINT\b`)},
		{"deleting rows", regexp.MustCompile(`(?i)\b(?:DELETE\s+FROM|TRUNCATE)\b`)},
	}
)

// contractSteps lists the statements of sql that contract the schema of
// tables it does not create itself.
func contractSteps(sql string) []string {
	sql = lineComment.ReplaceAllString(sql, "")
	created := map[string]bool{}
	for _, m := range createTable.FindAllStringSubmatch(sql, -1) {
		created[strings.ToLower(strings.Trim(m[1], `"`))] = true
	}
	var out []string
	for _, stmt := range strings.Split(sql, ";") {
		stmt = strings.TrimSpace(stmt)
		if stmt == "" || createTable.MatchString(stmt) && !alterTable.MatchString(stmt) {
			continue
		}
		if m := alterTable.FindStringSubmatch(stmt); m != nil && created[strings.ToLower(strings.Trim(m[1], `"`))] {
			continue // a table this migration creates
		}
		for _, r := range contractRule {
			for _, hit := range r.re.FindAllString(stmt, -1) {
				if r.what == "DROP" && regexp.MustCompile(`(?i)NOT\s+NULL`).MatchString(hit) {
					continue // relaxing a constraint is an expansion
				}
				out = append(out, fmt.Sprintf("%s (%s)", r.what, firstLine(stmt)))
			}
		}
		if alterTable.MatchString(stmt) {
			for _, m := range addColumn.FindAllStringSubmatch(stmt, -1) {
				col := strings.ToUpper(m[1])
				if strings.HasPrefix(col, "CONSTRAINT") {
					continue
				}
				if strings.Contains(col, "NOT NULL") && !strings.Contains(col, "DEFAULT") && !strings.Contains(col, "GENERATED") {
					out = append(out, fmt.Sprintf("a NOT NULL column without a default (%s)", firstLine(stmt)))
				}
			}
		}
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
