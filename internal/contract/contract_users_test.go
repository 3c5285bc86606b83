package contract_test

// HTTP-level contract tests of the users endpoints (API.md, "Users"), run
// through the local API Gateway against a real database.

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"wallets/internal/apitest"
)

// Messages the contract (or the original service) words exactly.
const (
	usrMsgRequired     = "This field is required."
	usrMsgLoginFailed  = "Unable to log in with provided credentials."
	usrMsgNoCreds      = "Authentication credentials were not provided."
	usrMsgInvalidToken = "Invalid token."
	usrMsgExpired      = "Signature has expired."
	usrMsgForbidden    = "You do not have permission to perform this action."
	usrMsgUserTaken    = "A user with that username already exists."
	usrMsgEmailTaken   = "A user with that email already exists."
)

// usrCheck fails the test unless r has the status, and checks what every
// answer must be: JSON with Content-Type application/json, or, for a 204,
// no body at all.
func usrCheck(t *testing.T, r *apitest.Result, status int) *apitest.Result {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	usrJSONShape(t, r)
	return r
}

// usrJSONShape checks the response is JSON (or an empty 204).
func usrJSONShape(t *testing.T, r *apitest.Result) {
	t.Helper()
	if r.Status == http.StatusNoContent {
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %q", r.Body)
		}
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		t.Errorf("%d answered with Content-Type %q, want application/json", r.Status, r.Header.Get("Content-Type"))
	}
	if !json.Valid(r.Body) {
		t.Errorf("%d answered with a body that is not JSON: %q", r.Status, r.Body)
	}
}

// usrExact fails the test unless r has the status and its body equals want
// as JSON (key order and spacing aside).
func usrExact(t *testing.T, r *apitest.Result, status int, want string) {
	t.Helper()
	usrCheck(t, r, status)
	var got, exp any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body is not JSON: %s", r.Body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("body %s, want %s", r.Body, want)
	}
}

// usrFieldErrors fails the test unless r is a 400 whose body is field errors
// for exactly the fields named, and returns them.
func usrFieldErrors(t *testing.T, r *apitest.Result, fields ...string) map[string][]string {
	t.Helper()
	usrCheck(t, r, http.StatusBadRequest)
	var errs map[string][]string
	if err := json.Unmarshal(r.Body, &errs); err != nil {
		t.Fatalf("400 body is not {field: [messages]}: %s", r.Body)
	}
	var keys []string
	for k, msgs := range errs {
		keys = append(keys, k)
		if len(msgs) == 0 {
			t.Errorf("field %q has no message: %s", k, r.Body)
		}
	}
	slices.Sort(keys)
	want := slices.Clone(fields)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("400 names fields %v, want %v: %s", keys, want, r.Body)
	}
	return errs
}

// usrHasMessage fails unless msgs contains msg.
func usrHasMessage(t *testing.T, field string, msgs []string, msg string) {
	t.Helper()
	if !slices.Contains(msgs, msg) {
		t.Errorf("%s errors %q, want one of them %q", field, msgs, msg)
	}
}

// usrCheckUser fails unless u is exactly the contract's user object
// {"id","username","email","first_name","last_name","profile":{"type"}}.
func usrCheckUser(t *testing.T, u map[string]any, username, email, first, last string, typ int) int64 {
	t.Helper()
	var keys []string
	for k := range u {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"email", "first_name", "id", "last_name", "profile", "username"}; !slices.Equal(keys, want) {
		t.Fatalf("user has keys %v, want %v: %v", keys, want, u)
	}
	id, ok := u["id"].(float64)
	if !ok || id <= 0 || id != float64(int64(id)) {
		t.Errorf("user id %v, want a positive integer", u["id"])
	}
	if u["username"] != username || u["email"] != email || u["first_name"] != first || u["last_name"] != last {
		t.Errorf("user %v, want username %q email %q first_name %q last_name %q", u, username, email, first, last)
	}
	profile, ok := u["profile"].(map[string]any)
	if !ok || len(profile) != 1 || profile["type"] != float64(typ) {
		t.Errorf("profile %v, want {\"type\": %d}", u["profile"], typ)
	}
	return int64(id)
}

// usrSignUpBody is a valid sign-up body.
func usrSignUpBody(username string) map[string]any {
	return map[string]any{
		"username": username, "email": username + "@mail.com",
		"first_name": "First", "last_name": "Last",
		"password": apitest.Password, "password2": apitest.Password,
	}
}

// usrWith returns a copy of body with the changes; a nil value deletes.
func usrWith(body map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(body))
	for k, v := range body {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// usrCookie returns the jwt cookie a response sets, failing if none.
func usrCookie(t *testing.T, r *apitest.Result) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("malformed Set-Cookie %q: %v", line, err)
		}
		if c.Name == "jwt" {
			if found != nil {
				t.Fatalf("two jwt cookies set: %q", r.Header.Values("Set-Cookie"))
			}
			found = c
		}
	}
	if found == nil {
		t.Fatalf("no jwt cookie set; Set-Cookie: %q", r.Header.Values("Set-Cookie"))
	}
	return found
}

