package mains_test

import (
	"context"
	"strings"
	"testing"

	"wallets/internal/api"
	"wallets/internal/mains"
	"wallets/internal/route"
)

// TestSourceWiring: a main wires exactly the services its route uses, and
// imports the password hasher only where passwords are hashed.
func TestSourceWiring(t *testing.T) {
	for _, tc := range []struct {
		uses          route.Services
		wire, without []string
	}{
		{route.UsesWallets, []string{"api.Services{Wallets: e.Wallets()}"}, []string{"passhash"}},
		{route.UsesUsers, []string{"api.Services{Users: e.Users(nil)}"}, []string{"passhash"}},
		{route.UsesPasswords, []string{"api.Services{Users: e.Users(passhash.Argon2id{})}", `"wallets/internal/passhash"`}, nil},
		{route.UsesEvents | route.UsesWebhookURLs, []string{"api.Services{Events: e.Events(), WebhookURLs: e.WebhookURLs()}"}, nil},
		{route.UsesHealth, []string{"api.Services{Health: e.Health()}"}, nil},
		{0, []string{"func(*app.Env) api.Services { return api.Services{} }"}, []string{"e.", "passhash"}},
	} {
		rt := route.Route{Function: "things-get", Methods: []string{"GET"}, Path: route.Prefix + "/things",
			Summary: "Things.", Uses: tc.uses}
		src, err := mains.Source(rt, (*api.Server).Health)
		if err != nil {
			t.Fatal(err)
		}
		s := string(src)
		if !strings.HasPrefix(s, "// Code generated ") || !strings.Contains(s, "\npackage main\n") ||
			!strings.Contains(s, `app.Serve("things-get", (*api.Server).Health, `) {
			t.Errorf("uses %b: not a main serving things-get with Health:\n%s", tc.uses, s)
		}
		for _, w := range tc.wire {
			if !strings.Contains(s, w) {
				t.Errorf("uses %b: no %s in\n%s", tc.uses, w, s)
			}
		}
		for _, w := range tc.without {
			if strings.Contains(s, w) {
				t.Errorf("uses %b: %s in\n%s", tc.uses, w, s)
			}
		}
	}
}

// TestSourceRefusesOtherFuncs: the handler must be a method expression of
// api.Server, which is all a main can name.
func TestSourceRefusesOtherFuncs(t *testing.T) {
	rt := route.Route{Function: "things-get", Uses: route.UsesWallets}
	closure := func(*api.Server, context.Context, *api.Request) (api.Response, error) { return api.Response{}, nil }
	for name, h := range map[string]api.HandlerFunc{"nil": nil, "closure": closure} {
		if _, err := mains.Source(rt, h); err == nil {
			t.Errorf("%s handler: no error", name)
		}
	}
}

// TestAll: one main per route, each naming its route's own handler.
func TestAll(t *testing.T) {
	all, err := mains.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(route.Routes()) {
		t.Fatalf("%d mains for %d routes", len(all), len(route.Routes()))
	}
	if s := string(all["wallets-retire"]); !strings.Contains(s, `app.Serve("wallets-retire", (*api.Server).Withdraw, `) {
		t.Errorf("wallets-retire main:\n%s", s)
	}
}
