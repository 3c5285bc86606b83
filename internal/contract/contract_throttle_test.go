package contract_test

// HTTP-level tests of the two throttles (API.md, "Users": login, and
// change-password) and of usernames' normalization, through the local API
// Gateway, whose sourceIp is the socket's peer: a client bound to another
// loopback address (127.0.0.2, …) is another source.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wallets/internal/apitest"
)

// thrFrom returns a view of s whose requests come from the loopback
// address ip (the gateway's sourceIp). Linux routes all of 127/8 to lo.
func thrFrom(t *testing.T, s *apitest.Stack, ip string) *apitest.Stack {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: d.DialContext}}
	probe, err := d.Dial("tcp", s.Server.Listener.Addr().String())
	if err != nil {
		t.Skipf("cannot connect from %s: %v", ip, err)
	}
	probe.Close()
	v := *s
	v.Client = c
	return &v
}

var thrDetail = regexp.MustCompile(`^Request was throttled\. Expected available in ([0-9]+) seconds\.$`)

// thrThrottled fails unless r is the throttles' 429: the detail naming the
// seconds, the same in Retry-After, within the 15-minute window.
func thrThrottled(t *testing.T, r *apitest.Result) int {
	t.Helper()
	usrCheck(t, r, http.StatusTooManyRequests)
	d, _ := r.JSON(t)["detail"].(string)
	m := thrDetail.FindStringSubmatch(d)
	retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if m == nil || err != nil || m[1] != r.Header.Get("Retry-After") || retry < 1 || retry > 900 {
		t.Errorf("429 detail %q with Retry-After %q, want the same whole seconds in 1..900", d, r.Header.Get("Retry-After"))
	}
	return retry
}

func thrOwner(t *testing.T, s *apitest.Stack) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.OwnerDatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

