package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/apperr"
	"wallets/internal/auth"
	"wallets/internal/route"
	"wallets/internal/user"
)

// Native fuzz targets of the HTTP edge: `go test` replays the seeds and
// testdata/fuzz; `make fuzz` explores.

// FuzzForm: decoding a body as JSON, form fields or a multipart form never
// panics and fails only with a contract error (a 400 or a 415); reading
// fields of a decoded form never panics; a JSON body that decodes is a JSON
// object.
func FuzzForm(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"amount": "10.00", "description": "x"}`},
		{"application/json", `{"amount": 1e400, "description": 12}`},
		{"application/json", `[1]`},
		{"application/json", `{"a":1} {}`},
		{"application/json; charset=utf-8", "{\"d\": \"\xff\"}"},
		{"application/merge-patch+json", `{"username": null}`},
		{"", `{"type": "2"}`},
		{"application/x-www-form-urlencoded", "amount=10.00&description=caf%C3%A9&type=2"},
		{"application/x-www-form-urlencoded", "a=%zz"},
		{"multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"amount\"\r\n\r\n5\r\n--XX--\r\n"},
		{"multipart/form-data", "--"},
		{"text/plain", "amount=1"},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := &Request{Event: events.APIGatewayProxyRequest{Headers: map[string]string{"Content-Type": contentType}}, body: body}
		form, err := r.Form()
		if err != nil {
			var e *apperr.Error
			if !asAppErr(err, &e) || (e.Code != apperr.Invalid && e.Code != route.UnsupportedMediaType) {
				t.Fatalf("Form(%q, %q): %v, not a 400 or 415", contentType, body, err)
			}
			return
		}
		if form == nil {
			t.Fatal("nil form without an error")
		}
		if strings.HasPrefix(contentType, "application/json") && len(strings.TrimSpace(string(body))) > 0 {
			var m map[string]json.RawMessage
			if json.Unmarshal(body, &m) != nil {
				t.Fatalf("JSON body %q decoded but is not an object", body)
			}
		}
		for _, field := range []string{"amount", "description", "username", "type", "password", "wallet", "a"} {
			form.Has(field)
			form.String(field, true, 10)
			form.String(field, false, 0)
			form.Password(field)
			form.Amount(field)
			form.Choice(field, 1, 2)
		}
		_ = form.Err()
	})
}

func asAppErr(err error, e **apperr.Error) bool {
	ae, ok := err.(*apperr.Error)
	*e = ae
	return ok
}

// FuzzJWTVerify: verifying any text never panics and answers only the
// contract's 401s; a token issued for a principal verifies to it, and one
// with any character changed is refused (or, when the change only touches
// base64's unused trailing bits, names the same principal).
func FuzzJWTVerify(f *testing.F) {
	tokens, err := auth.StaticTokens([]byte("fuzz-jwt-key-0123456789abcdef-0123456789"))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := tokens.Issue(bg, auth.Principal{UserID: 7, Type: user.CustomerType, TokenVersion: 1})
	f.Add(good, int64(7), 1, 1, 0, byte('x'))
	f.Add("", int64(1), 2, 3, 5, byte('.'))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiI3In0.", int64(1), 1, 1, 10, byte('A'))
	f.Add("a.b.c", int64(-1), 3, 0, 1, byte(0))
	f.Fuzz(func(t *testing.T, token string, userID int64, typ, version, at int, b byte) {
		if p, err := tokens.Verify(bg, token); err != nil {
			if err != auth.ErrInvalidToken && err != auth.ErrExpired {
				t.Fatalf("Verify(%q): %v", token, err)
			}
		} else if p.UserID <= 0 || p.TokenVersion <= 0 {
			t.Fatalf("Verify(%q) = %+v", token, p)
		}
		p := auth.Principal{UserID: userID, Type: user.Type(typ), TokenVersion: version}
		issued, err := tokens.Issue(bg, p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tokens.Verify(bg, issued)
		valid := userID > 0 && version > 0 && (p.Type == user.CustomerType || p.Type == user.BusinessType)
		if valid != (err == nil) || (valid && got != p) {
			t.Fatalf("issued %+v, verified %+v, %v", p, got, err)
		}
		if !valid || len(issued) == 0 {
			return
		}
		i := ((at % len(issued)) + len(issued)) % len(issued)
		if issued[i] == b {
			return
		}
		tampered := issued[:i] + string(b) + issued[i+1:]
		if q, err := tokens.Verify(bg, tampered); err == nil && q != p {
			t.Fatalf("tampered token %q verified as %+v (issued for %+v)", tampered, q, p)
		}
	})
}

// bg is the context of the fuzz targets' key lookups (static rings: no
// reads).
var bg = context.Background()
