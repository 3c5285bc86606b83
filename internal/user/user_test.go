package user

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"wallets/internal/apperr"
)

func TestNewAccountCheck(t *testing.T) {
	good := NewAccount{Username: "pablo", Email: "pablo@mail.com", Password: "Xk9#mQ2!vL", Password2: "Xk9#mQ2!vL"}
	tests := []struct {
		name   string
		change func(*NewAccount)
		before apperr.Fields // errors the caller found reading the fields
		want   map[string][]string
	}{
		{"valid", func(*NewAccount) {}, nil, map[string][]string{}},
		{"a username with a space", func(a *NewAccount) { a.Username = "Media Market" }, nil, map[string][]string{}},
		{"a blank username", func(a *NewAccount) { a.Username = " " }, nil, map[string][]string{"username": {MsgBlank}}},
		{"bad email", func(a *NewAccount) { a.Email = "pablo@" }, nil, map[string][]string{"email": {MsgEmailInvalid}}},
		{"mismatch", func(a *NewAccount) { a.Password2 = "other" }, nil, map[string][]string{"password": {MsgPasswordMismatch}}},
		{"weak", func(a *NewAccount) { a.Password, a.Password2 = "12345678", "12345678" }, nil,
			map[string][]string{"password": {"This password is too common.", "This password is entirely numeric."}}},
		{"similar to the username", func(a *NewAccount) { a.Password, a.Password2 = "pablo123x", "pablo123x" }, nil,
			map[string][]string{"password": {"The password is too similar to the username."}}},
		{"unread fields are not checked again", func(a *NewAccount) { a.Username, a.Password = "", "" },
			apperr.Fields{"username": {"This field is required."}, "password": {"This field is required."}},
			map[string][]string{"username": {"This field is required."}, "password": {"This field is required."}}},
		{"unread confirmation: strength still checked", func(a *NewAccount) { a.Password, a.Password2 = "short", "" },
			apperr.Fields{"password2": {"This field is required."}},
			map[string][]string{"password2": {"This field is required."}, "password": {"This password is too short. It must contain at least 8 characters."}}},
	}
	for _, tt := range tests {
		a := good
		tt.change(&a)
		errs := apperr.Fields{}
		for k, v := range tt.before {
			errs[k] = append([]string(nil), v...)
		}
		a.Check(errs)
		if !reflect.DeepEqual(map[string][]string(errs), tt.want) {
			t.Errorf("%s: errors %v, want %v", tt.name, errs, tt.want)
		}
	}
}

func TestProfileChange(t *testing.T) {
	str := func(s string) *string { return &s }
	u := User{Username: "pablo", FirstName: "Pablo", LastName: "Moreno"}
	for _, tt := range []struct {
		change ProfileChange
		errs   map[string][]string
		after  User
	}{
		{ProfileChange{}, map[string][]string{}, u},
		{ProfileChange{FirstName: str("Pau")}, map[string][]string{}, User{Username: "pablo", FirstName: "Pau", LastName: "Moreno"}},
		{ProfileChange{Username: str("")}, map[string][]string{"username": {MsgBlank}}, User{FirstName: "Pablo", LastName: "Moreno"}},
		{ProfileChange{Username: str("Pablo Moreno")}, map[string][]string{}, User{Username: "Pablo Moreno", FirstName: "Pablo", LastName: "Moreno"}},
		{ProfileChange{LastName: str("Ruiz")}, map[string][]string{}, User{Username: "pablo", FirstName: "Pablo", LastName: "Ruiz"}},
		{ProfileChange{FirstName: str(""), LastName: str("")}, map[string][]string{}, User{Username: "pablo"}},
	} {
		errs := apperr.Fields{}
		tt.change.Check(errs)
		if !reflect.DeepEqual(map[string][]string(errs), tt.errs) {
			t.Errorf("%+v: errors %v, want %v", tt.change, errs, tt.errs)
		}
		if got := tt.change.Apply(u); got != tt.after {
			t.Errorf("%+v: applied %+v, want %+v", tt.change, got, tt.after)
		}
	}
}

