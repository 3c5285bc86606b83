package djangoimport_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"wallets/internal/apitest"
	"wallets/internal/config"
	"wallets/internal/djangoimport"
	"wallets/internal/user"
)

// The old service's usernames are untouched by the normalization login,
// sign-up and profile updates apply (NFKC, trimmed) and pass the username
// rule: every fixture account (testdata/users.json, a copy of
// shared/data/django-fixtures/users.json) keeps its name and logs in as
// it did.
func TestFixtureUsernamesAreNormalized(t *testing.T) {
	b, err := os.ReadFile("testdata/users.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixtures []struct {
		PK     int64 `json:"pk"`
		Fields struct {
			Username string `json:"username"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(b, &fixtures); err != nil {
		t.Fatal(err)
	}
	if len(fixtures) != 100 {
		t.Fatalf("%d fixture users, want 100", len(fixtures))
	}
	for _, f := range fixtures {
		name := f.Fields.Username
		if got := user.NormalizeUsername(name); got != name {
			t.Errorf("user %d: %+q normalizes to %+q", f.PK, name, got)
		}
		if msg := user.CheckUsername(name); msg != "" {
			t.Errorf("user %d: %+q breaks the username rule: %s", f.PK, name, msg)
		}
	}
}

// An old name not in NFKC form comes in normalized, reported as renamed,
// and its account logs in by the name as typed either way.
func TestImportNormalizesUsernames(t *testing.T) {
	old := newOldDB(t)
	old.user(300, "ｆｕｌｌ ｗｉｄｔｈ", "fw@mail.com", sha256Hash, 1, false, false, true)
	old.user(301, "Jose\u0301", "jose@mail.com", sha256Hash, 1, false, false, true)
	targetURL := ownerURL(t)
	target := connect(t, targetURL)
	rep := run(t, old.db, target, djangoimport.Options{})
	renamed := map[int64]djangoimport.Renamed{}
	for _, r := range rep.Renamed {
		renamed[r.ID] = r
	}
	if r := renamed[300]; r.New != "full width" || r.Reason == "" {
		t.Errorf("user 300 renamed %+v, want full width", r)
	}
	if r := renamed[301]; r.New != "José" {
		t.Errorf("user 301 renamed %+v, want the composed José", r)
	}
	if len(rep.Renamed) != 2 {
		t.Errorf("renamed %+v, want only users 300 and 301", rep.Renamed)
	}
	s := apitest.NewWith(t, func(c *config.Config) { c.DatabaseURL = targetURL })
	for _, typed := range []string{"full width", "ｆｕｌｌ ｗｉｄｔｈ", "José", "Jose\u0301", "crazywolf945"} {
		r := s.Do(t, "POST", "/users/login", map[string]any{"username": typed, "password": djangoPassword})
		if r.Status != http.StatusOK {
			t.Errorf("log in as %+q: %d %s", typed, r.Status, r.Body)
		}
	}
}
