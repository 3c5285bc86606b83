// Package passhash hashes and verifies passwords with argon2id, and verifies
// the hashes the old Django service stored (pbkdf2_sha256, pbkdf2_sha1 and
// Django's argon2 form) so that its users keep their passwords. Only the
// functions that handle passwords (sign-up, login, change-password) link it.
package passhash

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/argon2id"
)

// Params are the argon2id parameters: OWASP's recommended minimum (19 MiB,
// 2 passes, 1 lane).
var Params = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// ErrUnreadable is the error of Verify for a stored value it cannot read:
// no hash of a format it knows, or one whose fields are malformed.
var ErrUnreadable = errors.New("passhash: unreadable password hash")

// maxPBKDF2Iterations bounds the work a stored pbkdf2 hash may ask for
// (Django 3.2 uses 260,000; Django 5 about 1,000,000).
const maxPBKDF2Iterations = 5_000_000

// Argon2id hashes passwords with Params; its zero value is ready to use. It
// implements user.Hasher.
//
// Verify also reads the old service's hashes, as Django encodes them:
//
//   - pbkdf2_sha256$<iterations>$<salt>$<base64 hash>, and pbkdf2_sha1;
//   - argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>;
//   - a value starting with "!", Django's unusable password: it matches no
//     password.
//
// NeedsRehash reports every hash but an argon2id one with Params, so the
// caller replaces old hashes after a successful Verify.
type Argon2id struct{}

