// Package passhash hashes and verifies passwords with argon2id. Only the
// functions that handle passwords (sign-up, login, change-password) link it.
package passhash

import (
	"fmt"
	"sync"

	"github.com/alexedwards/argon2id"
)

// Params are the argon2id parameters: OWASP's recommended minimum (19 MiB,
// 2 passes, 1 lane).
var Params = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Argon2id hashes passwords with Params; its zero value is ready to use. It
// implements user.Hasher.
type Argon2id struct{}

// Hash returns the salted argon2id hash of password in PHC string form.
func (Argon2id) Hash(password string) (string, error) {
	h, err := argon2id.CreateHash(password, Params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// Verify reports whether password matches hash. A malformed hash is an error.
func (Argon2id) Verify(password, hash string) (bool, error) {
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	return ok, nil
}

var (
	dummyOnce sync.Once
	dummyHash string
)

// VerifyDummy spends the time of one Verify so that a login for an unknown
// user answers in about the time of one with a wrong password.
func (a Argon2id) VerifyDummy(password string) {
	dummyOnce.Do(func() { dummyHash, _ = a.Hash("not a real password, only a timing stand-in") })
	_, _ = a.Verify(password, dummyHash)
}
