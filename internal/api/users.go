package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"wallets/internal/auth"
	"wallets/internal/obs"
	"wallets/internal/postgres"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// CookieName is the cookie login sets to the token.
const CookieName = "jwt"

type profileView struct {
	Type int `json:"type"`
}

type userView struct {
	ID        int64       `json:"id"`
	Username  string      `json:"username"`
	Email     string      `json:"email"`
	FirstName string      `json:"first_name"`
	LastName  string      `json:"last_name"`
	Profile   profileView `json:"profile"`
}

func viewUser(u user.User) userView {
	return userView{ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Profile: profileView{Type: int(u.Type)}}
}

func tokenCookie(token string) string {
	return CookieName + "=" + token + "; Max-Age=" + strconv.Itoa(int(auth.TokenTTL/time.Second)) + "; Path=/; HttpOnly; Secure; SameSite=Lax"
}

func clearedCookie() string {
	return CookieName + "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; Secure; SameSite=Lax"
}

// strengthAttrs are the user attributes a password must not resemble.
func strengthAttrs(u user.User) []auth.Attribute {
	return []auth.Attribute{
		{Name: "username", Value: u.Username},
		{Name: "first name", Value: u.FirstName},
		{Name: "last name", Value: u.LastName},
		{Name: "email address", Value: u.Email},
	}
}

// readProfile reads the username and names of a sign-up or profile update
// into u. With partial, absent fields keep u's values.
func readProfile(f *Form, u *user.User, partial bool) {
	if name, ok := f.String("username", !partial, user.MaxUsername); ok {
		if name == "" {
			// Optional in an update, but never blank.
			f.Error("username", msgBlank)
		} else if msg := user.CheckUsername(name); msg != "" {
			f.Error("username", msg)
		}
		u.Username = name
	}
	if v, ok := f.String("first_name", false, user.MaxName); ok {
		u.FirstName = v
	}
	if v, ok := f.String("last_name", false, user.MaxName); ok {
		u.LastName = v
	}
}

func (s *Server) signUp(ctx context.Context, r *Request) (Response, error) {
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	u := user.User{Type: auth.CustomerType}
	readProfile(f, &u, false)
	if email, ok := f.String("email", true, user.MaxEmail); ok {
		if msg := user.CheckEmail(email); msg != "" {
			f.Error("email", msg)
		}
		u.Email = email
	}
	if f.Has("type") {
		if t, ok := f.Choice("type", int(auth.CustomerType), int(auth.BusinessType)); ok {
			u.Type = auth.UserType(t)
		}
	}
	pw, ok1 := f.Password("password")
	pw2, ok2 := f.Password("password2")
	switch {
	case ok1 && ok2 && pw != pw2:
		f.Error("password", "Password mismatch")
	case ok1:
		for _, p := range auth.CheckStrength(pw, strengthAttrs(u)...) {
			f.Error("password", p)
		}
	}
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	if u.PasswordHash, err = auth.Hash(pw); err != nil {
		return Response{}, err
	}
	tx, err := r.Tx(ctx)
	if err != nil {
		return Response{}, err
	}
	u, err = postgres.CreateUser(ctx, tx, u)
	if err != nil {
		return Response{}, err
	}
	return created(viewUser(u)), nil
}

func (s *Server) login(ctx context.Context, r *Request) (Response, error) {
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	// No username is longer than MaxUsername (nor could the throttle's
	// table hold one): refuse it as a field error, not a fault.
	username, _ := f.String("username", true, user.MaxUsername)
	password, _ := f.Password("password")
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	// The attempt is recorded before the password is checked, so that
	// concurrent guesses cannot slip past the limit (see StartLoginAttempt).
	now := time.Now()
	attempt, attempts, oldest, err := postgres.StartLoginAttempt(ctx, s.db, username, now.Add(-user.LoginWindow))
	if err != nil {
		return Response{}, err
	}
	if attempts > user.MaxFailedLogins {
		obs.Count(ctx, obs.MetricLoginThrottled, 1)
		// A refused attempt is no failure: it must not extend the window.
		if err := postgres.ForgetLoginAttempt(ctx, s.db, attempt); err != nil {
			return Response{}, err
		}
		return Response{}, user.ErrThrottled(oldest.Add(user.LoginWindow).Sub(now))
	}
	u, err := postgres.UserByUsername(ctx, s.db, username)
	valid := false
	switch {
	case errors.Is(err, wallet.ErrNotFound):
		auth.VerifyDummy(password)
	case err != nil:
		s.forgetAttempt(ctx, attempt)
		return Response{}, err
	default:
		if valid, err = auth.Verify(password, u.PasswordHash); err != nil {
			s.forgetAttempt(ctx, attempt)
			return Response{}, err
		}
	}
	if !valid || !u.IsActive {
		// The recorded attempt stays, as a failure.
		obs.Count(ctx, obs.MetricLoginFailures, 1)
		return Response{}, user.ErrLoginFailed
	}
	// A success is no failure: its attempt goes, the failures before it
	// stay and keep counting until the window passes ("10 failed attempts
	// within 15 minutes"), so a guesser cannot reset the count by logging
	// in to an account of their own under the same name.
	if err := postgres.ForgetLoginAttempt(ctx, s.db, attempt); err != nil {
		return Response{}, err
	}
	token, err := s.tokens.Issue(u.Principal())
	if err != nil {
		return Response{}, err
	}
	return Response{
		Status:  http.StatusOK,
		Body:    map[string]any{"token": token, "user": viewUser(u)},
		Cookies: []string{tokenCookie(token)},
	}, nil
}

