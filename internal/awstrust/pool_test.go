package awstrust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned returns a CA certificate and a PEM file holding it.
func selfSigned(t *testing.T, name string) (*x509.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, file
}

func trusts(t *testing.T, cert *x509.Certificate) bool {
	t.Helper()
	p, err := Pool()
	if err != nil {
		t.Fatal(err)
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: p})
	return err == nil
}

// Pool trusts Amazon's roots and, while AWS_CA_BUNDLE names a file, its
// certificates too (rebuilt when the variable changes); a bundle that
// cannot be read or holds no certificate is an error naming the variable.
func TestPool(t *testing.T) {
	proxyCA, bundle := selfSigned(t, "inspecting-proxy")
	otherCA, otherBundle := selfSigned(t, "other")

	t.Setenv(BundleEnv, "")
	if trusts(t, proxyCA) {
		t.Error("without a bundle a self-signed CA is trusted")
	}
	t.Setenv(BundleEnv, bundle)
	if !trusts(t, proxyCA) {
		t.Error("the bundle's CA is not trusted")
	}
	t.Setenv(BundleEnv, otherBundle)
	if trusts(t, proxyCA) || !trusts(t, otherCA) {
		t.Error("a changed AWS_CA_BUNDLE is not what the pool trusts")
	}
	// Amazon's roots stay in beside the bundle's.
	block, _ := pem.Decode(amazonRoots)
	amazonRoot, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !trusts(t, amazonRoot) {
		t.Errorf("with a bundle, %s is not trusted", amazonRoot.Subject)
	}

	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("no certificate here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{filepath.Join(t.TempDir(), "missing.pem"), empty} {
		t.Setenv(BundleEnv, bad)
		if _, err := Pool(); err == nil || !strings.Contains(err.Error(), BundleEnv) {
			t.Errorf("bundle %s: err %v, want one naming %s", bad, err, BundleEnv)
		}
	}
}
