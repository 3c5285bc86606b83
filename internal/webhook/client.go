package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"wallets/internal/apperr"
	"wallets/internal/event"
)

// DefaultTimeout bounds one attempt when NewClient is given no timeout.
const DefaultTimeout = 10 * time.Second

// maxDrain is how much of an answer's body is read (then the connection is
// kept for reuse); the rest is dropped with the connection.
const maxDrain = 64 << 10

// Client sends deliveries under a Policy. It is safe for concurrent use and
// keeps connections alive between deliveries to the same host (each one
// dialed to an address checked when it was dialed).
type Client struct {
	policy  Policy
	timeout time.Duration
	http    *http.Client
	now     func() time.Time
}

// NewClient returns a client that checks every address it connects to
// against p and bounds each attempt (lookup, connection, TLS, request, the
// answer's status and headers) by timeout (≤ 0: DefaultTimeout).
func NewClient(p Policy, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{policy: p, timeout: timeout, now: time.Now}
	tr := &http.Transport{
		Proxy:                  nil, // never through a proxy: the address checked is the one connected to
		DialContext:            c.dial,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    timeout,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxDrain,
	}
	c.http = &http.Client{
		Transport: tr,
		// A redirect is answered as it is, a failed attempt: following
		// one would reach a URL that was never checked.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

// CloseIdleConnections closes the connections kept alive.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// refusedError is the dial's refusal of an address the policy refuses.
type refusedError struct {
	host string
	ip   netip.Addr
}

func (e *refusedError) Error() string {
	if e.host == e.ip.String() {
		return fmt.Sprintf("address %s is not public", e.ip)
	}
	return fmt.Sprintf("address %s of %s is not public", e.ip, e.host)
}

// lookupError is the dial's failure to resolve the host.
type lookupError struct {
	host string
	err  error
}

func (e *lookupError) Error() string {
	var dnsErr *net.DNSError
	if errors.As(e.err, &dnsErr) && dnsErr.IsNotFound {
		return fmt.Sprintf("host %s does not resolve", e.host)
	}
	return fmt.Sprintf("lookup of %s failed", e.host)
}

func (e *lookupError) Unwrap() error { return e.err }

// dial resolves addr's host with the policy's resolver, checks every address
// it resolves to (one refused address refuses them all), then connects only
// to a checked address, trying each in turn: the address connected to is
// the one checked, whatever the DNS answers next.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := c.policy.lookup(ctx, host)
	if err != nil {
		return nil, &lookupError{host: host, err: err}
	}
	for _, ip := range ips {
		if err := c.policy.checkAddr(host, ip); err != nil {
			return nil, &refusedError{host: host, ip: ip}
		}
	}
	d := net.Dialer{
		// Belt and braces: the address the socket connects to is
		// checked once more.
		ControlContext: func(_ context.Context, _, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if err := c.policy.checkAddr(host, ap.Addr()); err != nil {
				return &refusedError{host: host, ip: ap.Addr()}
			}
			return nil
		},
	}
	var first error
	for i, ip := range ips {
		conn, err := dialOne(ctx, &d, network, net.JoinHostPort(ip.String(), port), len(ips)-i)
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// dialOne dials address with its share of ctx's remaining time when left
// addresses remain to try (at least 2 s of it), as net.Dialer does, so that
// one black-holed address does not take the whole attempt.
func dialOne(ctx context.Context, d *net.Dialer, network, address string, left int) (net.Conn, error) {
	if dl, ok := ctx.Deadline(); ok && left > 1 {
		share := max(time.Until(dl)/time.Duration(left), 2*time.Second)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, share)
		defer cancel()
	}
	return d.DialContext(ctx, network, address)
}

// Send makes one attempt to deliver body, the event eventID's JSON, to url:
// a POST signed with secret at the current time, bounded by the client's
// timeout, through no proxy, following no redirect, connecting only to
// addresses the policy accepts (checked at this very connection). The
// answer's body is read up to 64 KiB and dropped. The Attempt's Status is
// the answer's (0 when none came) and its Error, "" when delivered, says in
// a sentence for the operator why not; it never holds the secret.
func (c *Client) Send(ctx context.Context, url, secret, eventID string, body []byte) event.Attempt {
	if _, err := c.policy.parse(url); err != nil {
		msg := err.Error()
		if e, ok := apperr.As(err); ok && len(e.Fields["url"]) > 0 {
			msg = e.Fields["url"][0]
		}
		return event.Attempt{Error: "URL refused: " + msg}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return event.Attempt{Error: "URL refused: " + msgInvalid}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderEventID, eventID)
	req.Header.Set(HeaderSignature, Sign(secret, c.now(), body))

	resp, err := c.http.Do(req)
	if err != nil {
		return event.Attempt{Error: c.describe(parent, ctx, err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	a := event.Attempt{Status: resp.StatusCode}
	switch {
	case a.Delivered():
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = fmt.Sprintf("answered %s: redirects are not followed", status(resp.StatusCode))
	default:
		a.Error = fmt.Sprintf("answered %s", status(resp.StatusCode))
	}
	return a
}

// status names an HTTP status by its code and standard text (not the
// receiver's reason phrase, which may be anything).
func status(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

// describe says why a request failed, in a short sentence.
func (c *Client) describe(parent, ctx context.Context, err error) string {
	var refused *refusedError
	var lookup *lookupError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var unknownCA x509.UnknownAuthorityError
	var invalidCert x509.CertificateInvalidError
	var opErr *net.OpError
	switch {
	case errors.As(err, &refused):
		return refused.Error()
	case parent.Err() != nil:
		return "canceled before an answer came"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("timed out after %s", c.timeout)
	case errors.As(err, &lookup):
		return lookup.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		if errors.As(err, &opErr) && opErr.Addr != nil {
			return fmt.Sprintf("connection refused by %s", opErr.Addr)
		}
		return "connection refused"
	case errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Timeout():
		return fmt.Sprintf("connecting to %s timed out", opErr.Addr)
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the receiver"
	case errors.As(err, &hostErr):
		return "TLS certificate is not valid for the host"
	case errors.As(err, &unknownCA):
		return "TLS certificate is signed by an unknown authority"
	case errors.As(err, &invalidCert):
		return "TLS certificate is invalid or expired"
	case errors.As(err, &certErr):
		return "TLS certificate verification failed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer came"
	case errors.As(err, &opErr):
		return fmt.Sprintf("network error: %s %v", opErr.Op, opErr.Err)
	}
	msg := err.Error()
	var uerr interface{ Unwrap() error }
	if errors.As(err, &uerr) && uerr.Unwrap() != nil {
		msg = uerr.Unwrap().Error()
	}
	if len(msg) > 160 {
		msg = msg[:160]
	}
	return "request failed: " + msg
}