// usrCheckCookieAttrs checks the attributes the contract names.
func usrCheckCookieAttrs(t *testing.T, c *http.Cookie) {
	t.Helper()
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie %q, want HttpOnly; Secure; SameSite=Lax; Path=/", c.Raw)
	}
}

// usrCheckCleared checks a response clears the jwt cookie.
func usrCheckCleared(t *testing.T, r *apitest.Result) {
	t.Helper()
	c := usrCookie(t, r)
	usrCheckCookieAttrs(t, c)
	// Go parses "Max-Age=0" as MaxAge -1.
	if c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("cookie %q does not clear jwt (want an empty value and Max-Age=0)", c.Raw)
	}
}

// usrMe calls GET /users/me with opts.
func usrMe(t *testing.T, s *apitest.Stack, opts ...apitest.Opt) *apitest.Result {
	t.Helper()
	return s.Do(t, "GET", "/users/me", nil, opts...)
}

// usrUnauthorized fails unless r is the contract's 401 with detail.
func usrUnauthorized(t *testing.T, r *apitest.Result, detail string) {
	t.Helper()
	usrExact(t, r, http.StatusUnauthorized, fmt.Sprintf(`{"detail": %q}`, detail))
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without a WWW-Authenticate header")
	}
}

// usrLoginFailed fails unless r is login's one refusal.
func usrLoginFailed(t *testing.T, r *apitest.Result) {
	t.Helper()
	usrExact(t, r, http.StatusBadRequest, `{"non_field_errors": ["`+usrMsgLoginFailed+`"]}`)
	if len(r.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("a failed login set a cookie: %q", r.Header.Values("Set-Cookie"))
	}
}

// usrLogin posts a login.
func usrLogin(t *testing.T, s *apitest.Stack, username, password string) *apitest.Result {
	t.Helper()
	return s.Do(t, "POST", "/users/login", map[string]any{"username": username, "password": password})
}

