// Package user is the accounts domain: users, the rules their usernames,
// emails and passwords follow, the login throttle's policy, and the Service
// that keeps accounts. Tokens are in internal/auth, password hashing in
// internal/passhash (behind Hasher), the SQL in internal/postgres.
package user

import (
	"net/mail"
	"strconv"
	"strings"
	"time"

	"wallets/internal/apperr"
	"wallets/internal/auth"
)

// User is an account.
type User struct {
	ID           int64
	Username     string
	Email        string
	FirstName    string
	LastName     string
	Type         auth.UserType
	IsActive     bool
	TokenVersion int
	PasswordHash string
}

// Principal is the identity a token carries for u.
func (u User) Principal() auth.Principal {
	return auth.Principal{UserID: u.ID, Type: u.Type, TokenVersion: u.TokenVersion}
}

// Field limits, as the original service's model had them.
const (
	MaxUsername = 150
	MaxName     = 150
	MaxEmail    = 254
)

// Messages of the account rules.
const (
	MsgBlank            = "This field may not be blank."
	MsgUsernameTaken    = "A user with that username already exists."
	MsgEmailInvalid     = "Enter a valid email address."
	MsgEmailTaken       = "A user with that email already exists."
	MsgLoginFailed      = "Unable to log in with provided credentials."
	MsgPasswordMismatch = "Password mismatch"
	MsgWrongPassword    = "Wrong password."
	MsgSamePassword     = "New password must be different from the old password."
)

// ErrNotFound is the answer for a user that does not exist.
var ErrNotFound = apperr.ErrNotFound

// CheckUsername returns why name is not a valid username, or "". A username
// is any text of 1 to MaxUsername characters that is not blank, as the old
// service accepted ("Media Market"): accounts imported from it keep their
// names. (The caller trims it and bounds its length.)
func CheckUsername(name string) string {
	if strings.TrimSpace(name) == "" {
		return MsgBlank
	}
	return ""
}

// CheckEmail returns why email is not a valid address, or "".
func CheckEmail(email string) string {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return MsgEmailInvalid
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.ContainsAny(email, " \t\r\n") {
		return MsgEmailInvalid
	}
	return ""
}

// NewAccount is what signing up asks for.
type NewAccount struct {
	Username  string
	Email     string
	FirstName string
	LastName  string
	Type      auth.UserType
	// Password and its confirmation, as typed.
	Password  string
	Password2 string
}

// attributes are the account's attributes a password must not resemble.
func attributes(username, first, last, email string) []Attribute {
	return []Attribute{
		{Name: "username", Value: username},
		{Name: "first name", Value: first},
		{Name: "last name", Value: last},
		{Name: "email address", Value: email},
	}
}

// Check adds to errs every account rule a breaks: the username's and the
// email's form, the two passwords matching, the password's strength. A field
// that already has an error in errs (the caller could not read it) is not
// checked again, so a caller may merge its own reading errors with these.
func (a NewAccount) Check(errs apperr.Fields) {
	if len(errs["username"]) == 0 {
		if msg := CheckUsername(a.Username); msg != "" {
			errs.Add("username", msg)
		}
	}
	if len(errs["email"]) == 0 {
		if msg := CheckEmail(a.Email); msg != "" {
			errs.Add("email", msg)
		}
	}
	ok1, ok2 := len(errs["password"]) == 0, len(errs["password2"]) == 0
	switch {
	case ok1 && ok2 && a.Password != a.Password2:
		errs.Add("password", MsgPasswordMismatch)
	case ok1:
		for _, p := range CheckStrength(a.Password, attributes(a.Username, a.FirstName, a.LastName, a.Email)...) {
			errs.Add("password", p)
		}
	}
}

// ProfileChange is an update of a profile; nil fields stay as they are.
type ProfileChange struct {
	Username  *string
	FirstName *string
	LastName  *string
}

// Check adds to errs the rules c breaks: a new username is never blank and
// has a valid form.
func (c ProfileChange) Check(errs apperr.Fields) {
	if c.Username != nil {
		if msg := CheckUsername(*c.Username); msg != "" {
			errs.Add("username", msg)
		}
	}
}

// Apply returns u with c applied.
func (c ProfileChange) Apply(u User) User {
	if c.Username != nil {
		u.Username = *c.Username
	}
	if c.FirstName != nil {
		u.FirstName = *c.FirstName
	}
	if c.LastName != nil {
		u.LastName = *c.LastName
	}
	return u
}

// PasswordChange is a request to replace a password.
type PasswordChange struct {
	Old  string
	New  string
	New2 string // the confirmation of New
}

// Check adds to errs the rules a change of u's password breaks, given
// whether the old password was right: the old one must be right, the new
// one confirmed, different from the old one and strong.
func (c PasswordChange) Check(u User, oldRight bool, errs apperr.Fields) {
	if !oldRight {
		errs.Add("old_password", MsgWrongPassword)
	}
	switch {
	case c.New != c.New2:
		errs.Add("new_password", MsgPasswordMismatch)
	case c.New == c.Old:
		errs.Add("new_password", MsgSamePassword)
	default:
		for _, p := range CheckStrength(c.New, attributes(u.Username, u.FirstName, u.LastName, u.Email)...) {
			errs.Add("new_password", p)
		}
	}
}

// Login throttle: after MaxFailedLogins failures for one username within
// LoginWindow, further attempts are refused until the window passes.
const (
	MaxFailedLogins = 10
	LoginWindow     = 15 * time.Minute
)

// Throttled reports whether an attempt that finds attempts recorded in the
// window (itself included) is refused.
func Throttled(attempts int) bool { return attempts > MaxFailedLogins }

// ErrLoginFailed is the one answer for a wrong username, a wrong password and
// an inactive account.
var ErrLoginFailed = &apperr.Error{Code: apperr.Invalid, Fields: map[string][]string{"non_field_errors": {MsgLoginFailed}}}

// ErrThrottled returns the refusal of a throttled login, whose oldest
// counted attempt was at oldest, at time now: it may retry once that attempt
// leaves the window.
func ErrThrottled(oldest, now time.Time) error {
	secs := int(oldest.Add(LoginWindow).Sub(now).Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &apperr.Error{
		Code:       apperr.Throttled,
		Detail:     "Request was throttled. Expected available in " + strconv.Itoa(secs) + " seconds.",
		RetryAfter: secs,
	}
}
