package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"wallets/internal/passhash"
	"wallets/internal/postgres"
	"wallets/internal/user"
)

// Imported accounts keep the old service's hashes: a real row of its
// fixtures (shared/data/django-fixtures/users.json), password as12345678.
const (
	djangoHash     = "pbkdf2_sha256$260000$vewssiEM501dY9z6ehs60O$fPi9djbCGyQ64mfQSXGrQyUCu9qH9ECPspqAYHeKWWc="
	djangoPassword = "as12345678"
)

// setHash stores hash as user name's password hash, as the importer does.
func (e *env) setHash(t *testing.T, name, hash string) {
	t.Helper()
	if _, err := e.db.Exec(context.Background(), `UPDATE users SET password_hash = $2 WHERE username = $1`, name, hash); err != nil {
		t.Fatal(err)
	}
}

func (e *env) storedHash(t *testing.T, name string) string {
	t.Helper()
	var h string
	if err := e.db.QueryRow(context.Background(), `SELECT password_hash FROM users WHERE username = $1`, name).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestLogInWithDjangoHash(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	users := postgres.NewUsers(e.db, passhash.Argon2id{})
	for _, name := range []string{"old", "unusable", "garbage", "brokenpbkdf2"} {
		e.newUser(t, name, 1)
	}
	e.setHash(t, "old", djangoHash)
	e.setHash(t, "unusable", "!Lw6Tmyq8xWgP5XtqTtbgcvp8UkVHRYy8wYBR2HGF")
	e.setHash(t, "garbage", "garbage")
	e.setHash(t, "brokenpbkdf2", "pbkdf2_sha256$many$salt$hash")

	// A wrong password leaves the old hash alone.
	if _, err := users.LogIn(ctx, "old", "as12345679", ""); !errors.Is(err, user.ErrLoginFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	if h := e.storedHash(t, "old"); h != djangoHash {
		t.Fatalf("after a failed login the hash is %q", h)
	}
	// The first success replaces it with argon2id; the old one is gone.
	u, err := users.LogIn(ctx, "old", djangoPassword, "")
	if err != nil {
		t.Fatalf("log in with the old password: %v", err)
	}
	stored := e.storedHash(t, "old")
	if !strings.HasPrefix(stored, "$argon2id$") || u.PasswordHash != stored {
		t.Fatalf("after the first login: stored %q, returned %q; want one argon2id hash", stored, u.PasswordHash)
	}
	if _, err := users.LogIn(ctx, "old", djangoPassword, ""); err != nil {
		t.Errorf("log in again: %v", err)
	}
	if h := e.storedHash(t, "old"); h != stored {
		t.Errorf("a second login rehashed again: %q", h)
	}
	if _, err := users.LogIn(ctx, "old", "wrong", ""); !errors.Is(err, user.ErrLoginFailed) {
		t.Errorf("wrong password after the rehash: %v", err)
	}

	tests := []struct{ name, username, password string }{
		{"unusable password", "unusable", djangoPassword},
		{"unusable password, its own text", "unusable", "!Lw6Tmyq8xWgP5XtqTtbgcvp8UkVHRYy8wYBR2HGF"},
		{"garbage hash", "garbage", "garbage"},
		{"malformed pbkdf2", "brokenpbkdf2", djangoPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.storedHash(t, tt.username)
			if _, err := users.LogIn(ctx, tt.username, tt.password, ""); !errors.Is(err, user.ErrLoginFailed) {
				t.Errorf("error %v, want ErrLoginFailed", err)
			}
			if after := e.storedHash(t, tt.username); after != before {
				t.Errorf("hash changed from %q to %q", before, after)
			}
		})
	}
}

// racingHasher changes the user's password in the database while the login
// computes the fresh hash, as a concurrent change-password would.
type racingHasher struct {
	passhash.Argon2id
	race func()
}

func (h racingHasher) Hash(password string) (string, error) {
	h.race()
	return h.Argon2id.Hash(password)
}

func TestLogInRehashKeepsConcurrentChange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.newUser(t, "old", 1)
	e.setHash(t, "old", djangoHash)
	changed := fakePrefix + "changed meanwhile"
	users := postgres.NewUsers(e.db, racingHasher{race: func() { e.setHash(t, "old", changed) }})
	if _, err := users.LogIn(ctx, "old", djangoPassword, ""); err != nil {
		t.Fatalf("log in: %v", err)
	}
	if h := e.storedHash(t, "old"); h != changed {
		t.Errorf("stored hash %q, want the concurrent change %q kept", h, changed)
	}
}
