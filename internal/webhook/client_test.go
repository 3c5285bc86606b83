package webhook

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wallets/internal/event"
)

const testSecret = "whsec_c2VjcmV0LW5ldmVyLWluLWFuLWVycm9y"

var localPolicy = Policy{AllowLocal: true, Resolver: testResolver}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// receiver starts a local receiver that counts its connections.
func receiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, *countingListener) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	l := &countingListener{Listener: srv.Listener}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, l
}

// send makes one attempt and checks that its error never holds the secret.
func send(t *testing.T, c *Client, url string, body []byte) event.Attempt {
	t.Helper()
	got := c.Send(context.Background(), url, testSecret, "0b8f3f52-4a4b-4c2f-9d1e-1a2b3c4d5e6f", body)
	if strings.Contains(got.Error, testSecret) || strings.Contains(got.Error, "c2VjcmV0") {
		t.Errorf("attempt error %q holds the secret", got.Error)
	}
	return got
}

func TestSendDelivers(t *testing.T) {
	type seen struct {
		method, path string
		header       http.Header
		body         []byte
	}
	var mu sync.Mutex
	var got []seen
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.RequestURI(), r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	c := NewClient(localPolicy, 0)
	defer c.CloseIdleConnections()
	at := time.Unix(1700000000, 0)
	c.now = func() time.Time { return at }
	body := []byte(`{"id":"0b8f3f52-4a4b-4c2f-9d1e-1a2b3c4d5e6f","type":"wallet.deposited"}`)

	a := send(t, c, srv.URL+"/hooks?x=1", body)
	if a.Status != http.StatusNoContent || a.Error != "" || !a.Delivered() {
		t.Fatalf("attempt %+v, want a delivered 204", a)
	}
	if len(got) != 1 {
		t.Fatalf("receiver saw %d requests", len(got))
	}
	r := got[0]
	if r.method != http.MethodPost || r.path != "/hooks?x=1" || string(r.body) != string(body) {
		t.Errorf("receiver saw %s %s %q", r.method, r.path, r.body)
	}
	for k, v := range map[string]string{
		"Content-Type":     "application/json",
		"User-Agent":       UserAgent,
		"Wallets-Event-Id": "0b8f3f52-4a4b-4c2f-9d1e-1a2b3c4d5e6f",
	} {
		if r.header.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, r.header.Get(k), v)
		}
	}
	sig := r.header.Get(HeaderSignature)
	if sig != Sign(testSecret, at, body) {
		t.Errorf("signature %q, want Sign's", sig)
	}
	if err := Verify(testSecret, sig, r.body, at.Add(time.Second), 0); err != nil {
		t.Errorf("Verify of the received delivery: %v", err)
	}

	// localhost is pinned to loopback, and a big answer is drained
	// (64 KiB of it) without failing the attempt.
	big, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 1<<20)))
	})
	url := strings.Replace(big.URL, "127.0.0.1", "localhost", 1)
	if a := send(t, c, url, body); a.Status != 200 || a.Error != "" {
		t.Errorf("big answer from localhost: attempt %+v", a)
	}
}

func TestSendFailures(t *testing.T) {
	srv500, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom, secret "+testSecret, http.StatusInternalServerError)
	})
	release := make(chan struct{})
	slow, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	target, targetConns := receiver(t, func(w http.ResponseWriter, r *http.Request) {})
	redirect, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/stolen", http.StatusFound)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()

	// Only the slow receiver's attempt has a short timeout: the others
	// must not time out on a loaded machine.
	c := NewClient(localPolicy, 0)
	defer c.CloseIdleConnections()
	short := NewClient(localPolicy, 200*time.Millisecond)
	body := []byte(`{}`)
	tests := []struct {
		name   string
		url    string
		status int
		err    string
	}{
		{"500", srv500.URL, 500, "answered 500 Internal Server Error"},
		{"redirect", redirect.URL, 302, "answered 302 Found: redirects are not followed"},
		{"slow", slow.URL, 0, "timed out after 200ms"},
		{"refused", "http://" + closedAddr + "/", 0, "connection refused by " + closedAddr},
		{"unresolved", "https://nowhere.example.com/", 0, "host nowhere.example.com does not resolve"},
		{"http in local mode", "http://example.com/", 0, "URL refused: " + msgHTTPSLocal},
		{"malformed", "https://user:pw@example.com/", 0, "URL refused: " + msgCredentials},
	}
	for _, tt := range tests {
		client := c
		if tt.name == "slow" {
			client = short
		}
		start := time.Now()
		a := send(t, client, tt.url, body)
		if a.Status != tt.status || a.Error != tt.err {
			t.Errorf("%s: attempt %+v, want {Status:%d Error:%q}", tt.name, a, tt.status, tt.err)
		}
		if d := time.Since(start); tt.name == "slow" && d > 5*time.Second {
			t.Errorf("%s: the attempt took %v, past its 200 ms timeout", tt.name, d)
		}
	}
	if n := targetConns.n.Load(); n != 0 {
		t.Errorf("the redirect's target got %d connections", n)
	}
}

