package cold

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// proxy stands in for RDS Proxy in front of the PostgreSQL server at
// upstream (host:port), for what a function's connection costs:
//
//   - it terminates TLS, with the bench certificate: the client sends
//     PostgreSQL's SSLRequest, is answered 'S' and shakes hands (plain
//     connections are refused, as RDS Proxy refuses them when TLS is
//     required);
//   - like RDS Proxy, it keeps its server connections and lends them to new
//     client connections: a client whose startup parameters match an idle
//     server connection's gets it (the one that served most clients, so the
//     warmest), with the server's answer to that startup replayed
//     (authentication, parameters, key data, ready); otherwise the proxy
//     opens one. A client's Terminate does not reach the server; a server
//     connection goes back to the pool when its client leaves with no
//     request pending and no transaction open.
//
// So a function's connection costs it what it costs through RDS Proxy on
// its side (TCP, a TLS handshake it verifies, the startup round trip), and
// the server side stays warm as the proxy's is: no PostgreSQL backend is
// forked per connection, and its caches are not empty. (PostgreSQL's own
// TLS, OpenSSL 3 in a new backend, and a new backend's first statements cost
// this machine several milliseconds of CPU per connection that RDS Proxy
// does not spend on the function's host.) What the stand-in does not do:
// check the IAM token (the server trusts every local connection) and cross a
// network.
type proxy struct {
	// Port is the loopback port it listens on.
	Port     int
	upstream string
	tls      *tls.Config

	mu      sync.Mutex
	idle    map[string][]*serverConn // by the client's startup message
	clients int                      // connected
	left    *sync.Cond               // signalled when a client leaves
}

// serverConn is a connection to PostgreSQL, the server's answer to its
// startup, and how many clients it served.
type serverConn struct {
	net.Conn
	hello []byte
	uses  int
}

// newProxy starts a proxy on a free loopback port.
func newProxy(t testing.TB, p *pki, upstream string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &proxy{
		upstream: upstream,
		tls:      &tls.Config{Certificates: []tls.Certificate{p.Cert}, MinVersion: tls.VersionTLS12},
		idle:     map[string][]*serverConn{},
	}
	px.left = sync.NewCond(&px.mu)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		px.mu.Lock()
		for _, conns := range px.idle {
			for _, c := range conns {
				c.Close()
			}
		}
		px.idle = map[string][]*serverConn{}
		px.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { px.serve(c) })
		}
	})
	px.Port = l.Addr().(*net.TCPAddr).Port
	return px
}

// waitIdle waits up to timeout until no client is connected (a stopped
// function's connections are given back), so that the next function finds
// the server connections idle.
func (px *proxy) waitIdle(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, func() {
		px.mu.Lock()
		px.left.Broadcast()
		px.mu.Unlock()
	})
	defer stop.Stop()
	px.mu.Lock()
	defer px.mu.Unlock()
	for px.clients > 0 && time.Now().Before(deadline) {
		px.left.Wait()
	}
	return px.clients == 0
}

// sslRequest is PostgreSQL's SSLRequest: length 8, code 80877103.
var sslRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

func (px *proxy) serve(c net.Conn) {
	px.mu.Lock()
	px.clients++
	px.mu.Unlock()
	defer func() {
		px.mu.Lock()
		px.clients--
		px.left.Broadcast()
		px.mu.Unlock()
	}()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var req [8]byte
	if _, err := io.ReadFull(c, req[:]); err != nil || !bytes.Equal(req[:], sslRequest) {
		return
	}
	if _, err := c.Write([]byte{'S'}); err != nil {
		return
	}
	client := tls.Server(c, px.tls)
	if err := client.Handshake(); err != nil {
		return
	}
	startup, err := readStartup(client)
	if err != nil {
		return
	}
	server, err := px.borrow(startup)
	if err != nil {
		return
	}
	if _, err := client.Write(server.hello); err != nil {
		server.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	if px.relay(client, server) {
		px.giveBack(startup, server)
	} else {
		server.Close()
	}
}

// readStartup reads a StartupMessage (length, protocol, parameters).
func readStartup(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size < 8 || size > 10000 {
		return nil, errors.New("bad startup message")
	}
	msg := make([]byte, size)
	copy(msg, n[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}

// borrow returns an idle server connection opened with startup, or opens
// one and records the server's answer up to its first ReadyForQuery.
func (px *proxy) borrow(startup []byte) (*serverConn, error) {
	px.mu.Lock()
	if conns := px.idle[string(startup)]; len(conns) > 0 {
		best := 0
		for i, c := range conns {
			if c.uses > conns[best].uses {
				best = i
			}
		}
		s := conns[best]
		px.idle[string(startup)] = append(conns[:best], conns[best+1:]...)
		s.uses++
		px.mu.Unlock()
		return s, nil
	}
	px.mu.Unlock()
	conn, err := net.Dial("tcp", px.upstream)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(startup); err != nil {
		conn.Close()
		return nil, err
	}
	var hello bytes.Buffer
	for {
		typ, msg, err := readMessage(conn)
		if err != nil {
			conn.Close()
			return nil, err
		}
		hello.Write(msg)
		switch typ {
		case 'E':
			conn.Close()
			return nil, errors.New("startup refused")
		case 'Z':
			return &serverConn{Conn: conn, hello: hello.Bytes(), uses: 1}, nil
		}
	}
}

func (px *proxy) giveBack(startup []byte, s *serverConn) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.idle[string(startup)] = append(px.idle[string(startup)], s)
}

// readMessage reads one message of the protocol after the startup: its
// type, and the whole of it (type, length, body).
func readMessage(r io.Reader) (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(head[1:])
	if size < 4 || size > 1<<30 {
		return 0, nil, errors.New("bad message length")
	}
	msg := make([]byte, 1+size)
	copy(msg, head[:])
	_, err := io.ReadFull(r, msg[5:])
	return head[0], msg, err
}

// relay passes messages both ways until the client leaves, and reports
// whether the server connection can serve another client: nothing pending,
// no transaction open.
func (px *proxy) relay(client net.Conn, server *serverConn) bool {
	var (
		mu      sync.Mutex
		pending bool // a Sync or Query not yet answered with ReadyForQuery
		status  byte = 'I'
		broken  bool
	)
	serverDone := make(chan struct{})
	go func() {
		defer close(serverDone)
		for {
			typ, msg, err := readMessage(server)
			if err != nil {
				mu.Lock()
				if !isTimeout(err) {
					broken = true
				}
				mu.Unlock()
				return
			}
			mu.Lock()
			if typ == 'Z' && len(msg) == 6 {
				pending, status = false, msg[5]
			}
			mu.Unlock()
			if _, err := client.Write(msg); err != nil {
				return
			}
		}
	}()
	for {
		// A client leaves with a Terminate, or (a function's process killed)
		// with its connection closed; messages reach the server whole.
		typ, msg, err := readMessage(client)
		if err != nil || typ == 'X' {
			break
		}
		mu.Lock()
		if typ == 'S' || typ == 'Q' {
			pending = true
		}
		mu.Unlock()
		if _, err := server.Write(msg); err != nil {
			mu.Lock()
			broken = true
			mu.Unlock()
			break
		}
	}
	// Stop the server reader without losing a byte: nothing should come
	// when nothing is pending.
	_ = server.SetReadDeadline(time.Now())
	<-serverDone
	_ = server.SetReadDeadline(time.Time{})
	mu.Lock()
	defer mu.Unlock()
	return !broken && !pending && status == 'I'
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