// usrSign signs a token as the service does (HS256 over sub, type, ver, exp,
// iat) with the stack's key.
func usrSign(t *testing.T, key []byte, sub string, typ, ver int, iat, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "type": typ, "ver": ver, "iat": iat.Unix(), "exp": exp.Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSignUp(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)

	t.Run("customer by default", func(t *testing.T) {
		r := usrCheck(t, s.Do(t, "POST", "/users/sign-up", map[string]any{
			"username": "pablo", "email": "pablo@mail.com", "first_name": "Pablo", "last_name": "Moreno",
			"password": apitest.Password, "password2": apitest.Password,
		}), http.StatusCreated)
		usrCheckUser(t, r.JSON(t), "pablo", "pablo@mail.com", "Pablo", "Moreno", 1)
	})
	t.Run("explicit customer", func(t *testing.T) {
		r := usrCheck(t, s.Do(t, "POST", "/users/sign-up", usrWith(usrSignUpBody("explicit"), map[string]any{"type": 1})), http.StatusCreated)
		usrCheckUser(t, r.JSON(t), "explicit", "explicit@mail.com", "First", "Last", 1)
	})
	t.Run("business", func(t *testing.T) {
		r := usrCheck(t, s.Do(t, "POST", "/users/sign-up", usrWith(usrSignUpBody("mediamarket"), map[string]any{"type": 2})), http.StatusCreated)
		usrCheckUser(t, r.JSON(t), "mediamarket", "mediamarket@mail.com", "First", "Last", 2)
	})
	t.Run("names optional", func(t *testing.T) {
		r := usrCheck(t, s.Do(t, "POST", "/users/sign-up", usrWith(usrSignUpBody("noname"), map[string]any{"first_name": nil, "last_name": nil})), http.StatusCreated)
		usrCheckUser(t, r.JSON(t), "noname", "noname@mail.com", "", "", 1)
	})
	t.Run("form-encoded", func(t *testing.T) {
		r := usrCheck(t, s.Do(t, "POST", "/users/sign-up", url.Values{
			"username": {"formuser"}, "email": {"formuser@mail.com"}, "first_name": {"Form"}, "last_name": {"User"},
			"password": {apitest.Password}, "password2": {apitest.Password}, "type": {"2"},
		}), http.StatusCreated)
		usrCheckUser(t, r.JSON(t), "formuser", "formuser@mail.com", "Form", "User", 2)
		usrCheck(t, usrLogin(t, s, "formuser", apitest.Password), http.StatusOK)
	})

	// Each invalid body is wrong in one way only, so the answer names that
	// field alone.
	base := usrSignUpBody("fresh")
	for _, tc := range []struct {
		name   string
		body   map[string]any
		field  string
		msg    string // a message the field's errors must include ("" skips)
		exact  string // the whole body, when the contract words it
		status int
	}{
		{name: "password mismatch", body: usrWith(base, map[string]any{"password2": apitest.Password + "x"}),
			exact: `{"password": ["Password mismatch"]}`},
		{name: "username taken", body: usrWith(base, map[string]any{"username": "pablo"}),
			exact: `{"username": ["` + usrMsgUserTaken + `"]}`},
		{name: "email taken", body: usrWith(base, map[string]any{"email": "pablo@mail.com"}),
			exact: `{"email": ["` + usrMsgEmailTaken + `"]}`},
		{name: "email taken in another case", body: usrWith(base, map[string]any{"email": "PABLO@Mail.COM"}),
			exact: `{"email": ["` + usrMsgEmailTaken + `"]}`},
		{name: "email not an email", body: usrWith(base, map[string]any{"email": "not-an-email"}),
			field: "email", msg: "Enter a valid email address."},
		{name: "email without domain", body: usrWith(base, map[string]any{"email": "fresh@"}), field: "email"},
		{name: "email with a display name", body: usrWith(base, map[string]any{"email": "Fresh <fresh@mail.com>"}), field: "email"},
		{name: "password too short", body: usrWith(base, map[string]any{"password": "Zq7!x", "password2": "Zq7!x"}),
			field: "password", msg: "This password is too short. It must contain at least 8 characters."},
		{name: "password numeric", body: usrWith(base, map[string]any{"password": "84736291058", "password2": "84736291058"}),
			field: "password", msg: "This password is entirely numeric."},
		{name: "password common, any case", body: usrWith(base, map[string]any{"password": "PassWord1", "password2": "PassWord1"}),
			field: "password", msg: "This password is too common."},
		{name: "password common, upper case", body: usrWith(base, map[string]any{"password": "QWERTY123", "password2": "QWERTY123"}),
			field: "password", msg: "This password is too common."},
		{name: "password like the username", body: usrWith(base, map[string]any{"username": "marisolete", "email": "x1@mail.com", "password": "Marisolete9", "password2": "Marisolete9"}),
			field: "password", msg: "The password is too similar to the username."},
		{name: "password like the email", body: usrWith(base, map[string]any{"username": "zq", "email": "cristobal.montenegro@mail.com", "first_name": nil, "last_name": nil, "password": "Montenegro12", "password2": "Montenegro12"}),
			field: "password", msg: "The password is too similar to the email address."},
		{name: "username too long", body: usrWith(base, map[string]any{"username": strings.Repeat("u", 151)}), field: "username"},
		{name: "username blank", body: usrWith(base, map[string]any{"username": "  "}), field: "username"},
		{name: "username null", body: usrWith(base, map[string]any{"username": json.RawMessage("null")}), field: "username"},
		{name: "first name too long", body: usrWith(base, map[string]any{"first_name": strings.Repeat("n", 151)}), field: "first_name"},
		{name: "first name with a NUL", body: usrWith(base, map[string]any{"first_name": "Pa\x00blo"}), field: "first_name"},
		{name: "last name not a string", body: usrWith(base, map[string]any{"last_name": map[string]any{"a": 1}}), field: "last_name"},
		{name: "type 3", body: usrWith(base, map[string]any{"type": 3}), exact: `{"type": ["\"3\" is not a valid choice."]}`},
		{name: "type 0", body: usrWith(base, map[string]any{"type": 0}), field: "type"},
		{name: "type text", body: usrWith(base, map[string]any{"type": "business"}), field: "type"},
		{name: "type fractional", body: usrWith(base, map[string]any{"type": 1.5}), field: "type"},
		{name: "missing username", body: usrWith(base, map[string]any{"username": nil}),
			exact: `{"username": ["` + usrMsgRequired + `"]}`},
		{name: "missing email", body: usrWith(base, map[string]any{"email": nil}),
			exact: `{"email": ["` + usrMsgRequired + `"]}`},
		{name: "missing password", body: usrWith(base, map[string]any{"password": nil}),
			exact: `{"password": ["` + usrMsgRequired + `"]}`},
		{name: "missing password2", body: usrWith(base, map[string]any{"password2": nil}),
			exact: `{"password2": ["` + usrMsgRequired + `"]}`},
		{name: "empty body", body: map[string]any{},
			exact: `{"username": ["` + usrMsgRequired + `"], "email": ["` + usrMsgRequired + `"], "password": ["` + usrMsgRequired + `"], "password2": ["` + usrMsgRequired + `"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, "POST", "/users/sign-up", tc.body)
			if tc.exact != "" {
				usrExact(t, r, http.StatusBadRequest, tc.exact)
				return
			}
			errs := usrFieldErrors(t, r, tc.field)
			if tc.msg != "" {
				usrHasMessage(t, tc.field, errs[tc.field], tc.msg)
			}
		})
	}

	t.Run("a refused sign-up creates nothing", func(t *testing.T) {
		// "fresh" was refused above for every reason; it is still free,
		// and so is its email.
		usrLoginFailed(t, usrLogin(t, s, "fresh", apitest.Password))
		r := usrCheck(t, s.Do(t, "POST", "/users/sign-up", base), http.StatusCreated)
		usrCheckUser(t, r.JSON(t), "fresh", "fresh@mail.com", "First", "Last", 1)
	})
	t.Run("the username is taken once signed up", func(t *testing.T) {
		usrFieldErrors(t, s.Do(t, "POST", "/users/sign-up", usrWith(usrSignUpBody("fresh"), map[string]any{"email": "other@mail.com"})), "username")
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	signed := usrCheck(t, s.Do(t, "POST", "/users/sign-up", usrSignUpBody("pablo")), http.StatusCreated).JSON(t)

	r := usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusOK)
	body := r.JSON(t)
	if len(body) != 2 {
		t.Errorf("login body has keys beyond token and user: %s", r.Body)
	}
	token, _ := body["token"].(string)
	if token == "" {
		t.Fatalf("no token: %s", r.Body)
	}
	user, _ := body["user"].(map[string]any)
	usrCheckUser(t, user, "pablo", "pablo@mail.com", "First", "Last", 1)
	if !reflect.DeepEqual(user, signed) {
		t.Errorf("login's user %v, sign-up's %v", user, signed)
	}
	c := usrCookie(t, r)
	usrCheckCookieAttrs(t, c)
	if c.Value != token {
		t.Errorf("cookie carries %q, body token %q", c.Value, token)
	}
	if c.MaxAge < 0 || c.MaxAge > 7*24*3600 {
		t.Errorf("cookie Max-Age %d outlives the token", c.MaxAge)
	}

	t.Run("form-encoded", func(t *testing.T) {
		r := usrCheck(t, s.Do(t, "POST", "/users/login", url.Values{"username": {"pablo"}, "password": {apitest.Password}}), http.StatusOK)
		if tok, _ := r.JSON(t)["token"].(string); tok == "" {
			t.Errorf("no token: %s", r.Body)
		}
	})
	for name, opt := range map[string]apitest.Opt{
		"Authorization: JWT":    apitest.Header("Authorization", "JWT "+token),
		"Authorization: Bearer": apitest.Header("Authorization", "Bearer "+token),
		"jwt cookie alone":      apitest.Header("Cookie", "jwt="+token),
		"jwt among cookies":     apitest.Header("Cookie", "theme=dark; jwt="+token+"; lang=es"),
	} {
		t.Run("token as "+name, func(t *testing.T) {
			me := usrCheck(t, usrMe(t, s, opt), http.StatusOK).JSON(t)
			if !reflect.DeepEqual(me, signed) {
				t.Errorf("me %v, want %v", me, signed)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		usrLoginFailed(t, usrLogin(t, s, "pablo", apitest.Password+"!"))
	})
	t.Run("password in another case", func(t *testing.T) {
		usrLoginFailed(t, usrLogin(t, s, "pablo", strings.ToUpper(apitest.Password)))
	})
	t.Run("unknown user", func(t *testing.T) {
		usrLoginFailed(t, usrLogin(t, s, "nobody", apitest.Password))
	})
	t.Run("missing fields", func(t *testing.T) {
		usrExact(t, s.Do(t, "POST", "/users/login", map[string]any{}), http.StatusBadRequest,
			`{"username": ["`+usrMsgRequired+`"], "password": ["`+usrMsgRequired+`"]}`)
		usrFieldErrors(t, s.Do(t, "POST", "/users/login", map[string]any{"username": "pablo"}), "password")
	})
	t.Run("odd usernames are refused, not faults", func(t *testing.T) {
		// Longer than any username can be, and a NUL that PostgreSQL
		// cannot store: a 400 either way, never a 500.
		for _, name := range []string{strings.Repeat("p", 400), "pa\x00blo"} {
			r := usrLogin(t, s, name, apitest.Password)
			usrCheck(t, r, http.StatusBadRequest)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	s.SignUp(t, "pablo", apitest.Customer)
	s.SignUp(t, "lucia", apitest.Customer)

	for i := range 10 {
		r := usrLogin(t, s, "pablo", fmt.Sprintf("wrong-%d", i))
		usrLoginFailed(t, r)
	}
	// The 11th attempt is refused even with the right password.
	r := usrLogin(t, s, "pablo", apitest.Password)
	usrCheck(t, r, http.StatusTooManyRequests)
	if d, _ := r.JSON(t)["detail"].(string); d == "" {
		t.Errorf("429 without a detail: %s", r.Body)
	}
	retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || retry <= 0 || retry > 900 {
		t.Errorf("Retry-After %q, want whole seconds in 1..900", r.Header.Get("Retry-After"))
	}
	if len(r.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("a throttled login set a cookie")
	}
	usrCheck(t, usrLogin(t, s, "pablo", "wrong-again"), http.StatusTooManyRequests)

	// Other usernames are not affected.
	usrCheck(t, usrLogin(t, s, "lucia", apitest.Password), http.StatusOK)
	usrLoginFailed(t, usrLogin(t, s, "nobody", "whatever"))

	// Once the window has passed, the user logs in again.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.OwnerDatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE login_attempts SET attempted_at = attempted_at - interval '16 minutes' WHERE username = 'pablo'`); err != nil {
		t.Fatal(err)
	}
	usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusOK)
	// A success does not wipe the failures of the window: 9 failures, a
	// success and one more failure make 10 within the window, so the next
	// attempt is refused.
	for i := range 9 {
		usrLoginFailed(t, usrLogin(t, s, "pablo", fmt.Sprintf("wrong-%d", i)))
	}
	usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusOK)
	usrLoginFailed(t, usrLogin(t, s, "pablo", "wrong-10"))
	usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusTooManyRequests)
}

