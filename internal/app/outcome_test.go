package app_test

import (
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"wallets/internal/apitest"
	"wallets/internal/config"
	"wallets/internal/pgtest"
)

// cutter is a TCP proxy to PostgreSQL that, once armed, lets the next
// statement naming trigger reach the server and run, then cuts the
// connection before the server's CommandComplete reaches the client: the
// change is applied, and the client cannot know it.
type cutter struct {
	ln      net.Listener
	target  string
	trigger []byte
	armed   atomic.Bool
	cuts    atomic.Int64
	wg      sync.WaitGroup
}

func newCutter(t *testing.T, target, trigger string) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, target: target, trigger: []byte(trigger)}
	c.wg.Add(1)
	go c.accept()
	t.Cleanup(func() {
		ln.Close()
		c.wg.Wait()
	})
	return c
}

func (c *cutter) accept() {
	defer c.wg.Done()
	for {
		client, err := c.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", c.target)
		if err != nil {
			client.Close()
			continue
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.serve(client, server)
		}()
	}
}

func (c *cutter) serve(client, server net.Conn) {
	defer client.Close()
	defer server.Close()
	var sent atomic.Bool // the trigger went to the server on this connection
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				if c.armed.Load() && strings.Contains(string(buf[:n]), string(c.trigger)) {
					sent.Store(c.armed.CompareAndSwap(true, false))
				}
				if _, werr := server.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				server.Close()
				return
			}
		}
	}()
	// Server to client, message by message (after the startup exchange,
	// every message is a type byte and a length).
	for {
		var head [5]byte
		if _, err := io.ReadFull(server, head[:]); err != nil {
			return
		}
		body := make([]byte, int(binary.BigEndian.Uint32(head[1:]))-4)
		if _, err := io.ReadFull(server, body); err != nil {
			return
		}
		if head[0] == 'C' && sent.Load() {
			c.cuts.Add(1)
			return // the statement ran; its answer is lost
		}
		if _, err := client.Write(append(head[:], body...)); err != nil {
			return
		}
	}
}

// A deposit without an Idempotency-Key whose connection is cut after the
// database applied it is answered 503 without Retry-After, saying the
// outcome is unknown; the same failure with a key keeps Retry-After (a
// retry with the key is safe: it is answered as the first was).
func TestOutcomeUnknownIsNotAnInvitationToRetry(t *testing.T) {
	dbURL := pgtest.URL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cut := newCutter(t, u.Host, "move_money")
	u.Host = cut.ln.Addr().String()
	s := apitest.NewWith(t, func(c *config.Config) { c.DatabaseURL = u.String() })
	token, _ := s.SignUp(t, "outcome", apitest.Customer)
	w := s.NewWallet(t, token)
	s.Deposit(t, token, w, "10.00")

	deposit := func(opts ...apitest.Opt) *apitest.Result {
		cut.armed.Store(true)
		return s.Do(t, "PUT", "/wallets/customers/wallets/"+w+"/deposit",
			map[string]any{"amount": "1.00", "description": "cut"}, append(opts, apitest.Token(token))...)
	}
	r := deposit()
	if cut.cuts.Load() != 1 {
		t.Fatalf("the proxy cut %d connections, want 1 (status %d %s)", cut.cuts.Load(), r.Status, r.Body)
	}
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "" {
		t.Errorf("keyless deposit after the cut: %d, Retry-After %q; want 503 without Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	if d, _ := r.JSON(t)["detail"].(string); !strings.Contains(d, "may or may not have taken effect") {
		t.Errorf("detail %q does not say the outcome is unknown", d)
	}
	// It was applied: the client must look before trying again.
	got := s.Do(t, "GET", "/wallets/customers/wallets/"+w, nil, apitest.Token(token)).Check(t, http.StatusOK).JSON(t)
	if got["balance"] != "11.00" {
		t.Errorf("balance %v after the cut deposit, want 11.00 (applied)", got["balance"])
	}

	r = deposit(apitest.IdempotencyKey("outcome-1"))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("keyed deposit after the cut: %d, Retry-After %q; want 503 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	again := s.Do(t, "PUT", "/wallets/customers/wallets/"+w+"/deposit",
		map[string]any{"amount": "1.00", "description": "cut"}, apitest.Token(token), apitest.IdempotencyKey("outcome-1"))
	if again.Status != http.StatusOK {
		t.Errorf("the keyed retry: %d %s", again.Status, again.Body)
	}
	got = s.Do(t, "GET", "/wallets/customers/wallets/"+w, nil, apitest.Token(token)).Check(t, http.StatusOK).JSON(t)
	if got["balance"] != "12.00" {
		t.Errorf("balance %v after the keyed deposit and its retry, want 12.00 (once)", got["balance"])
	}
}
