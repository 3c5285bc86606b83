package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"wallets/internal/apperr"
	"wallets/internal/auth"
	"wallets/internal/obs"
	"wallets/internal/user"
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

// SignUp creates an account.
func (s *Server) SignUp(ctx context.Context, r *Request) (Response, error) {
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	a := user.NewAccount{Type: user.CustomerType}
	if name, ok := f.String("username", true, user.MaxUsername); ok {
		a.Username = user.NormalizeUsername(name)
	}
	if v, ok := f.String("first_name", false, user.MaxName); ok {
		a.FirstName = v
	}
	if v, ok := f.String("last_name", false, user.MaxName); ok {
		a.LastName = v
	}
	if email, ok := f.String("email", true, user.MaxEmail); ok {
		a.Email = email
	}
	if f.Has("type") {
		if t, ok := f.Choice("type", int(user.CustomerType), int(user.BusinessType)); ok {
			a.Type = user.Type(t)
		}
	}
	a.Password, _ = f.Password("password")
	a.Password2, _ = f.Password("password2")
	// Every problem at once: what could not be read, then the account
	// rules on what could.
	a.Check(f.errs)
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	u, err := s.users.SignUp(ctx, a)
	if err != nil {
		return Response{}, err
	}
	return created(viewUser(u)), nil
}

// LogIn exchanges a username and password for a token, also set as the jwt
// cookie.
func (s *Server) LogIn(ctx context.Context, r *Request) (Response, error) {
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	// No username is longer than MaxUsername (nor could the throttle's
	// table hold one): refuse it as a field error, not a fault.
	username, _ := f.String("username", true, user.MaxUsername)
	username = user.NormalizeUsername(username)
	if utf8.RuneCountInString(username) > user.MaxUsername {
		f.Error("username", user.MsgUsernameLong) // NFKC may lengthen a name
	}
	password, _ := f.Password("password")
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	// The throttle counts failures per username and source: the caller's
	// address as API Gateway saw it (its sourceIp, which the local gateway
	// takes from the socket; never X-Forwarded-For, which the caller
	// writes). Without one the source is "", a bucket of its own.
	u, err := s.users.LogIn(ctx, username, password, r.SourceIP())
	switch {
	case errors.Is(err, user.ErrLoginFailed):
		obs.Count(ctx, obs.MetricLoginFailures, 1)
		return Response{}, err
	case apperr.CodeOf(err) == apperr.Throttled:
		obs.Count(ctx, obs.MetricLoginThrottled, 1)
		return Response{}, err
	case err != nil:
		return Response{}, err
	}
	token, err := s.tokens.Issue(ctx, auth.PrincipalOf(u))
	if err != nil {
		return Response{}, err
	}
	return Response{
		Status:  http.StatusOK,
		Body:    map[string]any{"token": token, "user": viewUser(u)},
		Cookies: []string{tokenCookie(token)},
	}, nil
}

// LogOut clears the jwt cookie and revokes the presented token, if any.
func (s *Server) LogOut(ctx context.Context, r *Request) (Response, error) {
	if r.Authenticated() {
		if err := s.users.RevokeTokens(ctx, r.Principal.UserID, r.Principal.TokenVersion); err != nil {
			return Response{}, err
		}
	}
	return Response{Status: http.StatusNoContent, Cookies: []string{clearedCookie()}}, nil
}

// Me answers the caller's profile.
func (s *Server) Me(ctx context.Context, r *Request) (Response, error) {
	u, err := s.users.User(ctx, r.Principal.UserID)
	if err != nil {
		return Response{}, err
	}
	return ok(viewUser(u)), nil
}

// UpdateMe changes the caller's username and names; absent fields stay.
func (s *Server) UpdateMe(ctx context.Context, r *Request) (Response, error) {
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	var c user.ProfileChange
	if name, ok := f.String("username", false, user.MaxUsername); ok {
		name = user.NormalizeUsername(name)
		c.Username = &name
	}
	if v, ok := f.String("first_name", false, user.MaxName); ok {
		c.FirstName = &v
	}
	if v, ok := f.String("last_name", false, user.MaxName); ok {
		c.LastName = &v
	}
	c.Check(f.errs)
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	u, err := s.users.UpdateProfile(ctx, r.Principal.UserID, c)
	if err != nil {
		return Response{}, err
	}
	return ok(viewUser(u)), nil
}

// ChangePassword replaces the caller's password. Every token, this one
// included, stops working: the client logs in again.
func (s *Server) ChangePassword(ctx context.Context, r *Request) (Response, error) {
	f, err := r.Form()
	if err != nil {
		return Response{}, err
	}
	var c user.PasswordChange
	c.Old, _ = f.Password("old_password")
	c.New, _ = f.Password("new_password")
	c.New2, _ = f.Password("new_password2")
	if err := f.Err(); err != nil {
		return Response{}, err
	}
	if err := s.users.ChangePassword(ctx, r.Principal.UserID, c); err != nil {
		return Response{}, err
	}
	return ok(Detail{"Password updated successfully."}), nil
}

// DeleteAccount deactivates the caller's account and revokes its tokens.
func (s *Server) DeleteAccount(ctx context.Context, r *Request) (Response, error) {
	if err := s.users.Deactivate(ctx, r.Principal.UserID); err != nil {
		return Response{}, err
	}
	return Response{Status: http.StatusNoContent, Cookies: []string{clearedCookie()}}, nil
}
