package postgres_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"wallets/internal/apperr"
	"wallets/internal/passhash"
	"wallets/internal/postgres"
	"wallets/internal/user"
)

func TestSignUpRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.newUser(t, "taken", user.CustomerType)
	account := func(change func(*user.NewAccount)) user.NewAccount {
		a := user.NewAccount{Username: "carol", Email: "carol@example.com", Password: password, Password2: password}
		change(&a)
		return a
	}
	tests := []struct {
		name       string
		account    user.NewAccount
		wantFields []string
		wantMsg    string // of the first field, when set
	}{
		{"blank username", account(func(a *user.NewAccount) { a.Username = "" }), []string{"username"}, user.MsgBlank},
		{"a username with a space", account(func(a *user.NewAccount) { a.Username = "carol smith"; a.Email = "cs@example.com" }), nil, ""},
		{"invalid email", account(func(a *user.NewAccount) { a.Email = "carol@" }), []string{"email"}, user.MsgEmailInvalid},
		{"passwords differ", account(func(a *user.NewAccount) { a.Password2 = password + "x" }), []string{"password"}, user.MsgPasswordMismatch},
		{"weak password", account(func(a *user.NewAccount) { a.Password, a.Password2 = "12345678", "12345678" }), []string{"password"}, ""},
		{"everything wrong", user.NewAccount{Password: "1", Password2: "1"}, []string{"email", "password", "username"}, ""},
		{"username taken", account(func(a *user.NewAccount) { a.Username = "taken" }), []string{"username"}, user.MsgUsernameTaken},
		{"email taken, whatever its case", account(func(a *user.NewAccount) { a.Email = "TAKEN@example.com" }), []string{"email"}, user.MsgEmailTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.users.SignUp(ctx, tt.account)
			got := fieldsOf(err)
			if !slices.Equal(got, tt.wantFields) {
				t.Fatalf("error %v: fields %v, want %v", err, got, tt.wantFields)
			}
			if e, _ := apperr.As(err); tt.wantMsg != "" && e.Fields[tt.wantFields[0]][0] != tt.wantMsg {
				t.Errorf("message %q, want %q", e.Fields[tt.wantFields[0]][0], tt.wantMsg)
			}
		})
	}
	u, err := e.users.SignUp(ctx, account(func(a *user.NewAccount) { a.FirstName, a.Type = "Carol", user.BusinessType }))
	if err != nil || u.ID == 0 || u.Username != "carol" || u.Type != user.BusinessType || !u.IsActive || u.TokenVersion != 1 || u.PasswordHash != fakePrefix+password {
		t.Errorf("sign up: %+v %v", u, err)
	}
	if u, err := e.users.SignUp(ctx, account(func(a *user.NewAccount) { a.Username, a.Email = "dave", "dave@example.com" })); err != nil || u.Type != user.CustomerType {
		t.Errorf("sign up without a type: %+v %v, want a customer", u, err)
	}
	var n int
	_ = e.db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	if n != 4 { // taken, "carol smith", carol, dave
		t.Errorf("%d users, want 4", n)
	}
}

// TestSignUpWithArgon2id checks the real Hasher's hash is stored and logs in.
func TestSignUpWithArgon2id(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	users := postgres.NewUsers(e.db, passhash.Argon2id{})
	u, err := users.SignUp(ctx, user.NewAccount{Username: "alice", Email: "alice@example.com", Password: password, Password2: password})
	if err != nil || u.PasswordHash == password {
		t.Fatalf("sign up: %+v %v", u, err)
	}
	if got, err := users.LogIn(ctx, "alice", password, ""); err != nil || got.ID != u.ID {
		t.Errorf("log in: %+v %v", got, err)
	}
	if _, err := users.LogIn(ctx, "alice", "wrong", ""); !errors.Is(err, user.ErrLoginFailed) {
		t.Errorf("wrong password: %v", err)
	}
}

func TestLogIn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	gone := e.newUser(t, "gone", user.CustomerType)
	if err := e.users.Deactivate(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	broken := e.newUser(t, "broken", user.CustomerType)
	if _, err := e.db.Exec(ctx, `UPDATE users SET password_hash = 'garbage' WHERE id = $1`, broken.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, username, password string
		wantErr                  error // nil, ErrLoginFailed, or errFault for any fault
		wantAttempts             int   // recorded for username afterwards
	}{
		{"success", "alice", password, nil, 0},
		{"wrong password", "alice", "wrong", user.ErrLoginFailed, 1},
		{"unknown user", "nobody", password, user.ErrLoginFailed, 1},
		{"inactive", "gone", password, user.ErrLoginFailed, 1},
		{"unreadable hash", "broken", password, user.ErrLoginFailed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := e.users.LogIn(ctx, tt.username, tt.password, "")
			switch {
			case tt.wantErr == errFault:
				if _, isApp := apperr.As(err); err == nil || isApp {
					t.Errorf("error %v, want a fault", err)
				}
			case !errors.Is(err, tt.wantErr):
				t.Errorf("error %v, want %v", err, tt.wantErr)
			case err == nil && u.ID != alice.ID:
				t.Errorf("logged in as %+v", u)
			}
			var n int
			_ = e.db.QueryRow(ctx, `SELECT count(*) FROM login_attempts WHERE username = $1`, tt.username).Scan(&n)
			if n != tt.wantAttempts {
				t.Errorf("%d attempts recorded, want %d", n, tt.wantAttempts)
			}
		})
	}
}

