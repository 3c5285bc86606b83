package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wallets/internal/apperr"
	"wallets/internal/postgres"
	"wallets/internal/user"
)

// countingHasher is fakeHasher counting the passwords it checks against a
// stored hash: what the throttles must bound.
type countingHasher struct {
	fakeHasher
	verified atomic.Int64
}

func (h *countingHasher) Verify(password, hash string) (bool, error) {
	h.verified.Add(1)
	return h.fakeHasher.Verify(password, hash)
}

// throttledFor returns the Retry-After of a throttled err, or 0.
func throttledFor(err error) int {
	if e, ok := apperr.As(err); ok && e.Code == apperr.Throttled {
		return e.RetryAfter
	}
	return 0
}

// TestLogInThrottleBySource walks the rule step by step: each step logs in
// as alice from a source, and says what must come of it.
func TestLogInThrottleBySource(t *testing.T) {
	const (
		home     = "198.51.100.7"
		stranger = "203.0.113.66"
		other    = "2001:db8::1"
	)
	type step struct {
		name     string
		source   string
		password string // "" is a wrong one
		times    int
		want     string // "ok", "failed" or "throttled", for every one of them
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"a stranger's failures do not throttle the user's source", []step{
			{"stranger fails 10 times", stranger, "", 10, "failed"},
			{"stranger is throttled, even with the right password", stranger, password, 1, "throttled"},
			{"the user logs in from home", home, password, 1, "ok"},
			{"and may still fail there", home, "", 9, "failed"},
			{"until home has its own 10", home, "", 1, "failed"},
			{"then home is throttled too", home, password, 1, "throttled"},
			{"a third source is not", other, password, 1, "ok"},
		}},
		{"the empty source is a bucket of its own", []step{
			{"no source fails 10 times", "", "", 10, "failed"},
			{"no source is throttled", "", password, 1, "throttled"},
			{"a real source is not", home, password, 1, "ok"},
		}},
		{"the per-username ceiling holds across sources", func() []step {
			var steps []step
			for i := range user.MaxFailedLoginsPerUsername / user.MaxFailedLogins {
				steps = append(steps, step{fmt.Sprintf("source %d fails 10 times", i), fmt.Sprintf("192.0.2.%d", i+1), "", user.MaxFailedLogins, "failed"})
			}
			return append(steps,
				step{"a fresh source is throttled by the ceiling", home, password, 1, "throttled"},
				step{"so is the empty one", "", "", 1, "throttled"})
		}()},
		{"a success counts for nothing and resets nothing", []step{
			{"9 failures", home, "", 9, "failed"},
			{"a success", home, password, 1, "ok"},
			{"the 10th failure", home, "", 1, "failed"},
			{"the 11th attempt is refused", home, password, 1, "throttled"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.newUser(t, "alice", user.CustomerType)
			for _, s := range tt.steps {
				for i := range s.times {
					pw := s.password
					if pw == "" {
						pw = fmt.Sprint("wrong-", i)
					}
					_, err := e.users.LogIn(ctx, "alice", pw, s.source)
					got := "ok"
					switch {
					case errors.Is(err, user.ErrLoginFailed):
						got = "failed"
					case throttledFor(err) > 0:
						got = "throttled"
						if r := throttledFor(err); r > int(user.LoginWindow/time.Second) {
							t.Errorf("%s: Retry-After %d beyond the window", s.name, r)
						}
					case err != nil:
						got = err.Error()
					}
					if got != s.want {
						t.Fatalf("%s (%d of %d): %s, want %s", s.name, i+1, s.times, got, s.want)
					}
				}
			}
		})
	}
}