// rebinder answers a public address to its first lookup, and then what
// later holds.
type rebinder struct {
	calls atomic.Int64
	later []string
}

func (r *rebinder) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	answer := []string{"93.184.215.14"}
	if r.calls.Add(1) > 1 {
		answer = r.later
	}
	return fakeResolver{host: answer}.LookupIPAddr(ctx, host)
}

func TestSendRefusesPrivateAtDelivery(t *testing.T) {
	srv, conns := receiver(t, func(w http.ResponseWriter, r *http.Request) {})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	url := "https://hooks.example.com:" + port + "/"
	for _, tt := range []struct {
		later []string
		err   string
	}{
		{[]string{"127.0.0.1"}, "address 127.0.0.1 of hooks.example.com is not public"},
		{[]string{"10.0.0.1"}, "address 10.0.0.1 of hooks.example.com is not public"},
		{[]string{"::ffff:127.0.0.1"}, "address 127.0.0.1 of hooks.example.com is not public"},
		{[]string{"fd00:ec2::254"}, "address fd00:ec2::254 of hooks.example.com is not public"},
		{[]string{"93.184.215.14", "127.0.0.1"}, "address 127.0.0.1 of hooks.example.com is not public"},
	} {
		for _, local := range []bool{false, true} {
			r := &rebinder{later: tt.later}
			p := Policy{AllowLocal: local, Resolver: r}
			if err := p.CheckURL(context.Background(), url); err != nil {
				t.Fatalf("CheckURL before the rebinding: %v", err)
			}
			c := NewClient(p, 0)
			a := send(t, c, url, []byte(`{}`))
			if a.Status != 0 || a.Error != tt.err {
				t.Errorf("local=%v resolving to %v: attempt %+v, want error %q", local, tt.later, a, tt.err)
			}
		}
	}
	// Literal loopback in Lambda mode is refused before any lookup.
	c := NewClient(Policy{Resolver: testResolver}, 0)
	lit := "https://" + srv.Listener.Addr().String() + "/"
	if a := send(t, c, lit, []byte(`{}`)); a.Error != "URL refused: "+msgPublic {
		t.Errorf("Lambda mode to %s: attempt %+v", lit, a)
	}
	if a := send(t, c, srv.URL, []byte(`{}`)); a.Error != "URL refused: "+msgHTTPS {
		t.Errorf("Lambda mode to %s: attempt %+v", srv.URL, a)
	}
	if n := conns.n.Load(); n != 0 {
		t.Errorf("the private receiver got %d connections", n)
	}
}

func TestSendTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			t.Errorf("request over %s, want HTTP/2", r.Proto)
		}
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	url := srv.URL + "/hooks" // https://127.0.0.1:PORT

	c := NewClient(localPolicy, 0)
	if a := send(t, c, url, []byte(`{}`)); a.Status != 0 || a.Error != "TLS certificate is signed by an unknown authority" {
		t.Errorf("untrusted certificate: attempt %+v", a)
	}
	c = NewClient(localPolicy, 0)
	c.http.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	if a := send(t, c, url, []byte(`{}`)); a.Status != 200 || a.Error != "" {
		t.Errorf("trusted certificate: attempt %+v", a)
	}
}
