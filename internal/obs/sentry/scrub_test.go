package sentryreport

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/getsentry/sentry-go"
)

func TestScrubEvent(t *testing.T) {
	ev := sentry.NewEvent()
	ev.Request = &sentry.Request{
		URL:         "https://user:pw@example.com/x?token=abc&page=2",
		Data:        `{"password":"hunter2"}`,
		Cookies:     "jwt=abc",
		QueryString: "token=abc&page=2",
		Headers:     map[string]string{"Authorization": "Bearer x", "Cookie": "jwt=abc", "Set-Cookie": "jwt=abc", "X-Api-Key": "k", "Accept": "application/json"},
		Env:         map[string]string{"REMOTE_ADDR": "1.2.3.4"},
	}
	ev.Tags["session_token"] = "abc"
	ev.Contexts["db"] = map[string]any{"user": "app", "password": "pw", "nested": map[string]any{"client_secret": "s"}}
	ev.Message = "login failed for password=hunter2 with Bearer abc.def"
	ev.Exception = []sentry.Exception{{Value: "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2ln"}}
	ev.User = sentry.User{ID: "1", Email: "a@b.c", IPAddress: "1.2.3.4"}

	out := scrubEvent(ev, nil)
	b, _ := json.Marshal(out)
	s := string(b)
	for _, bad := range []string{"hunter2", "Bearer x", "jwt=abc", "eyJhbGci", "a@b.c", "1.2.3.4", `"k"`, "token=abc", "user:pw", `"pw"`, `"s"`} {
		if strings.Contains(s, bad) {
			t.Errorf("scrubbed event contains %q: %s", bad, s)
		}
	}
	if out.Request.Headers["Accept"] != "application/json" || !strings.Contains(out.Request.QueryString, "page=2") || out.User.ID != "1" {
		t.Errorf("scrubbing removed harmless data: %s", s)
	}
}