// usrGuessAtOnce makes n wrong guesses at once and returns how many were
// checked (400); the others must have been throttled (429).
func usrGuessAtOnce(t *testing.T, n int, what string, guess func(i int) *apitest.Result) (checked int) {
	t.Helper()
	results := make([]*apitest.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = guess(i) })
	}
	wg.Wait()
	for _, r := range results {
		switch r.Status {
		case http.StatusBadRequest:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("concurrent %s answered %s", what, r)
		}
	}
	return checked
}

// TestLoginThrottleConcurrent fires many wrong passwords at once: no more
// than ten are ever tried.
func TestLoginThrottleConcurrent(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	s.SignUp(t, "pablo", apitest.Customer)

	const n = 24
	tried := usrGuessAtOnce(t, n, "wrong login", func(i int) *apitest.Result {
		return usrLogin(t, s, "pablo", fmt.Sprintf("guess-%d", i))
	})
	// Attempts in flight count against the limit, so a flood may see even
	// fewer than ten checked; never more.
	if tried > 10 {
		t.Fatalf("%d of %d concurrent wrong passwords were tried; the throttle allows 10", tried, n)
	}
	// Exactly the attempts tried count as failures; the refused ones do not.
	for i := tried; i < 10; i++ {
		usrLoginFailed(t, usrLogin(t, s, "pablo", fmt.Sprintf("later-%d", i)))
	}
	usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusTooManyRequests)
}

