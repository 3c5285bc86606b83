package postgres

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/apperr"
)

// withFallback makes the pool behind cfg connect to the servers of
// opts.Fallback when its own are unreachable, slow to connect
// (ConnectTimeout) or do not answer a probe (SELECT 1) within
// opts.ProbeTimeout — RDS Proxy's read-only endpoint during a reader
// failover holds a query until its borrow timeout (5 s) instead of failing
// it. It also closes, so that the pool drops it on release, every
// connection on which a statement failed as unavailable: a connection to a
// reader that went away is replaced by a new one (which the probe sends to
// the fallback) instead of failing every request it serves.
//
// pgconn tries the configured hosts in order, then the fallbacks; the
// password is per server (a fresh IAM token for the host dialled, with
// sign, when IAM authentication is on), set once the network connection is
// up and its host known.
func withFallback(cfg *pgxpool.Config, opts PoolOptions, sign signer) error {
	fb, err := pgconn.ParseConfig(opts.Fallback)
	if err != nil {
		return fmt.Errorf("parse fallback database url: %w", err)
	}
	cc := cfg.ConnConfig
	passwords := addFallbacks(&cc.Config, fb)
	rememberHosts(&cc.Config)
	authenticateByHost(&cc.Config, passwords, sign)
	probe := opts.ProbeTimeout
	if probe <= 0 {
		probe = time.Second
	}
	probeOnConnect(&cc.Config, probe)

	// Drop connections on which a statement failed as unavailable: the
	// tracer closes them, and the pool destroys a closed connection on
	// release. (Not in an AfterRelease hook: with one, pgxpool gives every
	// connection back in a goroutine, so a request's next query — a
	// listing's page after its count — found none idle and dialled another.)
	cc.Tracer = unavailableTracer{next: cc.Tracer}
	return nil
}

// addFallbacks appends fb's hosts to cc's fallbacks, and returns each
// host's password (the one of the URL that named it).
func addFallbacks(cc *pgconn.Config, fb *pgconn.Config) map[string]string {
	passwords := map[string]string{cc.Host: cc.Password, fb.Host: fb.Password}
	for _, f := range cc.Fallbacks {
		passwords[f.Host] = cc.Password
	}
	cc.Fallbacks = append(cc.Fallbacks, &pgconn.FallbackConfig{Host: fb.Host, Port: fb.Port, TLSConfig: fb.TLSConfig})
	for _, f := range fb.Fallbacks {
		passwords[f.Host] = fb.Password
		cc.Fallbacks = append(cc.Fallbacks, f)
	}
	return passwords
}

// rememberHosts wraps each connection cc dials in a hostConn naming the
// host it was dialled for: pgconn resolves host names before dialling, so
// the lookup remembers each address's host.
func rememberHosts(cc *pgconn.Config) {
	var hosts sync.Map // ip → host
	lookup := cc.LookupFunc
	cc.LookupFunc = func(ctx context.Context, host string) ([]string, error) {
		addrs, err := lookup(ctx, host)
		for _, a := range addrs {
			hosts.Store(a, host)
		}
		return addrs, err
	}
	dial := cc.DialFunc
	cc.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		host := filepath.Dir(addr) // a unix socket's directory is its host
		if network != "unix" {
			ip, _, _ := net.SplitHostPort(addr)
			h, ok := hosts.Load(ip)
			if !ok {
				h = ip
			}
			host = h.(string)
		}
		return &hostConn{Conn: conn, host: host}, nil
	}
}

// authenticateByHost sets the password of each connection, once dialled,
// to its host's: an IAM token signed for that host and port (sign), else
// the password its URL gave.
func authenticateByHost(cc *pgconn.Config, passwords map[string]string, sign signer) {
	afterNet := cc.AfterNetConnect
	cc.AfterNetConnect = func(ctx context.Context, config *pgconn.Config, conn net.Conn) (net.Conn, error) {
		if afterNet != nil {
			var err error
			if conn, err = afterNet(ctx, config, conn); err != nil {
				return nil, err
			}
		}
		inner := conn
		if t, ok := inner.(*tls.Conn); ok {
			inner = t.NetConn()
		}
		h, ok := inner.(*hostConn)
		if !ok {
			return conn, nil
		}
		if sign != nil {
			port := config.Port
			for _, f := range config.Fallbacks {
				if f.Host == h.host {
					port = f.Port
				}
			}
			token, err := sign(ctx, h.host, port, config.User)
			if err != nil {
				return nil, err
			}
			config.Password = token
		} else if p, ok := passwords[h.host]; ok {
			config.Password = p
		}
		return conn, nil
	}
}

// probeOnConnect makes each new connection answer SELECT 1 within timeout
// before the pool takes it, so a server that accepts connections but does
// not answer is passed over for the next host.
func probeOnConnect(cc *pgconn.Config, timeout time.Duration) {
	validate := cc.ValidateConnect
	cc.ValidateConnect = func(ctx context.Context, pc *pgconn.PgConn) error {
		if validate != nil {
			if err := validate(ctx, pc); err != nil {
				return err
			}
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if _, err := pc.Exec(pctx, "SELECT 1").ReadAll(); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		return nil
	}
}

// hostConn remembers which host a network connection was dialled for.
type hostConn struct {
	net.Conn
	host string
}

// unavailableTracer closes the connection of a statement that failed
// because the database was unavailable.
type unavailableTracer struct {
	next pgx.QueryTracer
}

func (t unavailableTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if t.next != nil {
		return t.next.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

func (t unavailableTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if t.next != nil {
		t.next.TraceQueryEnd(ctx, conn, data)
	}
	if data.Err != nil && errors.Is(classify(data.Err), apperr.ErrUnavailable) {
		// The statement is over (its result read): nothing else uses the
		// connection until it is released.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Close(cctx)
		cancel()
	}
}
