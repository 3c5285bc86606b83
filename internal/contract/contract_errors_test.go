package contract_test

// HTTP-level contract tests of the generic errors (API.md, "Errors" and
// "Authentication"), and of the route table against the local gateway, so
// the two cannot drift apart.

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"wallets/internal/apitest"
	"wallets/internal/route"
)

// errPath turns a route's path into one that can be requested: the prefix
// dropped (Do adds it) and each {param} replaced by a well-formed value.
func errPath(r route.Route) string {
	p := strings.TrimPrefix(r.Path, route.Prefix)
	p = strings.ReplaceAll(p, "{uuid}", "e58bc9dc-6f0b-4f1a-8f0e-0d0e0f101112")
	p = strings.ReplaceAll(p, "{business_id}", "1")
	if strings.Contains(p, "{") {
		panic("errPath: unknown path parameter in " + r.Path)
	}
	return p
}

// errAllowed is every method served on each path of the table.
func errAllowed() map[string][]string {
	out := map[string][]string{}
	for _, r := range route.Routes() {
		out[r.Path] = append(out[r.Path], r.Methods...)
	}
	return out
}

var errMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// TestRoutesNeedToken checks every protected route of the table answers the
// contract's 401 to a caller without a token (or with a bad one), on every
// method it serves, with or without a trailing slash; logout admits anyone;
// public routes never ask for a token.
func TestRoutesNeedToken(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	for _, r := range route.Routes() {
		for _, m := range r.Methods {
			for _, slash := range []string{"", "/"} {
				path := errPath(r) + slash
				t.Run(m+" "+path, func(t *testing.T) {
					res := s.Do(t, m, path, nil)
					switch r.Access {
					case route.Public, route.Optional:
						if r.Function == "docs" {
							// The one page that is HTML, not JSON.
							if ct := res.Header.Get("Content-Type"); res.Status != http.StatusOK || !strings.HasPrefix(ct, "text/html") {
								t.Fatalf("docs answered %d %q", res.Status, ct)
							}
							return
						}
						usrJSONShape(t, res)
						if res.Status == http.StatusUnauthorized || res.Status == http.StatusNotFound || res.Status == http.StatusMethodNotAllowed {
							t.Fatalf("%s route %s answered %s without a token", r.Access, r.Function, res)
						}
						if r.Access == route.Optional {
							usrCheck(t, res, http.StatusNoContent)
							usrCheck(t, s.Do(t, m, path, nil, apitest.Token("garbage")), http.StatusNoContent)
						}
					default:
						usrUnauthorized(t, res, usrMsgNoCreds)
						usrUnauthorized(t, s.Do(t, m, path, nil, apitest.Token("garbage")), usrMsgInvalidToken)
						usrUnauthorized(t, s.Do(t, m, path, nil, apitest.Header("Cookie", "jwt=garbage")), usrMsgInvalidToken)
					}
				})
			}
		}
	}
}

