package apitest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"wallets/internal/route"
)

// TestCheckExchange: the contract check finds what it must and nothing else.
func TestCheckExchange(t *testing.T) {
	const w = "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10"
	json := http.Header{"Content-Type": {"application/json"}}
	cookie := http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"jwt=x; Path=/"}}
	user := `{"id": 7, "username": "pablo", "email": "p@mail.com", "first_name": "", "last_name": "", "profile": {"type": 1}}`
	wallet := `{"uuid": "` + w + `", "balance": "10.00", "created_date": "2021-04-20T09:56:34.583945Z"}`
	for _, c := range []struct {
		name, method, path, reqBody string
		status                      int
		header                      http.Header
		body                        string
		want                        string // a substring of the problem; "" for none
	}{
		{"documented", "GET", "/users/me", "", 200, json, user, ""},
		{"trailing slash", "GET", "/users/me/", "", 200, json, user, ""},
		{"off schema", "GET", "/users/me", "", 200, json, `{"id": "7"}`, "not as documented"},
		{"undocumented status", "GET", "/users/me", "", 418, json, `{"detail": "x"}`, "status is not supported"},
		{"required header missing", "POST", "/users/login", `{"username": "p", "password": "x"}`, 200, json,
			`{"token": "t", "user": ` + user + `}`, "Set-Cookie"},
		{"login", "POST", "/users/login", `{"username": "p", "password": "x"}`, 200, cookie,
			`{"token": "t", "user": ` + user + `}`, ""},
		{"refused request, refused", "PUT", "/wallets/customers/wallets/" + w + "/deposit", `{"amount": "-5"}`, 400, json,
			`{"amount": ["Amount must be positive"]}`, ""},
		{"refused request, accepted", "PUT", "/wallets/customers/wallets/" + w + "/deposit", `{"amount": "-5"}`, 200, json,
			wallet, "the document refuses the request"},
		{"retire", "PUT", "/wallets/customers/wallets/" + w + "/retire", `{"amount": "-5"}`, 200, json, wallet, ""},
		{"unknown path", "GET", "/nowhere", "", 404, json, `{"detail": "Not found."}`, ""},
		{"unknown path answered", "GET", "/nowhere", "", 200, json, `{}`, "want the documented 404"},
		{"wrong method", "DELETE", "/users/me", "", 405, json, `{"detail": "Method \"DELETE\" not allowed."}`, ""},
		{"gateway fault", "GET", "/users/me", "", 502, json, `{"detail": "Bad gateway"}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, "http://127.0.0.1"+route.Prefix+c.path, strings.NewReader(c.reqBody))
			if c.reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			problems := CheckExchange(context.Background(), Exchange{Request: req, RequestBody: []byte(c.reqBody),
				Status: c.status, Header: c.header, Body: []byte(c.body)})
			got := strings.Join(problems, "\n")
			if c.want == "" && got != "" {
				t.Errorf("unexpected problems: %s", got)
			}
			if c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("problems %q, want one with %q", got, c.want)
			}
		})
	}
}
