package cold

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wallets/internal/secretstest"
)

// pki is a throwaway certificate authority and one certificate it signed
// for localhost (and 127.0.0.1), used by the stand-ins of AWS endpoints, so
// that the functions verify TLS as they do in AWS.
type pki struct {
	// CA is the CA's certificate (PEM): the functions get it as
	// AWS_CA_BUNDLE, which adds it to the roots AWS endpoints are verified
	// against (package awstrust).
	CA string
	// Bundle is the system's trust store with the CA appended: the
	// functions get it as SSL_CERT_FILE, so that whatever verifies against
	// the system's store still loads all of it, and trusts the stand-ins.
	Bundle string
	// Cert is the localhost certificate and its key.
	Cert tls.Certificate
}

// systemBundles are where Go looks for the system's roots on Linux (the
// first found is used).
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt", // Debian
	"/etc/pki/tls/certs/ca-bundle.crt",   // Amazon Linux, Fedora
	"/etc/ssl/ca-bundle.pem",             // openSUSE
	"/etc/ssl/cert.pem",                  // Alpine
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wallets bench-cold CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})

	var bundle []byte
	for _, f := range systemBundles {
		if b, err := os.ReadFile(f); err == nil {
			bundle = append(b, '\n')
			break
		}
	}
	if bundle == nil {
		t.Logf("no system trust store found (%s): the functions load the bench CA alone", strings.Join(systemBundles, ", "))
	}
	p := &pki{CA: filepath.Join(dir, "ca.pem"), Bundle: filepath.Join(dir, "bundle.pem")}
	for path, b := range map[string][]byte{p.CA: caPEM, p.Bundle: append(bundle, caPEM...)} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if p.Cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return p
}

// newSecretsStandIn starts the Secrets Manager stand-in (package
// secretstest) over HTTPS with the localhost certificate, so that the
// functions verify it against AWS_CA_BUNDLE as they verify AWS's. Seed it
// with Put; a version stage it does not have (AWSPREVIOUS: the secrets were
// never rotated) answers ResourceNotFoundException, as AWS does.
func newSecretsStandIn(t testing.TB, p *pki) *secretstest.Server {
	t.Helper()
	s := secretstest.NewTLSServer(&tls.Config{Certificates: []tls.Certificate{p.Cert}})
	t.Cleanup(s.Close)
	s.URL = strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
	return s
}

// sentryStandIn accepts whatever a Sentry client posts (nothing, when all
// goes well) and counts the posts.
func newSentryStandIn(t testing.TB) (dsn string, posts *atomic.Int64) {
	t.Helper()
	posts = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "http://", "http://public@", 1) + "/1", posts
}