// TestLogInThrottleRecords: the source is stored as given ("" when
// missing); a refusal is not recorded; rows from before migration 00007
// (no source) count towards the ceiling only; once the window passes the
// source may log in again.
func TestLogInThrottleRecords(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.newUser(t, "alice", user.CustomerType)
	for range user.MaxFailedLogins {
		if _, err := e.users.LogIn(ctx, "alice", "wrong", "198.51.100.7"); !errors.Is(err, user.ErrLoginFailed) {
			t.Fatal(err)
		}
	}
	if _, err := e.users.LogIn(ctx, "alice", "wrong", ""); !errors.Is(err, user.ErrLoginFailed) {
		t.Fatal(err)
	}
	if _, err := e.users.LogIn(ctx, "alice", password, "198.51.100.7"); throttledFor(err) == 0 {
		t.Fatalf("11th attempt: %v, want throttled", err)
	}
	var bySource, empty, null int
	_ = e.db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE source = '198.51.100.7'), count(*) FILTER (WHERE source = ''),
		count(*) FILTER (WHERE source IS NULL) FROM login_attempts WHERE username = 'alice'`).Scan(&bySource, &empty, &null)
	if bySource != user.MaxFailedLogins || empty != 1 || null != 0 {
		t.Errorf("recorded %d from the source, %d without one, %d NULL; want %d, 1, 0", bySource, empty, null, user.MaxFailedLogins)
	}

	// Legacy rows: 88 with no source plus the 11 above make 99 failures;
	// they count towards the ceiling, not for any source's own 10.
	if _, err := e.db.Exec(ctx, `INSERT INTO login_attempts (username, source) SELECT 'alice', NULL FROM generate_series(1, 88)`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.users.LogIn(ctx, "alice", password, "192.0.2.1"); err != nil {
		t.Errorf("the 100th attempt, from a new source: %v", err)
	}
	if _, err := e.users.LogIn(ctx, "alice", "wrong", "192.0.2.1"); !errors.Is(err, user.ErrLoginFailed) {
		t.Errorf("the 100th failure is still checked: %v", err)
	}
	if _, err := e.users.LogIn(ctx, "alice", password, "192.0.2.2"); throttledFor(err) == 0 {
		t.Errorf("over the ceiling: %v, want throttled", err)
	}

	if _, err := e.owner.Exec(ctx, `UPDATE login_attempts SET attempted_at = now() - interval '16 minutes'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.users.LogIn(ctx, "alice", password, "198.51.100.7"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestConcurrentLogInGuessesBySource: many wrong guesses at once from one
// source check at most MaxFailedLogins passwords, and the user's own
// source still logs in; many sources at once check at most
// MaxFailedLoginsPerUsername.
func TestConcurrentLogInGuessesBySource(t *testing.T) {
	ctx := context.Background()
	guess := func(t *testing.T, users *postgres.Users, n int, source func(i int) string) (failed, throttled int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range n {
			wg.Go(func() {
				_, err := users.LogIn(ctx, "alice", fmt.Sprint("guess-", i), source(i))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, user.ErrLoginFailed):
					failed++
				case throttledFor(err) > 0:
					throttled++
				default:
					t.Errorf("guess %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		return failed, throttled
	}
	t.Run("one source", func(t *testing.T) {
		e := newEnv(t)
		e.newUser(t, "alice", user.CustomerType)
		h := &countingHasher{}
		users := postgres.NewUsers(e.db, h)
		const n = 60
		failed, throttled := guess(t, users, n, func(int) string { return "203.0.113.66" })
		t.Logf("%d guesses from one source: %d checked, %d throttled", n, failed, throttled)
		if failed > user.MaxFailedLogins || failed+throttled != n || h.verified.Load() != int64(failed) {
			t.Errorf("%d checked (%d verified), %d throttled; want at most %d checked", failed, h.verified.Load(), throttled, user.MaxFailedLogins)
		}
		if _, err := users.LogIn(ctx, "alice", password, "198.51.100.7"); err != nil {
			t.Errorf("the user's own source after the flood: %v", err)
		}
	})
	t.Run("many sources", func(t *testing.T) {
		e := newEnv(t)
		e.newUser(t, "alice", user.CustomerType)
		h := &countingHasher{}
		users := postgres.NewUsers(e.db, h)
		const n = 300
		failed, throttled := guess(t, users, n, func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/250, i%250) })
		t.Logf("%d guesses from %d sources: %d checked, %d throttled", n, n, failed, throttled)
		if failed > user.MaxFailedLoginsPerUsername || failed+throttled != n || h.verified.Load() != int64(failed) {
			t.Errorf("%d checked (%d verified), %d throttled; want at most %d checked", failed, h.verified.Load(), throttled, user.MaxFailedLoginsPerUsername)
		}
	})
}

// TestChangePasswordThrottle: 10 wrong old passwords within the window,
// then every change is refused, right old password or not, without being
// recorded; other failures (a weak new password) do not count; the
// window's passing lifts it.
func TestChangePasswordThrottle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	bob := e.newUser(t, "bob", user.CustomerType)
	const fresh = "wombat-lantern-552"
	wrong := user.PasswordChange{Old: "nope", New: fresh, New2: fresh}
	right := user.PasswordChange{Old: password, New: fresh, New2: fresh}
	attempts := func(id int64) int {
		var n int
		_ = e.db.QueryRow(ctx, `SELECT count(*) FROM change_password_attempts WHERE user_id = $1`, id).Scan(&n)
		return n
	}
	// A right old password with a weak new one is no failure.
	if err := e.users.ChangePassword(ctx, alice.ID, user.PasswordChange{Old: password, New: "1234", New2: "1234"}); len(fieldsOf(err)) == 0 {
		t.Fatalf("weak new password: %v", err)
	}
	for i := range user.MaxWrongOldPasswords {
		if err := e.users.ChangePassword(ctx, alice.ID, wrong); fmt.Sprint(fieldsOf(err)) != "[old_password]" {
			t.Fatalf("wrong old password %d: %v", i+1, err)
		}
	}
	if n := attempts(alice.ID); n != user.MaxWrongOldPasswords {
		t.Errorf("%d attempts recorded, want %d", n, user.MaxWrongOldPasswords)
	}
	for _, c := range []user.PasswordChange{wrong, right} {
		err := e.users.ChangePassword(ctx, alice.ID, c)
		if r := throttledFor(err); r < 1 || r > int(user.PasswordWindow/time.Second) {
			t.Errorf("11th change (old %q): %v, want throttled", c.Old, err)
		}
		if e, _ := apperr.As(err); e == nil || e.Detail != fmt.Sprintf("Request was throttled. Expected available in %d seconds.", e.RetryAfter) {
			t.Errorf("11th change: detail %v", err)
		}
	}
	if u, _ := e.users.User(ctx, alice.ID); u.PasswordHash != fakePrefix+password || u.TokenVersion != 1 {
		t.Errorf("a throttled change changed something: %+v", u)
	}
	if n := attempts(alice.ID); n != user.MaxWrongOldPasswords {
		t.Errorf("%d attempts recorded after the refusals, want %d: refusals must not count", n, user.MaxWrongOldPasswords)
	}
	// Other users are not throttled, nor is alice's login.
	if err := e.users.ChangePassword(ctx, bob.ID, right); err != nil {
		t.Errorf("bob: %v", err)
	}
	if _, err := e.users.LogIn(ctx, "alice", password, ""); err != nil {
		t.Errorf("alice logs in: %v", err)
	}
	// No such user: not found, nothing recorded.
	if err := e.users.ChangePassword(ctx, 1<<40, right); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("no such user: %v", err)
	}
	// The window passes: the right old password works, and its attempt is
	// not kept.
	if _, err := e.owner.Exec(ctx, `UPDATE change_password_attempts SET attempted_at = now() - interval '16 minutes'`); err != nil {
		t.Fatal(err)
	}
	if err := e.users.ChangePassword(ctx, alice.ID, right); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if n := attempts(alice.ID); n != 0 {
		t.Errorf("%d attempts left after a success past the window, want 0", n)
	}
}

