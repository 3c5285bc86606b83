package passhash

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
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
	if a.NeedsRehash(h) {
		t.Error("NeedsRehash(a fresh hash) = true")
	}
	a.VerifyDummy("anything") // must not panic
}

// djangoPassword is the password of every account in the old service's
// fixtures (shared/data/django-fixtures/users.json).
const djangoPassword = "as12345678"

func TestVerifyDjango(t *testing.T) {
	var a Argon2id
	tests := []struct {
		name, hash  string
		password    string
		want        bool
		unreadable  bool // Verify's error wraps ErrUnreadable
		needsRehash bool // after a successful Verify
	}{
		// Real rows of the old service's fixtures (users 3 and 4).
		{"fixture user 3", "pbkdf2_sha256$260000$vewssiEM501dY9z6ehs60O$fPi9djbCGyQ64mfQSXGrQyUCu9qH9ECPspqAYHeKWWc=", djangoPassword, true, false, true},
		{"fixture user 4", "pbkdf2_sha256$260000$4Nuo0AODpDMFKfIulB2IJf$ke1KBgPaGqlkTJqYHp4oDgSTCB4Q9DgNCYCw+97He7o=", djangoPassword, true, false, true},
		{"fixture user 4, wrong password", "pbkdf2_sha256$260000$4Nuo0AODpDMFKfIulB2IJf$ke1KBgPaGqlkTJqYHp4oDgSTCB4Q9DgNCYCw+97He7o=", "as12345679", false, false, true},
		// Older rows: fewer iterations (Django 1.11), pbkdf2_sha1 (Django < 1.4
		// upgraded), both computed with Python's hashlib.pbkdf2_hmac.
		{"sha256, 36000 iterations", "pbkdf2_sha256$36000$Zb1pT0tBq7mC$lq6QVPg/C6ff/Z2LsodIaflScQhcKeKeUzP18WAcPpM=", djangoPassword, true, false, true},
		{"sha1", "pbkdf2_sha1$10000$oldsalt1$TdbxTi5n4D7aMLDfhZscY/y68hQ=", djangoPassword, true, false, true},
		{"sha1, wrong password", "pbkdf2_sha1$10000$oldsalt1$TdbxTi5n4D7aMLDfhZscY/y68hQ=", "AS12345678", false, false, true},
		{"sha1 fields under sha256", "pbkdf2_sha256$10000$oldsalt1$TdbxTi5n4D7aMLDfhZscY/y68hQ=", djangoPassword, false, false, true},
		// Django's argon2 hasher: argon2-cffi's PHC string behind "argon2".
		{"django argon2", "argon2$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$", djangoPassword, false, true, true},
		// Unusable passwords match nothing, without an error.
		{"unusable", "!", djangoPassword, false, false, true},
		{"unusable with suffix", "!Lw6Tmyq8xWgP5XtqTtbgcvp8UkVHRYy8wYBR2HGF", djangoPassword, false, false, true},
		{"unusable, its text as password", "!abc", "!abc", false, false, true},
		// Values nothing can read.
		{"empty", "", djangoPassword, false, true, true},
		{"md5", "md5$salt$0123456789abcdef0123456789abcdef", djangoPassword, false, true, true},
		{"bcrypt_sha256", "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuu", djangoPassword, false, true, true},
		{"plain text", djangoPassword, djangoPassword, false, true, true},
		{"pbkdf2 missing fields", "pbkdf2_sha256$260000$salt", djangoPassword, false, true, true},
		{"pbkdf2 bad iterations", "pbkdf2_sha256$lots$salt$ke1KBgPaGqlkTJqYHp4oDgSTCB4Q9DgNCYCw+97He7o=", djangoPassword, false, true, true},
		{"pbkdf2 zero iterations", "pbkdf2_sha256$0$salt$ke1KBgPaGqlkTJqYHp4oDgSTCB4Q9DgNCYCw+97He7o=", djangoPassword, false, true, true},
		{"pbkdf2 too many iterations", "pbkdf2_sha256$999999999$salt$ke1KBgPaGqlkTJqYHp4oDgSTCB4Q9DgNCYCw+97He7o=", djangoPassword, false, true, true},
		{"pbkdf2 empty salt", "pbkdf2_sha256$1000$$ke1KBgPaGqlkTJqYHp4oDgSTCB4Q9DgNCYCw+97He7o=", djangoPassword, false, true, true},
		{"pbkdf2 hash not base64", "pbkdf2_sha256$1000$salt$***", djangoPassword, false, true, true},
		{"pbkdf2 empty hash", "pbkdf2_sha256$1000$salt$", djangoPassword, false, true, true},
		{"argon2id garbage", "$argon2id$v=19$garbage", djangoPassword, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each check waits out legacyCost, asleep
			ok, err := a.Verify(tt.password, tt.hash)
			if ok != tt.want {
				t.Errorf("Verify = %v, want %v", ok, tt.want)
			}
			if got := errors.Is(err, ErrUnreadable); got != tt.unreadable || (err != nil && !got) {
				t.Errorf("Verify error %v, want unreadable: %v", err, tt.unreadable)
			}
			if got := a.NeedsRehash(tt.hash); got != tt.needsRehash {
				t.Errorf("NeedsRehash = %v, want %v", got, tt.needsRehash)
			}
		})
	}
}

