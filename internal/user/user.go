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
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"wallets/internal/apperr"
)

// Type is an account's type: a customer's or a business's. Tokens carry it
// (internal/auth), and routes open to one type only check it.
type Type int

// Account types.
const (
	CustomerType Type = 1
	BusinessType Type = 2
)

// User is an account.
type User struct {
	ID           int64
	Username     string
	Email        string
	FirstName    string
	LastName     string
	Type         Type
	IsActive     bool
	TokenVersion int
	PasswordHash string
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
	MsgUsernameChars    = "Usernames may not contain control or format characters (such as tabs, line breaks or zero-width characters)."
	MsgUsernameLong     = "Ensure this field has no more than 150 characters."
	MsgEmailInvalid     = "Enter a valid email address."
	MsgEmailTaken       = "A user with that email already exists."
	MsgLoginFailed      = "Unable to log in with provided credentials."
	MsgPasswordMismatch = "Password mismatch"
	MsgWrongPassword    = "Wrong password."
	MsgSamePassword     = "New password must be different from the old password."
)

// ErrNotFound is the answer for a user that does not exist.
var ErrNotFound = apperr.ErrNotFound

// NormalizeUsername returns name as usernames are stored and looked up:
// Unicode NFKC (so that "ｐａｂｌｏ" and "pablo", or a composed and a
// decomposed "é", are one name), then trimmed of surrounding white space
// (NFKC may turn a character into a space). Sign-up, login and profile
// updates all pass names through it; it is idempotent.
func NormalizeUsername(name string) string {
	return strings.TrimSpace(norm.NFKC.String(name))
}

// CheckUsername returns why name, normalized (NormalizeUsername), is not a
// valid username, or "". A username is any text of 1 to MaxUsername
// characters that is not blank, as the old service accepted ("Media
// Market"): accounts imported from it keep their names; but it holds no
// control or format characters (Unicode Cc and Cf: NUL, tabs, newlines,
// bidirectional overrides, zero-width joiners and spaces), which would make
// names that look alike, or that print other than they read.
func CheckUsername(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return MsgBlank
	case strings.IndexFunc(name, func(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf) }) >= 0:
		return MsgUsernameChars
	case utf8.RuneCountInString(name) > MaxUsername:
		return MsgUsernameLong
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
	Type      Type
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

// Login throttle: failures are counted per username and source address
// (the caller's IP as API Gateway saw it) and per username. After
// MaxFailedLogins failures for one username from one source within
// LoginWindow, further attempts from that source are refused until the
// window passes; other sources are not, so a stranger guessing from
// elsewhere cannot lock the user out of their own source. After
// MaxFailedLoginsPerUsername failures for one username from all sources
// together, every attempt at it is refused: the ceiling bounds guesses
// spread over many sources.
const (
	MaxFailedLogins            = 10
	MaxFailedLoginsPerUsername = 100
	LoginWindow                = 15 * time.Minute
)

// LoginCounts are the login attempts of one username recorded in the
// window, the one being decided included: from its source, and from all
// sources, each with the time of its oldest.
type LoginCounts struct {
	Source       int
	SourceOldest time.Time
	All          int
	AllOldest    time.Time
}

// Throttle returns nil when the attempt c was counted for may be checked,
// or ErrThrottled: its source is over MaxFailedLogins, or the username over
// MaxFailedLoginsPerUsername. The wait is until the oldest attempt of each
// exceeded count leaves the window (the later of the two when both are).
func (c LoginCounts) Throttle(now time.Time) error {
	var oldest time.Time
	if c.Source > MaxFailedLogins {
		oldest = c.SourceOldest
	}
	if c.All > MaxFailedLoginsPerUsername && c.AllOldest.After(oldest) {
		oldest = c.AllOldest
	}
	if oldest.IsZero() {
		return nil
	}
	return ErrThrottled(oldest, now)
}

// Change-password throttle: after MaxWrongOldPasswords wrong old passwords
// for one user within PasswordWindow, further changes are refused, right
// old password or not, until the oldest leaves the window. The user's
// tokens keep working for everything else.
const (
	MaxWrongOldPasswords = 10
	PasswordWindow       = 15 * time.Minute
)

// PasswordChangeThrottle returns nil when a change that finds attempts
// recorded in the window (itself included, the oldest at oldest) may be
// checked, or ErrThrottledFor that window.
func PasswordChangeThrottle(attempts int, oldest, now time.Time) error {
	if attempts <= MaxWrongOldPasswords {
		return nil
	}
	return ErrThrottledFor(oldest, PasswordWindow, now)
}

// ErrLoginFailed is the one answer for a wrong username, a wrong password and
// an inactive account.
var ErrLoginFailed = &apperr.Error{Code: apperr.Invalid, Fields: map[string][]string{"non_field_errors": {MsgLoginFailed}}}

// ErrThrottled returns the refusal of a throttled login, whose oldest
// counted attempt was at oldest, at time now: it may retry once that attempt
// leaves the window.
func ErrThrottled(oldest, now time.Time) error { return ErrThrottledFor(oldest, LoginWindow, now) }

// ErrThrottledFor returns the refusal of an attempt throttled by a window
// of length window whose oldest counted attempt was at oldest, at time now:
// 429 with the seconds until that attempt leaves the window (at least 1) in
// the detail and in Retry-After.
func ErrThrottledFor(oldest time.Time, window time.Duration, now time.Time) error {
	secs := int(oldest.Add(window).Sub(now).Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &apperr.Error{
		Code:       apperr.Throttled,
		Detail:     "Request was throttled. Expected available in " + strconv.Itoa(secs) + " seconds.",
		RetryAfter: secs,
	}
}
