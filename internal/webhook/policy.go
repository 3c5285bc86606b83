package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wallets/internal/apperr"
)

// MaxURLLength is the longest endpoint URL accepted, in bytes.
const MaxURLLength = 2048

// The messages of the url field's refusals.
const (
	msgInvalid     = "Enter a valid URL."
	msgTooLong     = "Ensure this URL has at most 2048 characters."
	msgHTTPS       = "Only https URLs are accepted."
	msgHTTPSLocal  = "Only https URLs are accepted, and http://127.0.0.1:PORT or http://localhost:PORT for local development."
	msgCredentials = "URLs must not contain credentials."
	msgFragment    = "URLs must not contain a fragment."
	msgPublic      = "URLs must resolve to public addresses."
	msgResolve     = "The URL's host name does not resolve."
)

// lookupTimeout bounds CheckURL's resolution of the host name.
const lookupTimeout = 5 * time.Second

// Resolver resolves host names; *net.Resolver is one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Policy says which endpoint URLs are accepted, and so which addresses a
// delivery may connect to. The zero Policy is the one for Lambda: https only,
// and only to public addresses.
type Policy struct {
	// AllowLocal additionally accepts http (or https) to the hosts
	// 127.0.0.1 and localhost, on any port, so that a developer running the
	// API locally can receive deliveries on their machine. No other
	// loopback or private address is accepted, and no name other than
	// localhost may resolve to loopback. Never set it in Lambda.
	AllowLocal bool
	// Resolver resolves host names, at creation and at every delivery;
	// nil is net.DefaultResolver.
	Resolver Resolver
}

func (p Policy) resolver() Resolver {
	if p.Resolver == nil {
		return net.DefaultResolver
	}
	return p.Resolver
}

// CheckURL checks an endpoint URL at creation: its form, then every address
// its host resolves to. Every refusal is an apperr.Field("url", …) error. A
// name that does not resolve is refused. Passing is no promise for later:
// deliveries check the addresses again (Client.Send), since DNS changes.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	u, err := p.parse(raw)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	ips, err := p.lookup(ctx, u.Hostname())
	if err != nil {
		return apperr.Field("url", msgResolve)
	}
	for _, ip := range ips {
		if err := p.checkAddr(u.Hostname(), ip); err != nil {
			return apperr.Field("url", msgPublic)
		}
	}
	return nil
}

// parse checks the form of raw, without resolving anything, and returns it
// parsed. Literal addresses are checked here; names are checked by lookup
// and checkAddr.
func (p Policy) parse(raw string) (*url.URL, error) {
	if len(raw) > MaxURLLength {
		return nil, apperr.Field("url", msgTooLong)
	}
	if raw == "" || strings.TrimSpace(raw) != raw {
		return nil, apperr.Field("url", msgInvalid)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return nil, apperr.Field("url", msgInvalid)
	}
	if u.User != nil {
		return nil, apperr.Field("url", msgCredentials)
	}
	if strings.Contains(raw, "#") {
		return nil, apperr.Field("url", msgFragment)
	}
	host := u.Hostname()
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, apperr.Field("url", msgInvalid)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, apperr.Field("url", msgInvalid)
	}
	local := p.AllowLocal && isLocalHost(host)
	switch u.Scheme {
	case "https":
	case "http":
		if !local {
			if p.AllowLocal {
				return nil, apperr.Field("url", msgHTTPSLocal)
			}
			return nil, apperr.Field("url", msgHTTPS)
		}
	default: // url.Parse lowercases the scheme: HTTPS://… is https
		if p.AllowLocal {
			return nil, apperr.Field("url", msgHTTPSLocal)
		}
		return nil, apperr.Field("url", msgHTTPS)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return nil, apperr.Field("url", msgInvalid)
		}
		if err := p.checkAddr(host, ip); err != nil {
			return nil, apperr.Field("url", msgPublic)
		}
		return u, nil
	}
	if strings.Contains(u.Host, "[") {
		return nil, apperr.Field("url", msgInvalid) // brackets around a non-IPv6
	}
	if !validHostname(host) {
		return nil, apperr.Field("url", msgInvalid)
	}
	if !local && isLocalName(host) {
		return nil, apperr.Field("url", msgPublic)
	}
	return u, nil
}

// isLocalHost reports whether host is one of those AllowLocal accepts.
func isLocalHost(host string) bool {
	return host == "127.0.0.1" || strings.EqualFold(host, "localhost")
}