// TestRoutesWrongMethod checks every path of the table answers 405, with an
// Allow header naming exactly the methods it serves, to every other method.
func TestRoutesWrongMethod(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)
	done := map[string]bool{}
	allowed := errAllowed()
	for _, r := range route.Routes() {
		if done[r.Path] {
			continue
		}
		done[r.Path] = true
		serves := allowed[r.Path]
		for _, m := range errMethods {
			if slices.Contains(serves, m) {
				continue
			}
			for _, slash := range []string{"", "/"} {
				path := errPath(r) + slash
				t.Run(m+" "+path, func(t *testing.T) {
					// With and without a token: the method is refused
					// before anything else is looked at.
					for _, opts := range [][]apitest.Opt{nil, {apitest.Token(token)}} {
						res := s.Do(t, m, path, nil, opts...)
						usrExact(t, res, http.StatusMethodNotAllowed, fmt.Sprintf(`{"detail": "Method \"%s\" not allowed."}`, m))
						got := strings.Split(res.Header.Get("Allow"), ",")
						for i := range got {
							got[i] = strings.TrimSpace(got[i])
						}
						slices.Sort(got)
						want := slices.Clone(serves)
						slices.Sort(want)
						if !slices.Equal(got, want) {
							t.Errorf("Allow %q, want %v", res.Header.Get("Allow"), want)
						}
					}
				})
			}
		}
	}
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)
	for _, path := range []string{
		s.URL + "/",
		s.URL + "/nowhere",
		s.URL + "/api/v1",
		s.URL + "/api/v2/users/me",
		s.URL + "/users/me",
		"/nowhere",
		"/users",
		"/users/me/extra",
		"/users/sign-up/x",
		"/wallets",
		"/wallets/customers",
		"/wallets/customers/wallets/e58bc9dc-6f0b-4f1a-8f0e-0d0e0f101112/nowhere",
		"/wallets/business/1/customers",
	} {
		for _, m := range []string{"GET", "POST", "DELETE"} {
			t.Run(m+" "+path, func(t *testing.T) {
				usrExact(t, s.Do(t, m, path, nil), http.StatusNotFound, `{"detail": "Not found."}`)
				usrExact(t, s.Do(t, m, path, nil, apitest.Token(token)), http.StatusNotFound, `{"detail": "Not found."}`)
			})
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)
	r := s.Do(t, "DELETE", "/users/me", nil, apitest.Token(token))
	usrExact(t, r, http.StatusMethodNotAllowed, `{"detail": "Method \"DELETE\" not allowed."}`)
	if a := r.Header.Get("Allow"); !strings.Contains(a, "GET") || !strings.Contains(a, "PATCH") || !strings.Contains(a, "PUT") {
		t.Errorf("Allow %q", a)
	}
	usrCheck(t, s.Do(t, "GET", "/users/login", nil), http.StatusMethodNotAllowed)
	usrCheck(t, s.Do(t, "POST", "/users/me/", nil, apitest.Token(token)), http.StatusMethodNotAllowed)
	// The account is still there.
	usrCheck(t, s.Do(t, "GET", "/users/me", nil, apitest.Token(token)), http.StatusOK)
}

