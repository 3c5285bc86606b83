package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"wallets/internal/apitest"
	"wallets/internal/app"
	"wallets/internal/config"
	"wallets/internal/gateway"
	"wallets/internal/keyrotation"
	"wallets/internal/passhash"
	"wallets/internal/pgtest"
	"wallets/internal/route"
	"wallets/internal/secretstest"
)

// TestKeyRotationUnderLoad rotates the token key and the cursor key in
// Secrets Manager (the stand-in, through the rotation function's own code)
// while clients log in, call with old and new tokens and page through
// listings with cursors issued before and after. Nothing may fail: not a
// request, not a token, not a cursor.
//
// The routes and the authorizer run in processes of their own (two Envs,
// two rings per key), as Lambda containers do: the routes re-read the keys
// every 200ms, the authorizer only every hour, so that it sees tokens of a
// key it has not read yet and must re-read on the unknown kid.
func TestKeyRotationUnderLoad(t *testing.T) {
	ctx := context.Background()
	sm := secretstest.New(t)
	for _, name := range []string{"wallets/test/jwt-key", "wallets/test/cursor-key"} {
		sm.Put(name, randomKey(t))
	}
	t.Setenv("JWT_SECRET_ARN", sm.ARN("wallets/test/jwt-key"))
	t.Setenv("CURSOR_SECRET_ARN", sm.ARN("wallets/test/cursor-key"))
	t.Setenv("SENTRY_DSN_SECRET_ARN", "")
	t.Setenv("SENTRY_DSN", "")
	loadAWS := func(context.Context) (aws.Config, error) { return sm.Config(), nil }
	dbURL := pgtest.URL(t)
	env := func(function string, ttl time.Duration) *app.Env {
		cfg := config.Config{DatabaseURL: dbURL, Environment: "test", StatementTimeout: 5 * time.Second, MaxConns: 10, KeyTTL: ttl}
		if err := cfg.ReadSecrets(ctx, config.Options{AWS: loadAWS, Keys: route.AllKeys()}); err != nil {
			t.Fatal(err)
		}
		e, err := app.NewEnv(ctx, cfg, function)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		return e
	}
	routes, authorizer := env("routes", 200*time.Millisecond), env("authorizer", time.Hour)
	svc := routes.All(passhash.Argon2id{})
	srv := httptest.NewServer(gateway.New(route.Routes(), routes.Bind(svc), authorizer.Authorizer(authorizer.Users(nil)), gateway.Options{}))
	t.Cleanup(srv.Close)
	s := &apitest.Stack{URL: srv.URL, DatabaseURL: dbURL, Client: &http.Client{Timeout: time.Minute}}

	// Each client: a user with three wallets, a token and a cursor from
	// before the rotation.
	const clients = 4
	type client struct {
		name, oldToken, oldCursor string
	}
	cs := make([]client, clients)
	for i := range cs {
		name := fmt.Sprintf("rotating%d", i)
		token, _ := s.SignUp(t, name, apitest.Customer)
		for range 3 {
			s.NewWallet(t, token)
		}
		page := s.Do(t, "GET", "/wallets/customers/wallets?cursor=&page_size=1", nil, apitest.Token(token)).Check(t, http.StatusOK).JSON(t)
		cs[i] = client{name: name, oldToken: token, oldCursor: cursorOf(t, page)}
	}
	oldKid := kidOf(t, cs[0].oldToken)

	var (
		stop     atomic.Bool
		requests atomic.Int64
		mu       sync.Mutex
		problems []string
		newKids  = map[string]bool{}
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	do := func(method, path, token string, body any) (int, map[string]any) {
		requests.Add(1)
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = strings.NewReader(string(b))
		}
		req, _ := http.NewRequest(method, srv.URL+route.Prefix+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "JWT "+token)
		}
		resp, err := s.Client.Do(req)
		if err != nil {
			problem("%s %s: %v", method, path, err)
			return 0, nil
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode != http.StatusOK {
			problem("%s %s: %d %v", method, path, resp.StatusCode, m)
		}
		return resp.StatusCode, m
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				_, m := do("POST", "/users/login", "", map[string]any{"username": c.name, "password": apitest.Password})
				token, _ := m["token"].(string)
				if token == "" {
					continue
				}
				if kid := kidFrom(token); kid != oldKid {
					mu.Lock()
					newKids[kid] = true
					mu.Unlock()
				}
				for _, tok := range []string{token, c.oldToken} {
					do("GET", "/users/me", tok, nil)
				}
				// Page through all three wallets, one per page, from a fresh
				// start and from the cursor issued before the rotation.
				for _, start := range []string{"", c.oldCursor} {
					cursor := start
					for range 3 {
						status, page := do("GET", "/wallets/customers/wallets?page_size=1&cursor="+url.QueryEscape(cursor), token, nil)
						if status != http.StatusOK {
							break
						}
						if cursor = cursorFrom(page); cursor == "" {
							break
						}
					}
				}
			}
		}()
	}
	rotate := func(name string) {
		time.Sleep(400 * time.Millisecond)
		if _, err := keyrotation.Rotate(ctx, sm.Client(), sm.ARN(name)); err != nil {
			problem("rotate %s: %v", name, err)
		}
	}
	rotate("wallets/test/jwt-key")
	rotate("wallets/test/cursor-key")
	time.Sleep(800 * time.Millisecond) // past the routes' TTL: new keys sign
	// Enough traffic across the rotations however slow the machine is: a
	// loaded run makes fewer requests in the same time.
	for deadline := time.Now().Add(30 * time.Second); requests.Load() < 50 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()

	for _, p := range problems {
		t.Error(p)
	}
	if len(newKids) == 0 {
		t.Error("no token was signed with the rotated key")
	}
	if n := requests.Load(); n < 50 {
		t.Errorf("only %d requests under the rotation", n)
	}
	t.Logf("%d requests across two rotations; new token kids %v", requests.Load(), newKids)
	// Tokens and cursors from before both rotations still work afterwards.
	s.Do(t, "GET", "/users/me", nil, apitest.Token(cs[0].oldToken)).Check(t, http.StatusOK)
	s.Do(t, "GET", "/wallets/customers/wallets?page_size=1&cursor="+url.QueryEscape(cs[0].oldCursor), nil, apitest.Token(cs[0].oldToken)).Check(t, http.StatusOK)
}

func randomKey(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// cursorFrom returns the cursor of a page's next link ("" when none).
func cursorFrom(page map[string]any) string {
	next, _ := page["next"].(string)
	if next == "" {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil {
		return ""
	}
	return u.Query().Get("cursor")
}

func cursorOf(t *testing.T, page map[string]any) string {
	t.Helper()
	c := cursorFrom(page)
	if c == "" {
		t.Fatalf("no next cursor in %v", page)
	}
	return c
}

// kidFrom reads a token's kid header without verifying it.
func kidFrom(token string) string {
	head, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct{ Kid string }
	_ = json.Unmarshal(b, &h)
	return h.Kid
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	kid := kidFrom(token)
	if kid == "" {
		t.Fatalf("token without kid: %s", token)
	}
	return kid
}