// forgetAttempt drops a login attempt that ended in a fault, best effort:
// a fault is not the caller's failure.
func (s *Server) forgetAttempt(ctx context.Context, id int64) {
	if err := postgres.ForgetLoginAttempt(context.WithoutCancel(ctx), s.db, id); err != nil {
		obs.Logger(ctx).Warn("forget login attempt", "error", err.Error())
	}
}

func (s *Server) logout(ctx context.Context, r *Request) (Response, error) {
	if r.Authenticated() {
		if err := postgres.RevokeTokens(ctx, s.db, r.Principal.UserID, r.Principal.TokenVersion); err != nil {
			return Response{}, err
		}
	}
	return Response{Status: http.StatusNoContent, Cookies: []string{clearedCookie()}}, nil
}

func (s *Server) getMe(ctx context.Context, r *Request) (Response, error) {
	u, err := postgres.UserByID(ctx, s.db, r.Principal.UserID, false)
	if err != nil {
		return Response{}, err
	}
	return ok(viewUser(u)), nil
}

func (s *Server) updateMe(ctx context.Context, r *Request) (Response, error) {
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	tx, err := r.Tx(ctx)
	if err != nil {
		return Response{}, err
	}
	u, err := postgres.UserByID(ctx, tx, r.Principal.UserID, true)
	if err != nil {
		return Response{}, err
	}
	readProfile(f, &u, true)
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	if u, err = postgres.UpdateProfile(ctx, tx, u); err != nil {
		return Response{}, err
	}
	return ok(viewUser(u)), nil
}

func (s *Server) changePassword(ctx context.Context, r *Request) (Response, error) {
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	old, okOld := f.Password("old_password")
	pw, ok1 := f.Password("new_password")
	pw2, ok2 := f.Password("new_password2")
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	tx, err := r.Tx(ctx)
	if err != nil {
		return Response{}, err
	}
	u, err := postgres.UserByID(ctx, tx, r.Principal.UserID, true)
	if err != nil {
		return Response{}, err
	}
	if valid, err := auth.Verify(old, u.PasswordHash); err != nil {
		return Response{}, err
	} else if okOld && !valid {
		f.Error("old_password", "Wrong password.")
	}
	switch {
	case ok1 && ok2 && pw != pw2:
		f.Error("new_password", "Password mismatch")
	case ok1 && pw == old:
		f.Error("new_password", "New password must be different from the old password.")
	case ok1:
		for _, p := range auth.CheckStrength(pw, strengthAttrs(u)...) {
			f.Error("new_password", p)
		}
	}
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	hash, err := auth.Hash(pw)
	if err != nil {
		return Response{}, err
	}
	if _, err = postgres.SetPassword(ctx, tx, u.ID, hash); err != nil {
		return Response{}, err
	}
	// Every token, this one included, stops working: the client logs in
	// again with the new password.
	return ok(Detail{"Password updated successfully."}), nil
}

func (s *Server) deleteAccount(ctx context.Context, r *Request) (Response, error) {
	tx, err := r.Tx(ctx)
	if err != nil {
		return Response{}, err
	}
	if err := postgres.Deactivate(ctx, tx, r.Principal.UserID); err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusNoContent, Cookies: []string{clearedCookie()}}, nil
}
