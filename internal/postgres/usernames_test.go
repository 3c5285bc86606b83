package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"wallets/internal/user"
)

// The service normalizes usernames itself (NFKC, trimmed), whoever calls
// it: at sign-up, login and profile update; names that differ only in
// their Unicode form are one name; control and format characters are
// refused.
func TestUsernamesNormalized(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	account := func(name, email string) user.NewAccount {
		return user.NewAccount{Username: name, Email: email, Password: password, Password2: password}
	}
	u, err := e.users.SignUp(ctx, account("Ｊｏｓｅ\u0301", "jose@example.com")) // fullwidth, decomposed accent
	if err != nil || u.Username != "José" {
		t.Fatalf("sign up: %+v %v, want the name José", u, err)
	}
	for _, typed := range []string{"José", "Jose\u0301", " Ｊｏｓé\u3000"} {
		if got, err := e.users.LogIn(ctx, typed, password, ""); err != nil || got.ID != u.ID {
			t.Errorf("log in as %+q: %+v %v", typed, got, err)
		}
	}
	if _, err := e.users.SignUp(ctx, account("Jose\u0301", "other@example.com")); fmt.Sprint(fieldsOf(err)) != "[username]" {
		t.Errorf("the same name in another form: %v, want taken", err)
	}
	for _, bad := range []string{"jo\u200bse", "jo\x07se", "jose\u202e"} {
		_, err := e.users.SignUp(ctx, account(bad, "bad@example.com"))
		if fmt.Sprint(fieldsOf(err)) != "[username]" {
			t.Errorf("sign up as %+q: %v, want a username error", bad, err)
		}
	}
	name := "ﬁnn"
	if got, err := e.users.UpdateProfile(ctx, u.ID, user.ProfileChange{Username: &name}); err != nil || got.Username != "finn" {
		t.Errorf("rename to %q: %+v %v, want finn", name, got, err)
	}
	bad := "fi\u200dnn"
	if _, err := e.users.UpdateProfile(ctx, u.ID, user.ProfileChange{Username: &bad}); fmt.Sprint(fieldsOf(err)) != "[username]" {
		t.Errorf("rename to %+q: %v, want a username error", bad, err)
	}
	// The throttle counts the normalized name: guesses in another form
	// are guesses at the same account.
	e.newUser(t, "pablo", user.CustomerType)
	for i := range user.MaxFailedLogins {
		typed := "pablo"
		if i%2 == 1 {
			typed = "ｐａｂｌｏ"
		}
		if _, err := e.users.LogIn(ctx, typed, "wrong", "198.51.100.7"); !errors.Is(err, user.ErrLoginFailed) {
			t.Fatal(err)
		}
	}
	if _, err := e.users.LogIn(ctx, "ｐａｂｌｏ", password, "198.51.100.7"); throttledFor(err) == 0 {
		t.Errorf("11th attempt in another form: %v, want throttled", err)
	}
}
