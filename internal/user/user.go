// Package user is the accounts domain: users, their profile rules, and the
// login throttle's policy. Passwords and tokens are in internal/auth; the SQL
// is in internal/postgres.
package user

import (
	"net/mail"
	"regexp"
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

var usernameRE = regexp.MustCompile(`^[\p{L}\p{N}@.+\-_]+$`)

// Messages of the account rules.
const (
	MsgUsernameInvalid = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
	MsgUsernameTaken   = "A user with that username already exists."
	MsgEmailInvalid    = "Enter a valid email address."
	MsgEmailTaken      = "A user with that email already exists."
	MsgLoginFailed     = "Unable to log in with provided credentials."
)

// CheckUsername returns why name is not a valid username, or "".
func CheckUsername(name string) string {
	if !usernameRE.MatchString(name) {
		return MsgUsernameInvalid
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

// Login throttle: after MaxFailedLogins failures for one username within
// LoginWindow, further attempts are refused until the window passes.
const (
	MaxFailedLogins = 10
	LoginWindow     = 15 * time.Minute
)

// ErrLoginFailed is the one answer for a wrong username, a wrong password
// and an inactive account.
var ErrLoginFailed = &apperr.Error{Code: apperr.Invalid, Fields: map[string][]string{"non_field_errors": {MsgLoginFailed}}}

// ErrThrottled returns the refusal of a throttled login that may retry after
// the given wait.
func ErrThrottled(wait time.Duration) error {
	secs := int(wait.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &apperr.Error{
		Code:       apperr.Throttled,
		Detail:     "Request was throttled. Expected available in " + strconv.Itoa(secs) + " seconds.",
		RetryAfter: secs,
	}
}