func TestLogout(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	s.SignUp(t, "pablo", apitest.Customer)

	t.Run("with the header", func(t *testing.T) {
		token := s.Login(t, "pablo", apitest.Password)
		usrCheck(t, usrMe(t, s, apitest.Token(token)), http.StatusOK)
		r := usrCheck(t, s.Do(t, "POST", "/users/logout", nil, apitest.Token(token)), http.StatusNoContent)
		usrCheckCleared(t, r)
		usrUnauthorized(t, usrMe(t, s, apitest.Token(token)), usrMsgInvalidToken)
		usrUnauthorized(t, usrMe(t, s, apitest.Header("Cookie", "jwt="+token)), usrMsgInvalidToken)
		// Logging out again with the dead token is harmless.
		usrCheckCleared(t, usrCheck(t, s.Do(t, "POST", "/users/logout", nil, apitest.Token(token)), http.StatusNoContent))
	})
	t.Run("with the cookie", func(t *testing.T) {
		token := s.Login(t, "pablo", apitest.Password)
		r := usrCheck(t, s.Do(t, "POST", "/users/logout", nil, apitest.Header("Cookie", "jwt="+token)), http.StatusNoContent)
		usrCheckCleared(t, r)
		usrUnauthorized(t, usrMe(t, s, apitest.Token(token)), usrMsgInvalidToken)
	})
	t.Run("with Bearer", func(t *testing.T) {
		token := s.Login(t, "pablo", apitest.Password)
		usrCheck(t, s.Do(t, "POST", "/users/logout", nil, apitest.Header("Authorization", "Bearer "+token)), http.StatusNoContent)
		usrUnauthorized(t, usrMe(t, s, apitest.Token(token)), usrMsgInvalidToken)
	})
	t.Run("anonymous", func(t *testing.T) {
		usrCheckCleared(t, usrCheck(t, s.Do(t, "POST", "/users/logout", nil), http.StatusNoContent))
	})
	t.Run("garbage token", func(t *testing.T) {
		usrCheckCleared(t, usrCheck(t, s.Do(t, "POST", "/users/logout", nil, apitest.Token("garbage")), http.StatusNoContent))
		usrCheck(t, s.Do(t, "POST", "/users/logout", nil, apitest.Header("Cookie", "jwt=garbage")), http.StatusNoContent)
	})
	t.Run("login works after logout", func(t *testing.T) {
		token := s.Login(t, "pablo", apitest.Password)
		usrCheck(t, usrMe(t, s, apitest.Token(token)), http.StatusOK)
	})
}