// Hash returns the salted argon2id hash of password in PHC string form.
func (Argon2id) Hash(password string) (string, error) {
	h, err := argon2id.CreateHash(password, Params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// Verify reports whether password matches hash, in constant time for a given
// hash. An unusable password (Django's "!…") matches nothing; a value Verify
// cannot read is an error wrapping ErrUnreadable. Every call takes at least
// the time of VerifyDummy (see there), so that a caller answering these like
// a wrong password does not tell any of them apart by timing.
func (a Argon2id) Verify(password, hash string) (bool, error) {
	defer padTo(time.Now())
	switch algorithm, rest, _ := strings.Cut(hash, "$"); {
	case strings.HasPrefix(hash, "$argon2id$"):
		return a.verifyArgon2id(password, hash)
	case algorithm == "argon2" && strings.HasPrefix(rest, "argon2id$"):
		// Django's Argon2PasswordHasher: its PHC string behind "argon2".
		return a.verifyArgon2id(password, "$"+rest)
	case algorithm == "pbkdf2_sha256":
		return a.verifyPBKDF2(password, rest, sha256.New)
	case algorithm == "pbkdf2_sha1":
		return a.verifyPBKDF2(password, rest, sha1.New)
	case strings.HasPrefix(hash, "!"):
		a.VerifyDummy(password)
		return false, nil
	default:
		a.VerifyDummy(password)
		return false, fmt.Errorf("verify password: %w: unknown format", ErrUnreadable)
	}
}

// Bounds on the argon2id parameters a stored hash may ask for: the library
// panics outside some, and the others bound the work and memory of a login
// (Django's default is 100 MiB, 2 passes, 8 lanes).
const (
	maxArgon2Memory = 256 * 1024 // KiB
	maxArgon2Passes = 16
	maxArgon2Lanes  = 16
)

// verifyArgon2id checks password against a PHC argon2id string whose
// parameters are in bounds.
func (a Argon2id) verifyArgon2id(password, phc string) (bool, error) {
	p, salt, key, err := argon2id.DecodeHash(phc)
	if err == nil && (len(salt) == 0 || len(key) < 4 || p.Parallelism < 1 || p.Parallelism > maxArgon2Lanes ||
		p.Iterations < 1 || p.Iterations > maxArgon2Passes || p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxArgon2Memory) {
		err = errors.New("argon2id: parameters out of range")
	}
	if err != nil {
		a.VerifyDummy(password)
		return false, fmt.Errorf("verify password: %w: %w", ErrUnreadable, err)
	}
	ok, err := argon2id.ComparePasswordAndHash(password, phc)
	if err != nil {
		return false, fmt.Errorf("verify password: %w: %w", ErrUnreadable, err)
	}
	return ok, nil
}

// verifyPBKDF2 checks password against Django's PBKDF2 fields
// <iterations>$<salt>$<base64 hash>, with h as the HMAC's hash.
func (a Argon2id) verifyPBKDF2(password, fields string, h func() hash.Hash) (bool, error) {
	iterations, salt, want, err := parsePBKDF2(fields)
	if err != nil {
		a.VerifyDummy(password)
		return false, fmt.Errorf("verify password: %w: %w", ErrUnreadable, err)
	}
	got, err := pbkdf2.Key(h, password, []byte(salt), iterations, len(want))
	if err != nil {
		return false, fmt.Errorf("verify password: %w: %w", ErrUnreadable, err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// parsePBKDF2 splits Django's <iterations>$<salt>$<base64 hash>.
func parsePBKDF2(fields string) (iterations int, salt string, key []byte, err error) {
	parts := strings.Split(fields, "$")
	if len(parts) != 3 {
		return 0, "", nil, errors.New("pbkdf2: want iterations$salt$hash")
	}
	iterations, err = strconv.Atoi(parts[0])
	if err != nil || iterations < 1 || iterations > maxPBKDF2Iterations {
		return 0, "", nil, fmt.Errorf("pbkdf2: iterations %q out of range", parts[0])
	}
	if parts[1] == "" {
		return 0, "", nil, errors.New("pbkdf2: empty salt")
	}
	key, err = base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) == 0 {
		return 0, "", nil, errors.New("pbkdf2: hash is not base64")
	}
	return iterations, parts[1], key, nil
}

// NeedsRehash reports whether hash, which a password was just verified
// against, should be replaced by a fresh Hash of that password: true for
// every hash but an argon2id one made with Params.
func (Argon2id) NeedsRehash(hash string) bool {
	if !strings.HasPrefix(hash, "$argon2id$") {
		return true
	}
	p, _, key, err := argon2id.DecodeHash(hash)
	if err != nil {
		return true
	}
	return p.Memory != Params.Memory || p.Iterations != Params.Iterations ||
		p.Parallelism != Params.Parallelism || uint32(len(key)) != Params.KeyLength
}

var (
	dummyOnce sync.Once
	dummyHash string
)

// legacyIterations is the work of the old service's pbkdf2_sha256 hashes
// (Django 3.2's default, which its accounts carry).
const legacyIterations = 260_000

// VerifyDummy spends the time of one Verify, for a login of an unknown user.
//
// Every check — Verify of any stored value, and VerifyDummy — takes at
// least as long as checking an old service's hash (pbkdf2_sha256 at
// legacyIterations, as legacyCost estimates it from a sample, with a
// margin), so that neither an unknown username nor an imported account
// still holding its old hash answers in a time of its own. The faster
// argon2id checks wait out the difference (asleep: it costs no CPU).
func (a Argon2id) VerifyDummy(password string) {
	defer padTo(time.Now())
	a.argon2idDummy(password)
}

// argon2idDummy spends the time of one argon2id check with Params.
func (a Argon2id) argon2idDummy(password string) {
	dummyOnce.Do(func() { dummyHash, _ = a.Hash("not a real password, only a timing stand-in") })
	_, _ = argon2id.ComparePasswordAndHash(password, dummyHash)
}

// legacyCost is how long one check of an old service's hash takes on this
// machine, measured once: the first check of a process times
// 1/legacySample of its iterations (PBKDF2's work is linear in them) and
// scales that up, with legacyMargin on top. Timing a whole check (60 ms of
// CPU on the bench machine) made the first login of every Lambda container
// that much slower; the sample's few milliseconds hide in the first
// check's padding.
var legacyCost = sync.OnceValue(func() time.Duration {
	start := time.Now()
	_, _ = pbkdf2.Key(sha256.New, "timing stand-in", []byte("timing stand-in"), legacyIterations/legacySample, sha256.Size)
	return scaleSample(time.Since(start))
})

const (
	// legacySample is the fraction of legacyIterations that legacyCost
	// times (it divides them exactly).
	legacySample = 16
	// legacyMargin keeps the padding from coming out short of a whole
	// check: a short sample is less often interrupted than a whole check,
	// and the checks' own times vary. In 60 fresh processes on the bench
	// machine a whole check took at most 1.22× the scaled sample (95th
	// percentile 1.19×, median 0.99×). It does not cover a CPU quota that
	// lets a short burst run faster than a sustained computation (see
	// README, "Passwords").
	legacyMargin = 1.25
)

// scaleSample is the time of a whole check of an old service's hash, from
// the time of the sample, with the margin.
func scaleSample(d time.Duration) time.Duration {
	return time.Duration(float64(d) * legacySample * legacyMargin)
}

// padTo sleeps until a check that began at start has taken legacyCost.
func padTo(start time.Time) {
	if d := legacyCost() - time.Since(start); d > 0 {
		time.Sleep(d)
	}
}