// TestConcurrentChangePasswordGuesses: of many wrong old passwords at once,
// no more than MaxWrongOldPasswords are checked.
func TestConcurrentChangePasswordGuesses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	h := &countingHasher{}
	users := postgres.NewUsers(e.db, h)
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong, throttled := 0, 0
	for i := range n {
		wg.Go(func() {
			err := users.ChangePassword(ctx, alice.ID, user.PasswordChange{Old: fmt.Sprint("guess-", i), New: "wombat-lantern-552", New2: "wombat-lantern-552"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case fmt.Sprint(fieldsOf(err)) == "[old_password]":
				wrong++
			case throttledFor(err) > 0:
				throttled++
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	t.Logf("%d wrong old passwords at once: %d checked, %d throttled", n, wrong, throttled)
	if wrong > user.MaxWrongOldPasswords || wrong+throttled != n || h.verified.Load() != int64(wrong) {
		t.Errorf("%d checked (%d verified), %d throttled; want at most %d checked", wrong, h.verified.Load(), throttled, user.MaxWrongOldPasswords)
	}
}

// TestPurgeChangePasswordAttempts: the housekeeper deletes attempts that
// left the window, and only those.
func TestPurgeChangePasswordAttempts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	if _, err := e.db.Exec(ctx, `
		INSERT INTO change_password_attempts (user_id, attempted_at) VALUES
			($1, now() - interval '1 hour'), ($1, now() - interval '16 minutes'), ($1, now() - interval '14 minutes'), ($1, now())`,
		alice.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := e.keys.Purge(ctx, 1); err != nil || n != 1 {
		t.Errorf("purge of at most 1: %d %v, want 1", n, err)
	}
	if n, err := e.keys.Purge(ctx, 100); err != nil || n != 1 {
		t.Errorf("purge of the rest: %d %v, want 1", n, err)
	}
	var left int
	_ = e.db.QueryRow(ctx, `SELECT count(*) FROM change_password_attempts`).Scan(&left)
	if left != 2 {
		t.Errorf("%d attempts left, want the 2 in the window", left)
	}
}

// Concurrent changes that all know the right old password: the row is not
// locked while hashing, so none waits on another; exactly one wins, the
// others are told their old password is no longer right (a loser that read
// the winner's hash did give a wrong one, and counts as a failure; one that
// lost the final compare-and-set does not), and the token version moves
// once.
func TestConcurrentRightPasswordChanges(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	bob := e.newUser(t, "bob", user.CustomerType)
	users := postgres.NewUsers(e.db, &countingHasher{})
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			next := fmt.Sprint("wombat-lantern-", 600+i)
			errs[i] = users.ChangePassword(ctx, bob.ID, user.PasswordChange{Old: password, New: next, New2: next})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Errorf("changes %d and %d both won", winner, i)
		case fmt.Sprint(fieldsOf(err)) != "[old_password]":
			t.Errorf("change %d: %v, want the old password refused", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no change won")
	}
	after, err := users.User(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.TokenVersion != bob.TokenVersion+1 {
		t.Errorf("token version %d → %d, want one bump", bob.TokenVersion, after.TokenVersion)
	}
	if _, err := users.LogIn(ctx, "bob", fmt.Sprint("wombat-lantern-", 600+winner), ""); err != nil {
		t.Errorf("log in with the winner's password: %v", err)
	}
}