func TestVerifyDjangoArgon2(t *testing.T) {
	var a Argon2id
	phc, err := a.Hash(djangoPassword)
	if err != nil {
		t.Fatal(err)
	}
	django := "argon2" + phc // how Django's Argon2PasswordHasher stores it
	if ok, err := a.Verify(djangoPassword, django); !ok || err != nil {
		t.Errorf("Verify(django argon2) = %v, %v", ok, err)
	}
	if ok, err := a.Verify("wrong", django); ok || err != nil {
		t.Errorf("Verify(wrong) = %v, %v", ok, err)
	}
	if !a.NeedsRehash(django) {
		t.Error("NeedsRehash(django argon2) = false")
	}
}

// BenchmarkVerify shows that every kind of stored value takes about the
// same time to check (the login's timing tells none apart): a real argon2id
// hash, an old service's pbkdf2_sha256 hash, an unusable or unreadable value,
// and no user at all (VerifyDummy). Compare the ns/op of the sub-benchmarks.
func BenchmarkVerify(b *testing.B) {
	var a Argon2id
	real, err := a.Hash("x")
	if err != nil {
		b.Fatal(err)
	}
	django := "pbkdf2_sha256$260000$aNr3CAG8o62bvJ5gWEuBBy$0pTuXA1vrt9AOr04wB6tZg8tRt0Gvls0bI/AT4hQ07M="
	for _, tt := range []struct{ name, hash string }{
		{"argon2id", real},
		{"pbkdf2_sha256", django},
		{"unusable", "!unusable"},
		{"unreadable", "garbage"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				_, _ = a.Verify("y", tt.hash)
			}
		})
	}
	b.Run("unknown user", func(b *testing.B) {
		for b.Loop() {
			a.VerifyDummy("y")
		}
	})
}

func TestVerifyArgon2idOutOfRange(t *testing.T) {
	var a Argon2id
	for _, h := range []string{
		"$argon2id$v=19$m=1024,t=1,p=0$c29tZXNhbHQ$c29tZWtleXNvbWVrZXk",
		"$argon2id$v=19$m=1024,t=0,p=1$c29tZXNhbHQ$c29tZWtleXNvbWVrZXk",
		"$argon2id$v=19$m=4,t=1,p=1$c29tZXNhbHQ$c29tZWtleXNvbWVrZXk",
		"$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHQ$c29tZWtleXNvbWVrZXk",
		"$argon2id$v=19$m=1024,t=1,p=1$$c29tZWtleXNvbWVrZXk",
		"$argon2id$v=18$m=1024,t=1,p=1$c29tZXNhbHQ$c29tZWtleXNvbWVrZXk",
	} {
		if ok, err := a.Verify("x", h); ok || !errors.Is(err, ErrUnreadable) {
			t.Errorf("Verify(%q) = %v, %v; want unreadable", h, ok, err)
		}
	}
}

// The legacy cost is the sample's time scaled by the sample's fraction of
// the iterations, with the margin.
func TestScaleSample(t *testing.T) {
	if legacyIterations%legacySample != 0 {
		t.Fatalf("the sample, 1/%d of %d iterations, is not a whole number of them", legacySample, legacyIterations)
	}
	for _, tt := range []struct{ sample, want time.Duration }{
		{0, 0},
		{time.Millisecond, 20 * time.Millisecond},
		{3750 * time.Microsecond, 75 * time.Millisecond},
	} {
		if got := scaleSample(tt.sample); got != tt.want {
			t.Errorf("scaleSample(%v) = %v, want %v", tt.sample, got, tt.want)
		}
	}
}

// The calibration from a sample comes out about as long as a whole check of
// an old hash, or longer. (Loosely: on a busy machine the whole checks are
// interrupted more often than the sample is, which the margin is for; a
// calibration that lost its scale would come out at a sixteenth.)
func TestLegacyCostCoversAWholeCheck(t *testing.T) {
	estimate := legacyCost()
	whole := time.Duration(math.MaxInt64)
	for range 3 {
		start := time.Now()
		_, _ = pbkdf2.Key(sha256.New, "x", []byte("salt"), legacyIterations, sha256.Size)
		whole = min(whole, time.Since(start))
	}
	t.Logf("calibrated %v, whole check %v at best of 3: %.2f×", estimate, whole, float64(estimate)/float64(whole))
	if estimate < whole/2 {
		t.Errorf("calibrated %v, less than half a whole check (%v)", estimate, whole)
	}
}

// Every check, whatever the stored value, takes at least legacyCost.
func TestChecksTakeTheLegacyCost(t *testing.T) {
	const cost = 150 * time.Millisecond // more than an argon2id check
	saved := legacyCost
	legacyCost = func() time.Duration { return cost }
	t.Cleanup(func() { legacyCost = saved })
	var a Argon2id
	h, err := a.Hash("x")
	if err != nil {
		t.Fatal(err)
	}
	for _, check := range []struct {
		name string
		run  func()
	}{
		{"argon2id", func() { _, _ = a.Verify("x", h) }},
		{"pbkdf2_sha256, fewer iterations", func() {
			_, _ = a.Verify(djangoPassword, "pbkdf2_sha256$36000$Zb1pT0tBq7mC$lq6QVPg/C6ff/Z2LsodIaflScQhcKeKeUzP18WAcPpM=")
		}},
		{"unusable", func() { _, _ = a.Verify("x", "!") }},
		{"unreadable", func() { _, _ = a.Verify("x", "garbage") }},
		{"unknown user", func() { a.VerifyDummy("x") }},
	} {
		start := time.Now()
		check.run()
		if d := time.Since(start); d < cost {
			t.Errorf("%s: %v, want at least %v", check.name, d, cost)
		}
	}
}