// TestTrailingSlash checks a trailing slash reaches the same handler, with
// its path parameters, on routes that need a token and routes that do not.
func TestTrailingSlash(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	s.SignUp(t, "pablo", apitest.Customer)

	login := usrCheck(t, s.Do(t, "POST", "/users/login/", map[string]any{"username": "pablo", "password": apitest.Password}), http.StatusOK)
	token, _ := login.JSON(t)["token"].(string)
	auth := apitest.Token(token)
	me := usrCheck(t, s.Do(t, "GET", "/users/me/", nil, auth), http.StatusOK).JSON(t)
	usrCheckUser(t, me, "pablo", "pablo@example.com", "Pablo", "Tester", 1)
	me = usrCheck(t, s.Do(t, "PATCH", "/users/me/", map[string]any{"first_name": "Pau"}, auth), http.StatusOK).JSON(t)
	usrCheckUser(t, me, "pablo", "pablo@example.com", "Pau", "Tester", 1)
	usrCheck(t, s.Do(t, "GET", "/health/", nil), http.StatusOK)
	usrCheck(t, s.Do(t, "POST", "/users/sign-up/", usrSignUpBody("lucia")), http.StatusCreated)

	w := usrCheck(t, s.Do(t, "POST", "/wallets/customers/wallets/", nil, auth), http.StatusCreated).JSON(t)
	id, _ := w["uuid"].(string)
	got := usrCheck(t, s.Do(t, "GET", "/wallets/customers/wallets/"+id+"/", nil, auth), http.StatusOK).JSON(t)
	if got["uuid"] != id {
		t.Errorf("wallet %v, want %s", got, id)
	}
	dep := usrCheck(t, s.Do(t, "PUT", "/wallets/customers/wallets/"+id+"/deposit/",
		map[string]any{"amount": "5.00", "description": "slash"}, auth), http.StatusOK).JSON(t)
	if dep["balance"] != "5.00" {
		t.Errorf("deposit %v", dep)
	}
	usrCheck(t, s.Do(t, "POST", "/users/logout/", nil, auth), http.StatusNoContent)
	usrUnauthorized(t, s.Do(t, "GET", "/users/me/", nil, auth), usrMsgInvalidToken)
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)

	// A valid JSON object padded with spaces to n bytes.
	padded := func(n int) []byte {
		b := []byte(`{"first_name": "Big"}`)
		return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
	}
	tooLarge := func(t *testing.T, r *apitest.Result) {
		t.Helper()
		usrCheck(t, r, http.StatusRequestEntityTooLarge)
		if d, _ := r.JSON(t)["detail"].(string); d == "" {
			t.Errorf("413 without a detail: %s", r.Body)
		}
	}
	tooLarge(t, s.Do(t, "POST", "/users/sign-up", nil, apitest.RawBody(padded(64<<10+1), "application/json")))
	tooLarge(t, s.Do(t, "POST", "/users/login", nil, apitest.RawBody(padded(64<<10+1), "application/json")))
	tooLarge(t, s.Do(t, "PATCH", "/users/me", nil, apitest.RawBody(padded(64<<10+1), "application/json"), apitest.Token(token)))
	tooLarge(t, s.Do(t, "PATCH", "/users/me", nil, apitest.RawBody(padded(1<<20), "application/x-www-form-urlencoded"), apitest.Token(token)))
	tooLarge(t, s.Do(t, "PATCH", "/users/me", nil, apitest.RawBody(padded(11<<20), "application/json"), apitest.Token(token)))
	// Nothing changed.
	me := usrCheck(t, s.Do(t, "GET", "/users/me", nil, apitest.Token(token)), http.StatusOK).JSON(t)
	if me["first_name"] != "Pablo" {
		t.Errorf("a refused body changed the user: %v", me)
	}
	// 64 KiB exactly is accepted.
	me = usrCheck(t, s.Do(t, "PATCH", "/users/me", nil, apitest.RawBody(padded(64<<10), "application/json"), apitest.Token(token)), http.StatusOK).JSON(t)
	if me["first_name"] != "Big" {
		t.Errorf("64 KiB body not applied: %v", me)
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)
	auth := apitest.Token(token)
	unsupported := func(t *testing.T, r *apitest.Result) {
		t.Helper()
		usrCheck(t, r, http.StatusUnsupportedMediaType)
		if d, _ := r.JSON(t)["detail"].(string); d == "" {
			t.Errorf("415 without a detail: %s", r.Body)
		}
	}
	signUp := []byte(`{"username": "lucia", "email": "lucia@mail.com", "password": "` + apitest.Password + `", "password2": "` + apitest.Password + `"}`)
	unsupported(t, s.Do(t, "POST", "/users/sign-up", nil, apitest.RawBody(signUp, "text/plain")))
	unsupported(t, s.Do(t, "POST", "/users/login", nil, apitest.RawBody([]byte("username=pablo"), "text/plain; charset=utf-8")))
	unsupported(t, s.Do(t, "PATCH", "/users/me", nil, apitest.RawBody([]byte(`<user><first_name>X</first_name></user>`), "application/xml"), auth))
	unsupported(t, s.Do(t, "PUT", "/users/change-password", nil, apitest.RawBody([]byte("x"), "application/octet-stream"), auth))
	// Also where the handler would not read the body: a request the server
	// cannot understand is refused, not half-served.
	unsupported(t, s.Do(t, "POST", "/wallets/customers/wallets", nil, apitest.RawBody([]byte("please"), "text/plain"), auth))
	unsupported(t, s.Do(t, "POST", "/users/delete-account", nil, apitest.RawBody([]byte("bye"), "text/plain"), auth))
	// The sign-up did not happen, nor the deletion.
	usrLoginFailed(t, usrLogin(t, s, "lucia", apitest.Password))
	usrCheck(t, s.Do(t, "GET", "/users/me", nil, auth), http.StatusOK)
	page := usrCheck(t, s.Do(t, "GET", "/wallets/customers/wallets", nil, auth), http.StatusOK).JSON(t)
	if page["count"] != float64(0) {
		t.Errorf("a refused request opened a wallet: %v", page)
	}

	// A content type without a body is no reason to refuse; the JSON types
	// with parameters are JSON.
	usrCheck(t, s.Do(t, "POST", "/wallets/customers/wallets", nil, apitest.RawBody(nil, "text/plain"), auth), http.StatusCreated)
	usrCheck(t, s.Do(t, "POST", "/users/login", nil,
		apitest.RawBody([]byte(`{"username": "pablo", "password": "`+apitest.Password+`"}`), "application/json; charset=utf-8")), http.StatusOK)
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)
	auth := apitest.Token(token)

	for _, body := range []string{
		`{"username":`,
		`{"username": "pablo", "password": "x"} trailing`,
		`{"username": "pablo",}`,
		`{username: "pablo"}`,
		`not json`,
	} {
		t.Run(body, func(t *testing.T) {
			for _, r := range []*apitest.Result{
				s.Do(t, "POST", "/users/login", nil, apitest.RawBody([]byte(body), "application/json")),
				s.Do(t, "POST", "/users/sign-up", nil, apitest.RawBody([]byte(body), "application/json")),
				s.Do(t, "PATCH", "/users/me", nil, apitest.RawBody([]byte(body), "application/json"), auth),
			} {
				usrCheck(t, r, http.StatusBadRequest)
				m := r.JSON(t)
				d, _ := m["detail"].(string)
				if len(m) != 1 || !strings.HasPrefix(d, "JSON parse error - ") {
					t.Errorf("malformed JSON answered %s, want {\"detail\": \"JSON parse error - ...\"}", r.Body)
				}
			}
		})
	}

	// Well-formed JSON that is not an object.
	for body, kind := range map[string]string{
		`[]`:                      "list",
		`[{"username": "pablo"}]`: "list",
		`"pablo"`:                 "str",
		`42`:                      "int", // as Python's json.loads reads it
		`4.2`:                     "float",
		`true`:                    "bool",
		`null`:                    "NoneType",
	} {
		t.Run(body, func(t *testing.T) {
			want := `{"non_field_errors": ["Invalid data. Expected a dictionary, but got ` + kind + `."]}`
			usrExact(t, s.Do(t, "POST", "/users/login", nil, apitest.RawBody([]byte(body), "application/json")), http.StatusBadRequest, want)
			usrExact(t, s.Do(t, "PATCH", "/users/me", nil, apitest.RawBody([]byte(body), "application/json"), auth), http.StatusBadRequest, want)
		})
	}
	// Nothing changed.
	me := usrCheck(t, s.Do(t, "GET", "/users/me", nil, auth), http.StatusOK).JSON(t)
	usrCheckUser(t, me, "pablo", "pablo@example.com", "Pablo", "Tester", 1)
}

