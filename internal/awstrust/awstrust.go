// Package awstrust is the trust store of the service's connections to AWS
// endpoints, Secrets Manager and RDS Proxy: the roots of Amazon Trust
// Services, which issue the certificates of both (RDS Proxy's come from
// ACM), compiled in, plus, when AWS_CA_BUNDLE names a PEM file (the AWS
// SDK's variable for a custom bundle: a TLS-inspecting proxy's CA, a
// test's), the certificates in it.
//
// Not the system's store: Go parses all of it, some 140 roots (more than
// once over where the bundle file is also in one of the certificate
// directories Go reads, as on Debian), at a process's first TLS handshake.
// That was the largest part of a Lambda cold start: 5 ms for the bundle
// alone, 20 ms for Debian's whole store, on the machine of make bench-cold;
// parsing these five takes about 0.1 ms.
//
// The roots are amazon-roots.pem: Amazon Root CA 1 to 4 and Starfield
// Services Root Certificate Authority - G2 (which cross-signs Amazon Root CA
// 1), as https://www.amazontrust.com/repository/ publishes them, each with
// its SHA-256 fingerprint. They expire in 2037-2040.
package awstrust

import (
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sync"
)

//go:embed amazon-roots.pem
var amazonRoots []byte

// BundleEnv names the variable that adds a PEM bundle to the roots.
const BundleEnv = "AWS_CA_BUNDLE"

var amazon = sync.OnceValues(func() (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(amazonRoots) {
		return nil, errors.New("awstrust: no certificate in amazon-roots.pem")
	}
	return p, nil
})

// Amazon returns a new pool of Amazon Trust Services' roots alone.
func Amazon() (*x509.CertPool, error) {
	p, err := amazon()
	if err != nil {
		return nil, err
	}
	return p.Clone(), nil
}

var pool struct {
	sync.Mutex
	built  bool
	bundle string // the AWS_CA_BUNDLE it was built with
	roots  *x509.CertPool
	err    error
}

// Pool returns the roots that AWS endpoints are verified against: Amazon
// Trust Services', and those of the AWS_CA_BUNDLE file when it is set. It
// reads the file once per process (once per value of AWS_CA_BUNDLE: tests
// change it), for the Secrets Manager client and RDS Proxy connections
// alike; the pool must not be modified.
func Pool() (*x509.CertPool, error) {
	bundle := os.Getenv(BundleEnv)
	pool.Lock()
	defer pool.Unlock()
	if !pool.built || pool.bundle != bundle {
		pool.roots, pool.err = load(bundle)
		pool.built, pool.bundle = true, bundle
	}
	return pool.roots, pool.err
}

// load returns Amazon's roots and those of the PEM file at bundle, if any.
func load(bundle string) (*x509.CertPool, error) {
	p, err := Amazon()
	if err != nil || bundle == "" {
		return p, err
	}
	b, err := os.ReadFile(bundle)
	if err != nil {
		return nil, fmt.Errorf("awstrust: %s: %w", BundleEnv, err)
	}
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("awstrust: %s: no certificate in %s", BundleEnv, bundle)
	}
	return p, nil
}