func TestPasswordChangeCheck(t *testing.T) {
	u := User{Username: "pablo", Email: "pablo@mail.com"}
	for _, tt := range []struct {
		name     string
		c        PasswordChange
		oldRight bool
		want     map[string][]string
	}{
		{"valid", PasswordChange{Old: "Old-Pass-123", New: "Xk9#mQ2!vL", New2: "Xk9#mQ2!vL"}, true, map[string][]string{}},
		{"wrong old", PasswordChange{Old: "nope", New: "Xk9#mQ2!vL", New2: "Xk9#mQ2!vL"}, false, map[string][]string{"old_password": {MsgWrongPassword}}},
		{"mismatch", PasswordChange{Old: "Old-Pass-123", New: "Xk9#mQ2!vL", New2: "x"}, true, map[string][]string{"new_password": {MsgPasswordMismatch}}},
		{"same", PasswordChange{Old: "Xk9#mQ2!vL", New: "Xk9#mQ2!vL", New2: "Xk9#mQ2!vL"}, true, map[string][]string{"new_password": {MsgSamePassword}}},
		{"weak", PasswordChange{Old: "Old-Pass-123", New: "password", New2: "password"}, true, map[string][]string{"new_password": {"This password is too common."}}},
	} {
		errs := apperr.Fields{}
		tt.c.Check(u, tt.oldRight, errs)
		if !reflect.DeepEqual(map[string][]string(errs), tt.want) {
			t.Errorf("%s: errors %v, want %v", tt.name, errs, tt.want)
		}
	}
}

// The login rule: per username and source, MaxFailedLogins; per username,
// MaxFailedLoginsPerUsername from all sources; the wait is until the oldest
// attempt of the exceeded count leaves the window.
func TestLoginThrottleRule(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tt := range []struct {
		name   string
		counts LoginCounts // the attempt being decided included
		wait   int         // 0: checked; else throttled for this many seconds
	}{
		{"first attempt", LoginCounts{1, now, 1, now}, 0},
		{"10 from the source (9 failures before)", LoginCounts{10, ago(time.Minute), 10, ago(time.Minute)}, 0},
		{"11 from the source", LoginCounts{11, ago(10 * time.Minute), 11, ago(10 * time.Minute)}, 300},
		{"11 from another source do not count here", LoginCounts{1, now, 12, ago(10 * time.Minute)}, 0},
		{"100 from all sources", LoginCounts{3, ago(time.Minute), 100, ago(14 * time.Minute)}, 0},
		{"101 from all sources, few from this one", LoginCounts{3, ago(time.Minute), 101, ago(14 * time.Minute)}, 60},
		{"a new source is throttled by the ceiling too", LoginCounts{1, now, 101, ago(12 * time.Minute)}, 180},
		{"both exceeded: the later wait", LoginCounts{11, ago(5 * time.Minute), 101, ago(14 * time.Minute)}, 600},
		{"both exceeded, the ceiling later", LoginCounts{11, ago(14 * time.Minute), 101, ago(5 * time.Minute)}, 600},
		{"the window just passed: at least a second", LoginCounts{11, ago(LoginWindow), 11, ago(LoginWindow)}, 1},
	} {
		err := tt.counts.Throttle(now)
		switch e, ok := apperr.As(err); {
		case tt.wait == 0 && err != nil:
			t.Errorf("%s: %v, want it checked", tt.name, err)
		case tt.wait == 0:
		case !ok || e.Code != apperr.Throttled || e.RetryAfter != tt.wait ||
			e.Detail != "Request was throttled. Expected available in "+strconv.Itoa(tt.wait)+" seconds.":
			t.Errorf("%s: %v, want throttled for %d s", tt.name, err, tt.wait)
		}
	}
}