// TestNoFaultOnOddInput sends what a database would choke on; each is a
// validation error, never a 500 (and a 500 would say nothing of SQL).
func TestNoFaultOnOddInput(t *testing.T) {
	t.Parallel()
	s := apitest.New(t)
	token, _ := s.SignUp(t, "pablo", apitest.Customer)
	auth := apitest.Token(token)

	check := func(t *testing.T, r *apitest.Result, field string) {
		t.Helper()
		if r.Status == http.StatusInternalServerError {
			usrExact(t, r, http.StatusInternalServerError, `{"detail": "A server error occurred."}`)
		}
		usrFieldErrors(t, r, field)
	}
	check(t, s.Do(t, "PATCH", "/users/me", map[string]any{"first_name": "a\x00b"}, auth), "first_name")
	check(t, s.Do(t, "PATCH", "/users/me", map[string]any{"last_name": "\x00"}, auth), "last_name")
	check(t, s.Do(t, "POST", "/users/sign-up", usrWith(usrSignUpBody("nul"), map[string]any{"last_name": "x\x00"})), "last_name")
	check(t, s.Do(t, "POST", "/users/sign-up", usrWith(usrSignUpBody("nul"), map[string]any{"email": "nul\x00@mail.com"})), "email")
	check(t, s.Do(t, "POST", "/users/login", map[string]any{"username": "pa\x00blo", "password": "x"}), "username")
	check(t, s.Do(t, "POST", "/users/login", map[string]any{"username": strings.Repeat("ñ", 151), "password": "x"}), "username")
	me := usrCheck(t, s.Do(t, "GET", "/users/me", nil, auth), http.StatusOK).JSON(t)
	usrCheckUser(t, me, "pablo", "pablo@example.com", "Pablo", "Tester", 1)
}