func TestMe(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, id := s.SignUp(t, "pablo", apitest.Customer)
	s.SignUp(t, "lucia", apitest.Business)
	auth := apitest.Token(token)

	t.Run("get", func(t *testing.T) {
		me := usrCheck(t, usrMe(t, s, auth), http.StatusOK).JSON(t)
		if got := usrCheckUser(t, me, "pablo", "pablo@example.com", "Pablo", "Tester", 1); got != id {
			t.Errorf("me id %d, want %d", got, id)
		}
	})
	t.Run("patch one field", func(t *testing.T) {
		me := usrCheck(t, s.Do(t, "PATCH", "/users/me", map[string]any{"first_name": "Pau"}, auth), http.StatusOK).JSON(t)
		usrCheckUser(t, me, "pablo", "pablo@example.com", "Pau", "Tester", 1)
	})
	t.Run("put; email, type and id are read-only", func(t *testing.T) {
		me := usrCheck(t, s.Do(t, "PUT", "/users/me", map[string]any{
			"username": "pablo2", "first_name": "Pablo", "last_name": "Moreno",
			"email": "hijack@mail.com", "type": 2, "profile": map[string]any{"type": 2}, "id": 999,
		}, auth), http.StatusOK).JSON(t)
		if got := usrCheckUser(t, me, "pablo2", "pablo@example.com", "Pablo", "Moreno", 1); got != id {
			t.Errorf("id changed to %d", got)
		}
		// Stored, and the token still works under the new username.
		me = usrCheck(t, usrMe(t, s, auth), http.StatusOK).JSON(t)
		usrCheckUser(t, me, "pablo2", "pablo@example.com", "Pablo", "Moreno", 1)
		// Still a customer: customer routes serve it.
		usrCheck(t, s.Do(t, "GET", "/wallets/customers/wallets", nil, auth), http.StatusOK)
		usrCheck(t, usrLogin(t, s, "pablo2", apitest.Password), http.StatusOK)
		usrLoginFailed(t, usrLogin(t, s, "pablo", apitest.Password))
	})
	t.Run("form-encoded patch", func(t *testing.T) {
		me := usrCheck(t, s.Do(t, "PATCH", "/users/me", url.Values{"last_name": {"Form"}}, auth), http.StatusOK).JSON(t)
		usrCheckUser(t, me, "pablo2", "pablo@example.com", "Pablo", "Form", 1)
	})
	t.Run("names may be cleared", func(t *testing.T) {
		me := usrCheck(t, s.Do(t, "PATCH", "/users/me", map[string]any{"first_name": "", "last_name": ""}, auth), http.StatusOK).JSON(t)
		usrCheckUser(t, me, "pablo2", "pablo@example.com", "", "", 1)
	})
	t.Run("keeping one's own username", func(t *testing.T) {
		usrCheck(t, s.Do(t, "PUT", "/users/me", map[string]any{"username": "pablo2"}, auth), http.StatusOK)
	})
	t.Run("username taken", func(t *testing.T) {
		usrExact(t, s.Do(t, "PATCH", "/users/me", map[string]any{"username": "lucia"}, auth), http.StatusBadRequest,
			`{"username": ["`+usrMsgUserTaken+`"]}`)
	})
	t.Run("username invalid", func(t *testing.T) {
		usrFieldErrors(t, s.Do(t, "PATCH", "/users/me", map[string]any{"username": ""}, auth), "username")
		usrFieldErrors(t, s.Do(t, "PATCH", "/users/me", map[string]any{"username": nil}, auth), "username")
		usrFieldErrors(t, s.Do(t, "PATCH", "/users/me", map[string]any{"last_name": strings.Repeat("x", 151)}, auth), "last_name")
		// Nothing changed.
		me := usrCheck(t, usrMe(t, s, auth), http.StatusOK).JSON(t)
		usrCheckUser(t, me, "pablo2", "pablo@example.com", "", "", 1)
	})
	t.Run("no token", func(t *testing.T) {
		usrUnauthorized(t, usrMe(t, s), usrMsgNoCreds)
		usrUnauthorized(t, s.Do(t, "PATCH", "/users/me", map[string]any{"first_name": "X"}), usrMsgNoCreds)
		usrUnauthorized(t, usrMe(t, s, apitest.Header("Authorization", "JWT")), usrMsgNoCreds)
		usrUnauthorized(t, usrMe(t, s, apitest.Header("Cookie", "other=1")), usrMsgNoCreds)
	})
	t.Run("garbage token", func(t *testing.T) {
		usrUnauthorized(t, usrMe(t, s, apitest.Token("garbage")), usrMsgInvalidToken)
		usrUnauthorized(t, usrMe(t, s, apitest.Header("Authorization", "Bearer a.b.c")), usrMsgInvalidToken)
		usrUnauthorized(t, usrMe(t, s, apitest.Header("Cookie", "jwt=garbage")), usrMsgInvalidToken)
	})
	t.Run("forged and expired tokens", func(t *testing.T) {
		now := time.Now()
		sub := strconv.FormatInt(id, 10)
		// The shape of the service's own tokens: a fresh one works, so the
		// refusals below are about what they vary.
		usrCheck(t, usrMe(t, s, apitest.Token(usrSign(t, apitest.JWTKey, sub, 1, 1, now, now.Add(time.Hour)))), http.StatusOK)

		expired := usrSign(t, apitest.JWTKey, sub, 1, 1, now.Add(-8*24*time.Hour), now.Add(-time.Hour))
		usrUnauthorized(t, usrMe(t, s, apitest.Token(expired)), usrMsgExpired)
		usrUnauthorized(t, usrMe(t, s, apitest.Header("Cookie", "jwt="+expired)), usrMsgExpired)

		otherKey := []byte("not-the-key-of-this-stack-0123456789abcdef")
		usrUnauthorized(t, usrMe(t, s, apitest.Token(usrSign(t, otherKey, sub, 1, 1, now, now.Add(time.Hour)))), usrMsgInvalidToken)
		usrUnauthorized(t, usrMe(t, s, apitest.Token(usrSign(t, apitest.JWTKey, "987654", 1, 1, now, now.Add(time.Hour)))), usrMsgInvalidToken)
		// A token claiming the other account type.
		usrUnauthorized(t, usrMe(t, s, apitest.Token(usrSign(t, apitest.JWTKey, sub, 2, 1, now, now.Add(time.Hour)))), usrMsgInvalidToken)
		// alg "none".
		none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
			"sub": sub, "type": 1, "ver": 1, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		usrUnauthorized(t, usrMe(t, s, apitest.Token(none)), usrMsgInvalidToken)
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)
	second := s.Login(t, "pablo", apitest.Password)
	auth := apitest.Token(token)
	const newPassword = "Velvet-Harbour-77"
	body := func(old, pw, pw2 string) map[string]any {
		return map[string]any{"old_password": old, "new_password": pw, "new_password2": pw2}
	}

	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
		msg   string
	}{
		{name: "wrong old password", body: body("Not-The-Password-1", newPassword, newPassword), field: "old_password"},
		{name: "new equals old", body: body(apitest.Password, apitest.Password, apitest.Password), field: "new_password"},
		{name: "mismatch", body: body(apitest.Password, newPassword, newPassword+"x"), field: "new_password", msg: "Password mismatch"},
		{name: "too short", body: body(apitest.Password, "Zq7!x", "Zq7!x"), field: "new_password",
			msg: "This password is too short. It must contain at least 8 characters."},
		{name: "numeric", body: body(apitest.Password, "84736291058", "84736291058"), field: "new_password", msg: "This password is entirely numeric."},
		{name: "common", body: body(apitest.Password, "PassWord1", "PassWord1"), field: "new_password", msg: "This password is too common."},
		{name: "like the username", body: body(apitest.Password, "Pablo!98", "Pablo!98"), field: "new_password",
			msg: "The password is too similar to the username."},
		{name: "missing old", body: map[string]any{"new_password": newPassword, "new_password2": newPassword}, field: "old_password", msg: usrMsgRequired},
		{name: "missing new2", body: map[string]any{"old_password": apitest.Password, "new_password": newPassword}, field: "new_password2", msg: usrMsgRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := usrFieldErrors(t, s.Do(t, "PUT", "/users/change-password", tc.body, auth), tc.field)
			if tc.msg != "" {
				usrHasMessage(t, tc.field, errs[tc.field], tc.msg)
			}
		})
	}
	t.Run("empty body", func(t *testing.T) {
		usrFieldErrors(t, s.Do(t, "PATCH", "/users/change-password", map[string]any{}, auth), "old_password", "new_password", "new_password2")
	})
	t.Run("no token", func(t *testing.T) {
		usrUnauthorized(t, s.Do(t, "PUT", "/users/change-password", body(apitest.Password, newPassword, newPassword)), usrMsgNoCreds)
	})
	t.Run("refusals changed nothing", func(t *testing.T) {
		usrCheck(t, usrMe(t, s, auth), http.StatusOK)
		usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusOK)
	})
	t.Run("change", func(t *testing.T) {
		usrCheck(t, s.Do(t, "PUT", "/users/change-password", body(apitest.Password, newPassword, newPassword), auth), http.StatusOK)
		usrUnauthorized(t, usrMe(t, s, auth), usrMsgInvalidToken)
		usrUnauthorized(t, usrMe(t, s, apitest.Token(second)), usrMsgInvalidToken)
		usrLoginFailed(t, usrLogin(t, s, "pablo", apitest.Password))
		fresh := s.Login(t, "pablo", newPassword)
		usrCheck(t, usrMe(t, s, apitest.Token(fresh)), http.StatusOK)

		// PATCH too, and back.
		usrCheck(t, s.Do(t, "PATCH", "/users/change-password", url.Values{
			"old_password": {newPassword}, "new_password": {apitest.Password}, "new_password2": {apitest.Password},
		}, apitest.Token(fresh)), http.StatusOK)
		usrUnauthorized(t, usrMe(t, s, apitest.Token(fresh)), usrMsgInvalidToken)
		usrLoginFailed(t, usrLogin(t, s, "pablo", newPassword))
		s.Login(t, "pablo", apitest.Password)
	})
}

