package route

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"wallets/internal/apperr"
)

// Each key has its own secret variable, named like every other ARN
// variable; a key the table does not know has none.
func TestKeySecretARNVars(t *testing.T) {
	seen := map[string]Key{}
	for _, k := range AllKeys() {
		v := k.SecretARNVar()
		if !strings.HasSuffix(v, "_SECRET_ARN") {
			t.Errorf("key %s: variable %q, want …_SECRET_ARN", k, v)
		}
		if other, dup := seen[v]; dup {
			t.Errorf("keys %s and %s share variable %s", k, other, v)
		}
		seen[v] = k
	}
	if v := Key("other").SecretARNVar(); v != "" {
		t.Errorf("an unknown key's variable is %q, want none", v)
	}
	if !slices.Contains(AllKeys(), AuthorizerKeys()[0]) || len(AuthorizerKeys()) != 1 || AuthorizerKeys()[0] != TokenKey {
		t.Errorf("AuthorizerKeys %v, want only the token key", AuthorizerKeys())
	}
}

// ByFunction finds each route by its function (the first entry: PUT and
// PATCH of one path share it), and nothing for a name no route has.
func TestByFunction(t *testing.T) {
	for _, r := range Routes() {
		got, ok := ByFunction(r.Function)
		if !ok || got.Function != r.Function || got.Path != r.Path {
			t.Errorf("ByFunction(%q) = %s %s, %v", r.Function, got.Function, got.Path, ok)
		}
	}
	for _, name := range []string{"", "authorizer", "migrate", "users"} {
		if r, ok := ByFunction(name); ok {
			t.Errorf("ByFunction(%q) found %s", name, r.Path)
		}
	}
}

func TestSizing(t *testing.T) {
	tests := []struct {
		r                     Route
		wantMemory, wantTimer int
	}{
		{Route{}, defaultMemory, defaultTimeout},
		{Route{MemoryMB: 1024, TimeoutSeconds: 29}, 1024, 29},
		{Route{MemoryMB: -1, TimeoutSeconds: -1}, defaultMemory, defaultTimeout},
	}
	for _, tt := range tests {
		if got := tt.r.Memory(); got != tt.wantMemory {
			t.Errorf("Memory of %+v = %d, want %d", tt.r, got, tt.wantMemory)
		}
		if got := tt.r.Timeout(); got != tt.wantTimer {
			t.Errorf("Timeout of %+v = %d, want %d", tt.r, got, tt.wantTimer)
		}
	}
}

// A route mutates (takes an Idempotency-Key, runs in a transaction) when
// one of its methods is POST, PUT or PATCH.
func TestMutates(t *testing.T) {
	tests := []struct {
		methods []string
		want    bool
	}{
		{[]string{http.MethodGet}, false},
		{[]string{http.MethodPost}, true},
		{[]string{http.MethodPut, http.MethodPatch}, true},
		{[]string{http.MethodGet, http.MethodPatch}, true},
		{nil, false},
	}
	for _, tt := range tests {
		if got := (Route{Methods: tt.methods}).Mutates(); got != tt.want {
			t.Errorf("Mutates(%v) = %v, want %v", tt.methods, got, tt.want)
		}
	}
}

func TestAccess(t *testing.T) {
	tests := []struct {
		a          Access
		name       string
		authorized bool
	}{
		{Public, "public", false},
		{Optional, "optional", true},
		{User, "user", true},
		{Customer, "customer", true},
		{Business, "business", true},
	}
	for _, tt := range tests {
		if tt.a.String() != tt.name || tt.a.Authorized() != tt.authorized {
			t.Errorf("%d: %q authorized %v, want %q %v", tt.a, tt.a.String(), tt.a.Authorized(), tt.name, tt.authorized)
		}
	}
}

// Every gateway response without template variables has a JSON body in the
// contract's shape and the security headers; an unknown type is the
// contract's 500.
func TestGatewayResponseBodies(t *testing.T) {
	for _, g := range GatewayResponses() {
		if g.Template != "" {
			continue // API Gateway fills its variables
		}
		var body map[string]string
		if err := json.Unmarshal([]byte(g.Body()), &body); err != nil || body["detail"] != g.Detail || len(body) != 1 {
			t.Errorf("%s: body %s (%v), want {\"detail\": %q}", g.Type, g.Body(), err, g.Detail)
		}
		for k, v := range SecurityHeaders() {
			if g.Headers[k] != v {
				t.Errorf("%s: header %s %q, want %q", g.Type, k, g.Headers[k], v)
			}
		}
	}
	g := GatewayResponseOf("NO_SUCH_TYPE")
	if g.Status != http.StatusInternalServerError || g.Detail != apperr.ErrFault.Detail {
		t.Errorf("unknown type: %d %q, want 500 %q", g.Status, g.Detail, apperr.ErrFault.Detail)
	}
	if got := GatewayResponseOf("UNAUTHORIZED"); got.Status != http.StatusUnauthorized || got.Headers["WWW-Authenticate"] != WWWAuthenticate {
		t.Errorf("UNAUTHORIZED: %d %v", got.Status, got.Headers)
	}
}

// BinaryMediaTypes hands out a copy: a caller changing it changes nothing
// for the next.
func TestBinaryMediaTypesIsACopy(t *testing.T) {
	first := BinaryMediaTypes()
	want := slices.Clone(first)
	first[0] = "text/plain"
	if got := BinaryMediaTypes(); !slices.Equal(got, want) {
		t.Errorf("after changing a copy: %v, want %v", got, want)
	}
	if slices.Contains(want, "application/json") {
		t.Error("application/json would reach the handlers base64-encoded")
	}
}