var errFault = errors.New("any fault")

// TestLogInThrottle: the 11th attempt within the window is refused, right
// password or not, without being recorded (a refusal does not extend the
// window); a success in between does not reset the count; once the window
// passes, logging in works again.
func TestLogInThrottle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.newUser(t, "alice", user.CustomerType)
	for i := range user.MaxFailedLogins - 1 {
		if _, err := e.users.LogIn(ctx, "alice", "wrong", ""); !errors.Is(err, user.ErrLoginFailed) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := e.users.LogIn(ctx, "alice", password, ""); err != nil {
		t.Fatalf("success after 9 failures: %v", err)
	}
	if _, err := e.users.LogIn(ctx, "alice", "wrong", ""); !errors.Is(err, user.ErrLoginFailed) {
		t.Fatalf("10th failure: %v", err)
	}
	for _, pw := range []string{"wrong", password} {
		_, err := e.users.LogIn(ctx, "alice", pw, "")
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Throttled || e.RetryAfter < 1 || e.RetryAfter > 900 {
			t.Errorf("11th attempt with %q: %v, want throttled", pw, err)
		}
	}
	var n int
	_ = e.db.QueryRow(ctx, `SELECT count(*) FROM login_attempts WHERE username = 'alice'`).Scan(&n)
	if n != user.MaxFailedLogins {
		t.Errorf("%d attempts recorded, want %d: refusals must not count", n, user.MaxFailedLogins)
	}
	// Other usernames are not throttled.
	if _, err := e.users.LogIn(ctx, "bob", "wrong", ""); !errors.Is(err, user.ErrLoginFailed) {
		t.Errorf("another username: %v", err)
	}
	if _, err := e.owner.Exec(ctx, `UPDATE login_attempts SET attempted_at = now() - interval '16 minutes'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.users.LogIn(ctx, "alice", password, ""); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestConcurrentLogInGuesses: of many wrong guesses at once, no more than
// MaxFailedLogins are checked; the rest are throttled. (A burst may be
// throttled whole: every guess can be recorded before any is counted.)
func TestConcurrentLogInGuesses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.newUser(t, "alice", user.CustomerType)
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed, throttled := 0, 0
	for range n {
		wg.Go(func() {
			_, err := e.users.LogIn(ctx, "alice", "guess", "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, user.ErrLoginFailed):
				failed++
			case apperr.CodeOf(err) == apperr.Throttled:
				throttled++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if failed > user.MaxFailedLogins || failed+throttled != n {
		t.Errorf("%d guesses checked and %d throttled; want at most %d checked", failed, throttled, user.MaxFailedLogins)
	}
}

func TestUpdateProfile(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	e.newUser(t, "bob", user.CustomerType)
	s := func(v string) *string { return &v }
	tests := []struct {
		name       string
		change     user.ProfileChange
		wantFields []string
		wantMsg    string
		want       [3]string // username, first and last name afterwards
	}{
		{"blank username", user.ProfileChange{Username: s("")}, []string{"username"}, user.MsgBlank, [3]string{"alice", "Alice", ""}},
		{"username taken", user.ProfileChange{Username: s("bob"), LastName: s("X")}, []string{"username"}, user.MsgUsernameTaken, [3]string{"alice", "Alice", ""}},
		{"last name only", user.ProfileChange{LastName: s("Liddell")}, nil, "", [3]string{"alice", "Alice", "Liddell"}},
		{"nothing", user.ProfileChange{}, nil, "", [3]string{"alice", "Alice", "Liddell"}},
		{"username and first name", user.ProfileChange{Username: s("alice2"), FirstName: s("Al")}, nil, "", [3]string{"alice2", "Al", "Liddell"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := e.users.UpdateProfile(ctx, alice.ID, tt.change)
			if got := fieldsOf(err); !slices.Equal(got, tt.wantFields) || (tt.wantFields == nil && err != nil) {
				t.Fatalf("error %v, want fields %v", err, tt.wantFields)
			}
			if e, ok := apperr.As(err); ok && e.Fields[tt.wantFields[0]][0] != tt.wantMsg {
				t.Errorf("message %q, want %q", e.Fields[tt.wantFields[0]][0], tt.wantMsg)
			}
			if err == nil && (u.ID != alice.ID || [3]string{u.Username, u.FirstName, u.LastName} != tt.want) {
				t.Errorf("returned %+v", u)
			}
			stored, err := e.users.User(ctx, alice.ID)
			if err != nil || [3]string{stored.Username, stored.FirstName, stored.LastName} != tt.want {
				t.Errorf("stored %+v %v, want %v", stored, err, tt.want)
			}
		})
	}
	if _, err := e.users.UpdateProfile(ctx, 1<<40, user.ProfileChange{}); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("no such user: %v", err)
	}
	if _, err := e.users.User(ctx, 1<<40); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("no such user: %v", err)
	}
}

func TestChangePasswordRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	const fresh = "wombat-lantern-552"
	tests := []struct {
		name       string
		change     user.PasswordChange
		wantFields []string
		wantMsg    string // of the last field
	}{
		{"wrong old password", user.PasswordChange{Old: "nope", New: fresh, New2: fresh}, []string{"old_password"}, user.MsgWrongPassword},
		{"new passwords differ", user.PasswordChange{Old: password, New: fresh, New2: fresh + "x"}, []string{"new_password"}, user.MsgPasswordMismatch},
		{"same as the old", user.PasswordChange{Old: password, New: password, New2: password}, []string{"new_password"}, user.MsgSamePassword},
		{"weak", user.PasswordChange{Old: password, New: "alice123", New2: "alice123"}, []string{"new_password"}, ""},
		{"wrong and weak", user.PasswordChange{Old: "nope", New: "1234", New2: "1234"}, []string{"new_password", "old_password"}, user.MsgWrongPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.users.ChangePassword(ctx, alice.ID, tt.change)
			if got := fieldsOf(err); !slices.Equal(got, tt.wantFields) {
				t.Fatalf("error %v, want fields %v", err, tt.wantFields)
			}
			last := tt.wantFields[len(tt.wantFields)-1]
			if e, _ := apperr.As(err); tt.wantMsg != "" && e.Fields[last][0] != tt.wantMsg {
				t.Errorf("message %q, want %q", e.Fields[last][0], tt.wantMsg)
			}
			if u, _ := e.users.User(ctx, alice.ID); u.PasswordHash != fakePrefix+password || u.TokenVersion != 1 {
				t.Errorf("changed anyway: %+v", u)
			}
		})
	}
	if err := e.users.ChangePassword(ctx, alice.ID, user.PasswordChange{Old: password, New: fresh, New2: fresh}); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.users.User(ctx, alice.ID); u.PasswordHash != fakePrefix+fresh || u.TokenVersion != 2 {
		t.Errorf("after the change: %+v, want the new hash and tokens revoked", u)
	}
	if _, err := e.users.LogIn(ctx, "alice", fresh, ""); err != nil {
		t.Errorf("log in with the new password: %v", err)
	}
	if err := e.users.ChangePassword(ctx, 1<<40, user.PasswordChange{Old: password, New: fresh, New2: fresh}); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("no such user: %v", err)
	}
	// A stored hash the Hasher cannot read is a fault, not a wrong password.
	if _, err := e.db.Exec(ctx, `UPDATE users SET password_hash = 'garbage' WHERE id = $1`, alice.ID); err != nil {
		t.Fatal(err)
	}
	err := e.users.ChangePassword(ctx, alice.ID, user.PasswordChange{Old: fresh, New: password, New2: password})
	if _, isApp := apperr.As(err); err == nil || isApp {
		t.Errorf("unreadable hash: %v, want a fault", err)
	}
}

func TestRevokeTokensAndDeactivate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	version := func() int {
		u, err := e.users.User(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.TokenVersion
	}
	if err := e.users.RevokeTokens(ctx, alice.ID, 1); err != nil || version() != 2 {
		t.Errorf("revoke: %v, version %d", err, version())
	}
	// Tokens of a version already revoked stay so: nothing changes.
	if err := e.users.RevokeTokens(ctx, alice.ID, 1); err != nil || version() != 2 {
		t.Errorf("revoke again: %v, version %d", err, version())
	}
	if err := e.users.Deactivate(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.users.User(ctx, alice.ID); u.IsActive || u.TokenVersion != 3 {
		t.Errorf("deactivated: %+v", u)
	}
	if _, err := e.users.LogIn(ctx, "alice", password, ""); !errors.Is(err, user.ErrLoginFailed) {
		t.Errorf("log in when inactive: %v", err)
	}
}

// TestNilHasher: the password operations of a Users without a Hasher are
// faults, not panics; the others work.
func TestNilHasher(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	users := postgres.NewUsers(e.db, nil)
	calls := map[string]func() error{
		"SignUp": func() error {
			_, err := users.SignUp(ctx, user.NewAccount{Username: "bob", Email: "bob@example.com", Password: password, Password2: password})
			return err
		},
		"LogIn": func() error { _, err := users.LogIn(ctx, "alice", password, ""); return err },
		"ChangePassword": func() error {
			return users.ChangePassword(ctx, alice.ID, user.PasswordChange{Old: password, New: "x", New2: "x"})
		},
	}
	for name, call := range calls {
		if err := call(); err == nil || apperr.CodeOf(err) != "" {
			t.Errorf("%s: %v, want a fault", name, err)
		}
	}
	if u, err := users.User(ctx, alice.ID); err != nil || u.ID != alice.ID {
		t.Errorf("User: %+v %v", u, err)
	}
}
