package passhash

import (
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	var a Argon2id
	h, err := a.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q is not argon2id", h)
	}
	h2, _ := a.Hash("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if ok, err := a.Verify("correct horse battery", h); !ok || err != nil {
		t.Errorf("Verify(right) = %v, %v", ok, err)
	}
	if ok, err := a.Verify("wrong", h); ok || err != nil {
		t.Errorf("Verify(wrong) = %v, %v", ok, err)
	}
	if _, err := a.Verify("x", "not a hash"); err == nil {
		t.Error("Verify(malformed hash) gave no error")
	}
	a.VerifyDummy("anything") // must not panic
}
