package route

import "testing"

// TestKeysPerRoute pins who may read which key: the token-signing key only
// login (and the authorizer), the cursor key only the listings, and the
// static documents no key and no database.
func TestKeysPerRoute(t *testing.T) {
	for _, r := range Routes() {
		wantToken := r.Function == "users-login"
		if got := r.Holds(TokenKey); got != wantToken {
			t.Errorf("%s holds the token key: %v, want %v", r.Function, got, wantToken)
		}
		// Every listing pages with a cursor; nothing else needs the key.
		if got := r.Holds(CursorKey); got != r.Replica {
			t.Errorf("%s holds the cursor key: %v, want %v (Replica)", r.Function, got, r.Replica)
		}
		if r.Static() && len(r.Keys) > 0 {
			t.Errorf("%s is static but holds keys %v", r.Function, r.Keys)
		}
	}
	auth := AuthorizerKeys()
	if len(auth) != 1 || auth[0] != TokenKey {
		t.Errorf("AuthorizerKeys() = %v, want [token]", auth)
	}
}

// TestSecurityHeadersOnGatewayResponses: the gateway's own answers carry
// the headers the handlers' do.
func TestSecurityHeadersOnGatewayResponses(t *testing.T) {
	for _, g := range GatewayResponses() {
		for k, v := range SecurityHeaders() {
			if g.Headers[k] != v {
				t.Errorf("%s: %s = %q, want %q", g.Type, k, g.Headers[k], v)
			}
		}
	}
	if GatewayResponseOf("ACCESS_DENIED").Headers["WWW-Authenticate"] != WWWAuthenticate {
		t.Error("ACCESS_DENIED lost WWW-Authenticate")
	}
}