func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	customer, _ := s.SignUp(t, "pablo", apitest.Customer)
	business, businessID := s.SignUp(t, "mediamarket", apitest.Business)
	_, otherID := s.SignUp(t, "zapateria", apitest.Business)
	businessSecond := s.Login(t, "mediamarket", apitest.Password)

	directory := func() map[int64]string {
		t.Helper()
		page := usrCheck(t, s.Do(t, "GET", "/wallets/business", nil, apitest.Token(customer)), http.StatusOK).JSON(t)
		out := map[int64]string{}
		results, _ := page["results"].([]any)
		for _, it := range results {
			b, _ := it.(map[string]any)
			id, _ := b["id"].(float64)
			name, _ := b["name"].(string)
			out[int64(id)] = name
		}
		return out
	}
	if d := directory(); d[businessID] != "Mediamarket" || d[otherID] != "Zapateria" {
		t.Fatalf("directory before deletion %v", d)
	}

	t.Run("no token", func(t *testing.T) {
		usrUnauthorized(t, s.Do(t, "POST", "/users/delete-account", nil), usrMsgNoCreds)
	})
	t.Run("business", func(t *testing.T) {
		r := usrCheck(t, s.Do(t, "POST", "/users/delete-account", nil, apitest.Token(business)), http.StatusNoContent)
		usrCheckCleared(t, r)
		usrUnauthorized(t, usrMe(t, s, apitest.Token(business)), usrMsgInvalidToken)
		usrUnauthorized(t, usrMe(t, s, apitest.Token(businessSecond)), usrMsgInvalidToken)
		usrUnauthorized(t, s.Do(t, "GET", "/wallets/business/wallet", nil, apitest.Header("Cookie", "jwt="+business)), usrMsgInvalidToken)
		usrLoginFailed(t, usrLogin(t, s, "mediamarket", apitest.Password))
		d := directory()
		if _, listed := d[businessID]; listed {
			t.Errorf("deleted business still listed: %v", d)
		}
		if d[otherID] != "Zapateria" {
			t.Errorf("other business gone: %v", d)
		}
		// Nor can it be charged at.
		w := s.NewWallet(t, customer)
		s.Deposit(t, customer, w, "10.00")
		usrCheck(t, s.Do(t, "POST", "/wallets/business/"+strconv.FormatInt(businessID, 10)+"/customers/transactions",
			map[string]any{"amount": "1.00", "description": "x", "wallet": w}, apitest.Token(customer)), http.StatusNotFound)
	})
	t.Run("customer", func(t *testing.T) {
		r := usrCheck(t, s.Do(t, "POST", "/users/delete-account", nil, apitest.Token(customer)), http.StatusNoContent)
		usrCheckCleared(t, r)
		usrUnauthorized(t, usrMe(t, s, apitest.Token(customer)), usrMsgInvalidToken)
		usrUnauthorized(t, s.Do(t, "GET", "/wallets/customers/wallets", nil, apitest.Token(customer)), usrMsgInvalidToken)
		usrLoginFailed(t, usrLogin(t, s, "pablo", apitest.Password))
		// The same answer as a wrong password: nothing tells the account
		// exists.
		usrLoginFailed(t, usrLogin(t, s, "pablo", "wrong-password"))
	})
}

