package config

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"wallets/internal/keys"
	"wallets/internal/route"
)

func TestStaticKeys(t *testing.T) {
	ctx := context.Background()
	token := bytes.Repeat([]byte("t"), keys.MinLen)
	cursor := bytes.Repeat([]byte("c"), keys.MinLen)
	rings, err := StaticKeys(token, cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(rings) != 2 {
		t.Fatalf("rings %v; want the token and the cursor key", rings)
	}
	for k, want := range map[route.Key][]byte{route.TokenKey: token, route.CursorKey: cursor} {
		r := rings[k]
		if r == nil || r.Name() != string(k) {
			t.Fatalf("ring %s = %v; want one named for its key", k, r)
		}
		if _, got := r.Signing(ctx); !bytes.Equal(got, want) {
			t.Errorf("%s signs with %q; want %q", k, got, want)
		}
		if r.Stale() {
			t.Errorf("%s: a static ring is stale", k)
		}
	}

	short := []byte("short")
	cases := []struct {
		name          string
		token, cursor []byte
	}{
		{"a short token key", short, cursor},
		{"a short cursor key", token, short},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := StaticKeys(c.token, c.cursor); err == nil || !strings.Contains(err.Error(), "need at least") {
				t.Errorf("StaticKeys = %v; want the key refused for its length", err)
			}
		})
	}
}