// isLocalName reports whether host is localhost or a name under it (RFC 6761:
// they resolve to loopback).
func isLocalName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// validHostname reports whether host is an ASCII DNS name (internationalized
// names must be given in their xn-- form) that cannot be taken for an IPv4
// address: a resolver that accepts 2130706433, 0x7f.1 or 0177.0.0.1 as
// 127.0.0.1 is never asked to.
func validHostname(host string) bool {
	h := strings.TrimSuffix(host, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	last := strings.ToLower(labels[len(labels)-1])
	if strings.HasPrefix(last, "0x") {
		return false
	}
	if strings.Trim(last, "0123456789") == "" {
		return false
	}
	return true
}

// lookup returns the addresses host stands for: itself when it is a literal,
// loopback for localhost when AllowLocal, else the resolver's answer (an
// error when it has none).
func (p Policy) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	if p.AllowLocal && isLocalHost(host) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
	}
	addrs, err := p.resolver().LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	ips := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			return nil, fmt.Errorf("lookup %s: malformed address %v", host, a.IP)
		}
		// IPv4 answers come as 16 bytes: ::ffff:a.b.c.d is a.b.c.d.
		ips = append(ips, ip.Unmap().WithZone(a.Zone))
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return ips, nil
}

// errNotPublic is checkAddr's refusal.
var errNotPublic = errors.New("not a public address")

// checkAddr checks an address the URL host host stands for: it must be
// public, or loopback when host is a local host and AllowLocal is set.
func (p Policy) checkAddr(host string, ip netip.Addr) error {
	if p.AllowLocal && isLocalHost(host) && ip.Unmap().IsLoopback() && ip.Zone() == "" {
		return nil
	}
	if !IsPublic(ip) {
		return errNotPublic
	}
	return nil
}

// refusedV4 are the IPv4 ranges that are not public (IANA's special-purpose
// registry, and the clouds' metadata and platform addresses).
var refusedV4 = prefixes(
	"0.0.0.0/8",        // this network, and the unspecified address
	"10.0.0.0/8",       // private (RFC 1918)
	"100.64.0.0/10",    // shared address space, CGNAT (holds Alibaba's metadata 100.100.100.200)
	"127.0.0.0/8",      // loopback
	"169.254.0.0/16",   // link-local (holds the metadata 169.254.169.254, ECS's 169.254.170.2, the VPC DNS 169.254.169.253)
	"172.16.0.0/12",    // private
	"192.0.0.0/24",     // IETF protocol assignments (holds Oracle's 192.0.0.192)
	"192.0.2.0/24",     // documentation
	"192.88.99.0/24",   // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",   // private
	"198.18.0.0/15",    // benchmarking
	"198.51.100.0/24",  // documentation
	"203.0.113.0/24",   // documentation
	"224.0.0.0/4",      // multicast
	"240.0.0.0/4",      // reserved, and the broadcast 255.255.255.255
	"168.63.129.16/32", // Azure's platform address (wireserver)
)

// refusedV6 are the ranges inside global unicast 2000::/3 that are not
// public; every address outside 2000::/3 is refused (unspecified, loopback,
// IPv4-compatible and -translated, discard, ULA fc00::/7 with AWS's metadata
// fd00:ec2::254, link-local fe80::/10, site-local, multicast), except
// IPv4-mapped and NAT64 addresses, whose IPv4 address is checked instead.
var refusedV6 = prefixes(
	"2001::/23",     // IETF protocol assignments: Teredo, benchmarking, ORCHID…
	"2001:db8::/32", // documentation
	"2002::/16",     // 6to4: an IPv4 address in disguise
	"3fff::/20",     // documentation
	"5f00::/16",     // SRv6 SIDs
)

var (
	global6 = netip.MustParsePrefix("2000::/3")
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
)

func prefixes(s ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(s))
	for i, p := range s {
		ps[i] = netip.MustParsePrefix(p)
	}
	return ps
}

// IsPublic reports whether ip is a public unicast address a delivery may
// connect to. IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d)
// addresses are judged by the IPv4 address they carry; an address with a zone
// is never public.
func IsPublic(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return false
	}
	if ip.Is4In6() {
		ip = ip.Unmap()
	} else if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	if ip.Is4() {
		for _, p := range refusedV4 {
			if p.Contains(ip) {
				return false
			}
		}
		return true
	}
	if !global6.Contains(ip) {
		return false
	}
	for _, p := range refusedV6 {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
