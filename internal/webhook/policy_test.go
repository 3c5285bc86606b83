package webhook

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"wallets/internal/apperr"
)

// fakeResolver answers from a map, as DNS does (case-insensitive, trailing
// dot or not); a missing name does not resolve.
type fakeResolver map[string][]string

func (r fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := r[strings.ToLower(strings.TrimSuffix(host, "."))]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

var testResolver = fakeResolver{
	"example.com":         {"93.184.215.14"},
	"v6.example.com":      {"2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
	"private.example.com": {"10.0.0.1"},
	"mixed.example.com":   {"93.184.215.14", "10.0.0.1"},
	"meta.example.com":    {"169.254.169.254"},
	"loop.example.com":    {"127.0.0.1"},
	"mapped.example.com":  {"::ffff:10.0.0.1"},
	"empty.example.com":   {},
	"localhost":           {"127.0.0.1"}, // never asked: localhost is refused, or pinned to loopback, before resolving
}

// urlMessage returns the url field's message of err, "" for nil, and fails
// the test on any other error.
func urlMessage(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Invalid || len(e.Fields) != 1 || len(e.Fields["url"]) != 1 {
		t.Fatalf("error %v is not one apperr.Field(\"url\", …)", err)
	}
	return e.Fields["url"][0]
}

func TestCheckURL(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", MaxURLLength-len("https://example.com/"))
	tests := []struct {
		url   string
		local bool   // AllowLocal
		want  string // the message, "" when accepted
	}{
		// Accepted.
		{"https://example.com/hooks", false, ""},
		{"https://example.com:8443/hooks?x=1", false, ""},
		{"https://EXAMPLE.com/", false, ""},
		{"HTTPS://example.com/", false, ""},
		{"https://example.com./", false, ""},
		{"https://v6.example.com/", false, ""},
		{"https://93.184.215.14/", false, ""},
		{"https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/", false, ""},
		{"https://[64:ff9b::93.184.215.14]/", false, ""}, // NAT64 of a public address
		{long, false, ""},
		{"https://example.com/", true, ""},

		// Scheme.
		{"http://example.com/", false, msgHTTPS},
		{"ftp://example.com/", false, msgHTTPS},
		{"http://example.com/", true, msgHTTPSLocal},
		{"http://127.0.0.1:8080/", false, msgHTTPS},
		{"http://localhost:8080/", false, msgHTTPS},

		// Not public, literally.
		{"https://127.0.0.1/", false, msgPublic},
		{"https://127.1.2.3/", false, msgPublic},
		{"https://localhost/", false, msgPublic},
		{"https://LocalHost./", false, msgPublic},
		{"https://app.localhost/", false, msgPublic},
		{"https://[::1]/", false, msgPublic},
		{"https://10.1.2.3/", false, msgPublic},
		{"https://172.16.0.1/", false, msgPublic},
		{"https://172.31.255.255/", false, msgPublic},
		{"https://192.168.1.1/", false, msgPublic},
		{"https://169.254.169.254/latest/meta-data/", false, msgPublic},
		{"https://169.254.170.2/", false, msgPublic},
		{"https://[fd00:ec2::254]/", false, msgPublic},
		{"https://[fc00::1]/", false, msgPublic},
		{"https://[fe80::1]/", false, msgPublic},
		{"https://100.100.100.200/", false, msgPublic},
		{"https://100.64.0.1/", false, msgPublic},
		{"https://168.63.129.16/", false, msgPublic},
		{"https://0.0.0.0/", false, msgPublic},
		{"https://[::]/", false, msgPublic},
		{"https://224.0.0.1/", false, msgPublic},
		{"https://[ff02::1]/", false, msgPublic},
		{"https://255.255.255.255/", false, msgPublic},
		{"https://192.0.2.1/", false, msgPublic},
		{"https://[::ffff:10.0.0.1]/", false, msgPublic},
		{"https://[::ffff:127.0.0.1]/", false, msgPublic},
		{"https://[::ffff:169.254.169.254]/", false, msgPublic},
		{"https://[::10.0.0.1]/", false, msgPublic},          // IPv4-compatible
		{"https://[64:ff9b::10.0.0.1]/", false, msgPublic},   // NAT64 of a private address
		{"https://[2002:a00:1::]/", false, msgPublic},        // 6to4 of 10.0.0.1
		{"https://[2001:db8::1]/", false, msgPublic},         // documentation
		{"https://[2001:0:4136:e378::1]/", false, msgPublic}, // Teredo

		// Not public, by name.
		{"https://private.example.com/", false, msgPublic},
		{"https://mixed.example.com/", false, msgPublic},
		{"https://meta.example.com/", false, msgPublic},
		{"https://loop.example.com/", false, msgPublic},
		{"https://mapped.example.com/", false, msgPublic},
		{"https://nowhere.example.com/", false, msgResolve},
		{"https://empty.example.com/", false, msgResolve},

		// Form.
		{"https://user:pass@example.com/", false, msgCredentials},
		{"https://user@example.com/", false, msgCredentials},
		{"https://example.com/#top", false, msgFragment},
		{"https://example.com/#", false, msgFragment},
		{long + "a", false, msgTooLong},
		{"", false, msgInvalid},
		{"not a url", false, msgInvalid},
		{"example.com", false, msgInvalid},
		{"//example.com/", false, msgInvalid},
		{"https://", false, msgInvalid},
		{"https:///path", false, msgInvalid},
		{"https:example.com", false, msgInvalid},
		{" https://example.com/", false, msgInvalid},
		{"https://example.com/\n", false, msgInvalid},
		{"https://exa mple.com/", false, msgInvalid},
		{"https://example.com:0/", false, msgInvalid},
		{"https://example.com:65536/", false, msgInvalid},
		{"https://example.com:/", false, msgInvalid},
		{"https://[fe80::1%25eth0]/", false, msgInvalid},
		{"https://2130706433/", false, msgInvalid}, // 127.0.0.1 to some resolvers
		{"https://0x7f.1/", false, msgInvalid},
		{"https://0177.0.0.1/", false, msgInvalid},
		{"https://bücher.example/", false, msgInvalid},
		{"https://-bad.example.com/", false, msgInvalid},
		{"https://a..example.com/", false, msgInvalid},

		// Local development.
		{"http://127.0.0.1:8080/hooks", true, ""},
		{"http://localhost:8080/hooks", true, ""},
		{"http://LOCALHOST:9000/", true, ""},
		{"http://127.0.0.1/", true, ""},
		{"https://localhost:8443/", true, ""},
		{"http://10.0.0.1/", true, msgHTTPSLocal},
		{"https://10.0.0.1/", true, msgPublic},
		{"http://169.254.169.254/", true, msgHTTPSLocal},
		{"https://169.254.169.254/", true, msgPublic},
		{"http://127.0.0.2:8080/", true, msgHTTPSLocal},
		{"https://127.0.0.2:8080/", true, msgPublic},
		{"https://[::1]:8080/", true, msgPublic},
		{"http://app.localhost:8080/", true, msgHTTPSLocal},
		{"https://loop.example.com/", true, msgPublic}, // only localhost itself may be loopback
		{"http://user:pass@localhost:8080/", true, msgCredentials},
	}
	for _, tt := range tests {
		p := Policy{AllowLocal: tt.local, Resolver: testResolver}
		got := urlMessage(t, p.CheckURL(context.Background(), tt.url))
		if got != tt.want {
			name := tt.url
			if len(name) > 60 {
				name = name[:60] + "…"
			}
			t.Errorf("local=%v CheckURL(%q) = %q, want %q", tt.local, name, got, tt.want)
		}
	}
}

func TestIsPublic(t *testing.T) {
	for _, tt := range []struct {
		ip   string
		want bool
	}{
		{"93.184.215.14", true},
		{"8.8.8.8", true},
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"172.15.255.255", true},
		{"172.32.0.0", true},
		{"2606:4700::1111", true},
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::8.8.8.8", true},
		{"10.0.0.1", false},
		{"100.64.0.0", false},
		{"100.127.255.255", false},
		{"198.18.0.1", false},
		{"240.0.0.1", false},
		{"::", false},
		{"::1", false},
		{"::ffff:0.0.0.0", false},
		{"64:ff9b:1::1", false},
		{"100::1", false},
		{"fec0::1", false},
		{"fd00:ec2::254", false},
		{"fd00:ec2::23", false},
		{"fe80::1%eth0", false},
		{"2606:4700::1111%eth0", false},
	} {
		if got := IsPublic(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("IsPublic(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	if IsPublic(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}