func TestWrongAccountType(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	customer, _ := s.SignUp(t, "pablo", apitest.Customer)
	business, businessID := s.SignUp(t, "mediamarket", apitest.Business)
	forbidden := `{"detail": "` + usrMsgForbidden + `"}`
	bid := strconv.FormatInt(businessID, 10)
	anyUUID := "e58bc9dc-6f0b-4f1a-8f0e-0d0e0f101112"

	for _, tc := range []struct {
		who, method, path string
		token             string
	}{
		{"customer", "GET", "/wallets/business/wallet", customer},
		{"customer", "POST", "/wallets/business/wallet", customer},
		{"customer", "GET", "/wallets/business/transactions", customer},
		{"customer", "PATCH", "/wallets/business/transactions/" + anyUUID + "/debit", customer},
		{"business", "GET", "/wallets/customers/wallets", business},
		{"business", "POST", "/wallets/customers/wallets", business},
		{"business", "GET", "/wallets/customers/wallets/" + anyUUID, business},
		{"business", "PUT", "/wallets/customers/wallets/" + anyUUID + "/deposit", business},
		{"business", "GET", "/wallets/business/" + bid + "/customers/transactions", business},
		{"business", "POST", "/wallets/business/" + bid + "/customers/transactions", business},
	} {
		t.Run(tc.who+" "+tc.method+" "+tc.path, func(t *testing.T) {
			usrExact(t, s.Do(t, tc.method, tc.path, nil, apitest.Token(tc.token)), http.StatusForbidden, forbidden)
		})
	}
	// Both may read the directory and their own profile.
	usrCheck(t, s.Do(t, "GET", "/wallets/business", nil, apitest.Token(customer)), http.StatusOK)
	usrCheck(t, s.Do(t, "GET", "/wallets/business", nil, apitest.Token(business)), http.StatusOK)
	usrCheck(t, usrMe(t, s, apitest.Token(business)), http.StatusOK)
}

// TestUsernameAnyText: a username is any text of 1–150 characters that is
// not blank, as the old service accepted — its own tests sign up a business
// called "Media Market" — and such an account logs in, renames itself and
// shows its name in the business directory.
func TestUsernameAnyText(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	body := map[string]any{"username": "Media Market", "email": "media@example.com",
		"password": apitest.Password, "password2": apitest.Password, "type": apitest.Business}
	u := s.Do(t, "POST", "/users/sign-up", body).Check(t, http.StatusCreated).JSON(t)
	if u["username"] != "Media Market" {
		t.Fatalf("sign-up answered %v", u)
	}
	token := s.Login(t, "Media Market", apitest.Password)
	customer, _ := s.SignUp(t, "pablo", apitest.Customer)
	page := s.Do(t, "GET", "/wallets/business", nil, apitest.Token(customer)).Check(t, http.StatusOK).JSON(t)
	if results, _ := page["results"].([]any); len(results) != 1 || results[0].(map[string]any)["name"] != "Media Market" {
		t.Errorf("directory: %v", page)
	}
	renamed := s.Do(t, "PATCH", "/users/me", map[string]any{"username": "  Media Market Norte  "}, apitest.Token(token)).
		Check(t, http.StatusOK).JSON(t)
	if renamed["username"] != "Media Market Norte" {
		t.Errorf("renamed to %v, want the name trimmed", renamed["username"])
	}
	s.Do(t, "PATCH", "/users/me", map[string]any{"username": "   "}, apitest.Token(token)).Check(t, http.StatusBadRequest)
}