func TestPasswordChangeThrottleRule(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		attempts int
		oldest   time.Time
		wait     int
	}{
		{1, now, 0},
		{MaxWrongOldPasswords, now.Add(-time.Minute), 0},
		{MaxWrongOldPasswords + 1, now.Add(-time.Minute), 840},
		{MaxWrongOldPasswords + 5, now.Add(-PasswordWindow + 2*time.Second), 2},
	} {
		err := PasswordChangeThrottle(tt.attempts, tt.oldest, now)
		switch e, ok := apperr.As(err); {
		case tt.wait == 0 && err != nil:
			t.Errorf("%d attempts: %v, want it checked", tt.attempts, err)
		case tt.wait == 0:
		case !ok || e.Code != apperr.Throttled || e.RetryAfter != tt.wait ||
			e.Detail != "Request was throttled. Expected available in "+strconv.Itoa(tt.wait)+" seconds.":
			t.Errorf("%d attempts: %v, want throttled for %d s", tt.attempts, err, tt.wait)
		}
	}
}

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		oldest time.Time
		secs   string
	}{
		{now.Add(-LoginWindow + 90*time.Second), "90"},
		{now.Add(-LoginWindow), "1"},     // the window has just passed: retry now
		{now.Add(-2 * LoginWindow), "1"}, // never less than a second
		{now.Add(-1400 * time.Millisecond), "899"},
	} {
		err := ErrThrottled(tt.oldest, now)
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.Throttled || !strings.Contains(e.Detail, "Expected available in "+tt.secs+" seconds.") {
			t.Errorf("ErrThrottled(oldest %v) = %v, want a wait of %s s", now.Sub(tt.oldest), err, tt.secs)
		}
	}
}

func TestCheckEmail(t *testing.T) {
	for _, tt := range []struct {
		email string
		ok    bool
	}{
		{"pablo@mail.com", true},
		{"p.moreno+x@mail.co.uk", true},
		{"pablo@mail", false},
		{"pablo@.com", false},
		{"Pablo <pablo@mail.com>", false},
		{"@mail.com", false},
		{"pablo mail@mail.com", false},
	} {
		if got := CheckEmail(tt.email) == ""; got != tt.ok {
			t.Errorf("CheckEmail(%q) ok = %v, want %v", tt.email, got, tt.ok)
		}
	}
}

func TestNormalizeAndCheckUsername(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want: normalized
		msg      string // CheckUsername of the normalized name
	}{
		{"pablo", "pablo", ""},
		{"Media Market", "Media Market", ""},
		{"  Media Market  ", "Media Market", ""},
		{"ｐａｂｌｏ", "pablo", ""},             // fullwidth
		{"Jose\u0301", "José", ""},         // decomposed → composed
		{"\u3000pablo\u3000", "pablo", ""}, // ideographic spaces, trimmed
		{"ﬁnn", "finn", ""},                // ligature
		{"Ⅻ", "XII", ""},                   // roman numeral
		{"Zoë 😀", "Zoë 😀", ""},
		{"   ", "", MsgBlank},
		{"pa\tblo", "pa\tblo", MsgUsernameChars},         // Cc
		{"pa\u0085blo", "pa\u0085blo", MsgUsernameChars}, // Cc (NEL)
		{"pa\u200bblo", "pa\u200bblo", MsgUsernameChars}, // Cf zero-width space
		{"pa\u200dblo", "pa\u200dblo", MsgUsernameChars}, // Cf zero-width joiner
		{"admin\u202e", "admin\u202e", MsgUsernameChars}, // Cf right-to-left override
		{"\ufeffpablo", "\ufeffpablo", MsgUsernameChars}, // Cf byte order mark
		{strings.Repeat("a", MaxUsername), strings.Repeat("a", MaxUsername), ""},
		{strings.Repeat("a", MaxUsername+1), strings.Repeat("a", MaxUsername+1), MsgUsernameLong},
		// NFKC may lengthen a name past the limit: U+FDFA is 18 characters.
		{strings.Repeat("\ufdfa", 10), strings.Repeat("صلى الله عليه وسلم", 10), MsgUsernameLong},
	} {
		got := NormalizeUsername(tt.in)
		if got != tt.want {
			t.Errorf("NormalizeUsername(%+q) = %+q, want %+q", tt.in, got, tt.want)
		}
		if again := NormalizeUsername(got); again != got {
			t.Errorf("NormalizeUsername is not idempotent on %+q: %+q", got, again)
		}
		if msg := CheckUsername(got); msg != tt.msg {
			t.Errorf("CheckUsername(%+q) = %q, want %q", got, msg, tt.msg)
		}
	}
}