// A stranger guessing from another address exhausts only that address's
// allowance: the user's own address keeps logging in, and no header the
// stranger writes moves the guesses to another bucket or into the user's.
func TestLoginThrottleBySource(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	s.SignUp(t, "pablo", apitest.Customer)
	stranger := thrFrom(t, s, "127.0.0.2")

	// The stranger claims to be the user's address, then others.
	spoof := apitest.Header("X-Forwarded-For", "127.0.0.1")
	for i := range 10 {
		r := stranger.Do(t, "POST", "/users/login", map[string]any{"username": "pablo", "password": fmt.Sprint("wrong-", i)}, spoof)
		usrLoginFailed(t, r)
	}
	thrThrottled(t, stranger.Do(t, "POST", "/users/login", map[string]any{"username": "pablo", "password": apitest.Password}, spoof))
	thrThrottled(t, stranger.Do(t, "POST", "/users/login", map[string]any{"username": "pablo", "password": "wrong"},
		apitest.Header("X-Forwarded-For", "198.51.100.9")))

	// The user, from 127.0.0.1, is not throttled.
	r := usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusOK)
	token, _ := r.JSON(t)["token"].(string)
	usrCheck(t, usrMe(t, s, apitest.Token(token)), http.StatusOK)
	usrLoginFailed(t, usrLogin(t, s, "pablo", "a typo"))
	usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusOK)

	// What was recorded: the socket addresses, never the header's.
	var sources []string
	rows, err := thrOwner(t, s).Query(context.Background(), `SELECT DISTINCT source FROM login_attempts WHERE username = 'pablo' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var src string
		if err := rows.Scan(&src); err != nil {
			t.Fatal(err)
		}
		sources = append(sources, src)
	}
	if fmt.Sprint(sources) != "[127.0.0.1 127.0.0.2]" {
		t.Errorf("recorded sources %v, want [127.0.0.1 127.0.0.2]", sources)
	}
}

// 100 failures from all sources within 15 minutes throttle the username
// everywhere, the user's own address included, until the oldest leaves the
// window.
func TestLoginThrottleCeiling(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	s.SignUp(t, "pablo", apitest.Customer)
	s.SignUp(t, "lucia", apitest.Customer)

	// Ten sources, ten failures each, the sources side by side.
	var wg sync.WaitGroup
	for src := range 10 {
		from := thrFrom(t, s, fmt.Sprintf("127.0.1.%d", src+1))
		wg.Go(func() {
			for i := range 10 {
				r := usrLogin(t, from, "pablo", fmt.Sprintf("wrong-%d-%d", src, i))
				if r.Status != http.StatusBadRequest {
					t.Errorf("source %d failure %d: %s", src, i+1, r)
				}
			}
		})
	}
	wg.Wait()
	// Every source is now refused, even one that never failed, even with
	// the right password.
	thrThrottled(t, usrLogin(t, s, "pablo", apitest.Password))
	thrThrottled(t, usrLogin(t, thrFrom(t, s, "127.0.2.1"), "pablo", apitest.Password))
	// Other usernames are not.
	usrCheck(t, usrLogin(t, s, "lucia", apitest.Password), http.StatusOK)

	// Once the oldest failure leaves the window, one more attempt is checked.
	if _, err := thrOwner(t, s).Exec(context.Background(), `
		UPDATE login_attempts SET attempted_at = attempted_at - interval '16 minutes'
		 WHERE id = (SELECT min(id) FROM login_attempts WHERE username = 'pablo')`); err != nil {
		t.Fatal(err)
	}
	usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusOK)
}

// change-password: 10 wrong old passwords within 15 minutes, then 429 with
// Retry-After, even for the right old password; the token keeps working for
// everything else; once the window passes the change goes through.
func TestChangePasswordThrottle(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)
	auth := apitest.Token(token)
	const newPassword = "Velvet-Harbour-77"
	body := func(old string) map[string]any {
		return map[string]any{"old_password": old, "new_password": newPassword, "new_password2": newPassword}
	}
	// A right old password with a weak new one is no failure.
	usrFieldErrors(t, s.Do(t, "PUT", "/users/change-password",
		map[string]any{"old_password": apitest.Password, "new_password": "1234", "new_password2": "1234"}, auth), "new_password")
	start := time.Now()
	for i := range 10 {
		usrFieldErrors(t, s.Do(t, "PUT", "/users/change-password", body(fmt.Sprint("Wrong-Old-", i)), auth), "old_password")
	}
	thrThrottled(t, s.Do(t, "PUT", "/users/change-password", body("Wrong-Old-10"), auth))
	// With an Idempotency-Key: the refusal is not kept on it (below).
	keyed := apitest.IdempotencyKey("change-after-throttle")
	retry := thrThrottled(t, s.Do(t, "PATCH", "/users/change-password", body(apitest.Password), auth, keyed))
	// The oldest failure is the first of the ten: the wait is the window
	// less the time since then.
	if elapsed := int(time.Since(start) / time.Second); retry < 900-elapsed-1 {
		t.Errorf("Retry-After %d, want at least %d (the oldest failure is %d s old)", retry, 900-elapsed-1, elapsed)
	}

	// The token still works, and so does login.
	usrCheck(t, usrMe(t, s, auth), http.StatusOK)
	usrCheck(t, s.Do(t, "PATCH", "/users/me", map[string]any{"first_name": "Pablo"}, auth), http.StatusOK)
	usrCheck(t, usrLogin(t, s, "pablo", apitest.Password), http.StatusOK)
	// Another user's changes are not throttled.
	other, _ := s.SignUp(t, "lucia", apitest.Customer)
	usrCheck(t, s.Do(t, "PUT", "/users/change-password", body(apitest.Password), apitest.Token(other)), http.StatusOK)

	if _, err := thrOwner(t, s).Exec(context.Background(),
		`UPDATE change_password_attempts SET attempted_at = attempted_at - interval '16 minutes'`); err != nil {
		t.Fatal(err)
	}
	// The keyed request that was refused now runs: a 429 is not replayed.
	usrCheck(t, s.Do(t, "PATCH", "/users/change-password", body(apitest.Password), auth, keyed), http.StatusOK)
	usrUnauthorized(t, usrMe(t, s, auth), usrMsgInvalidToken)
	s.Login(t, "pablo", newPassword)
}

// Many wrong old passwords at once: no more than ten are checked.
func TestChangePasswordThrottleConcurrent(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)
	const n = 24
	tried := usrGuessAtOnce(t, n, "wrong old password", func(i int) *apitest.Result {
		return s.Do(t, "PUT", "/users/change-password", map[string]any{"old_password": fmt.Sprint("Guess-", i),
			"new_password": "Velvet-Harbour-77", "new_password2": "Velvet-Harbour-77"}, apitest.Token(token))
	})
	if tried > 10 {
		t.Fatalf("%d of %d concurrent wrong old passwords were checked; the throttle allows 10", tried, n)
	}
	usrCheck(t, usrMe(t, s, apitest.Token(token)), http.StatusOK)
}

// Usernames are NFKC-normalized at sign-up, login and profile update;
// control and format characters are refused.
func TestUsernameNormalized(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	const msgChars = "Usernames may not contain control or format characters (such as tabs, line breaks or zero-width characters)."
	u := s.Do(t, "POST", "/users/sign-up", usrSignUpBody("ｐａｂｌｏ")).Check(t, http.StatusCreated).JSON(t)
	if u["username"] != "pablo" {
		t.Fatalf("signed up as %v, want pablo", u["username"])
	}
	token := s.Login(t, "pablo", apitest.Password)
	s.Login(t, "ｐａｂｌｏ", apitest.Password)
	usrFieldErrors(t, s.Do(t, "POST", "/users/sign-up", usrWith(usrSignUpBody("pablo"), map[string]any{"email": "x@mail.com"})), "username")
	for _, bad := range []string{"pa\u200bblo", "pa\tblo", "pablo\u202e", "pa\u00adblo"} {
		usrExact(t, s.Do(t, "POST", "/users/sign-up", usrWith(usrSignUpBody("x"), map[string]any{"username": bad})),
			http.StatusBadRequest, `{"username": ["`+msgChars+`"]}`)
		usrExact(t, s.Do(t, "PATCH", "/users/me", map[string]any{"username": bad}, apitest.Token(token)),
			http.StatusBadRequest, `{"username": ["`+msgChars+`"]}`)
	}
	renamed := s.Do(t, "PATCH", "/users/me", map[string]any{"username": "Jose\u0301"}, apitest.Token(token)).Check(t, http.StatusOK).JSON(t)
	if renamed["username"] != "José" {
		t.Errorf("renamed to %+q, want the composed José", renamed["username"])
	}
	s.Login(t, "José", apitest.Password)
}
