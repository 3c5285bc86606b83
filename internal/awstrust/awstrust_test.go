package awstrust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"
)

// amazon-roots.pem holds exactly the roots its comments name, with the
// fingerprints they give.
func TestAmazonRoots(t *testing.T) {
	want := map[string]bool{
		"Amazon Root CA 1": true, "Amazon Root CA 2": true, "Amazon Root CA 3": true, "Amazon Root CA 4": true,
		"Starfield Services Root Certificate Authority - G2": true,
	}
	rest := amazonRoots
	var fingerprints []string
	for _, line := range strings.Split(string(amazonRoots), "\n") {
		if f, ok := strings.CutPrefix(line, "# SHA-256 "); ok {
			fingerprints = append(fingerprints, strings.ToLower(strings.ReplaceAll(f, ":", "")))
		}
	}
	for i := 0; ; i++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !want[c.Subject.CommonName] || !c.IsCA {
			t.Errorf("unexpected certificate %q", c.Subject)
		}
		delete(want, c.Subject.CommonName)
		sum := sha256.Sum256(c.Raw)
		if i >= len(fingerprints) || fingerprints[i] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: fingerprint %x does not match its comment", c.Subject.CommonName, sum)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing %v", want)
	}
	if _, err := Amazon(); err != nil {
		t.Fatal(err)
	}
}
