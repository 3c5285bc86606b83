package user

import "context"

// Service keeps accounts. Callers are identified by the user id the
// authorizer established. Each method is atomic; when the context carries a
// unit of work of the implementation (an Idempotency-Key claim, see
// idempotency.Runner), its change joins it and commits with it. Errors other
// than the *apperr.Error values named here are faults: the database
// unreachable is apperr.ErrUnavailable in the chain.
type Service interface {
	// SignUp creates the account a describes, its password hashed. It fails
	// with an Invalid error listing every rule a breaks (NewAccount.Check),
	// or naming the username or the email as already taken.
	SignUp(ctx context.Context, a NewAccount) (User, error)

	// LogIn returns the active user named username whose password is
	// password. Every attempt counts towards the username's throttle,
	// recorded before the password is checked so that parallel guesses
	// cannot slip past it: once more than MaxFailedLogins attempts fall in
	// LoginWindow it fails with ErrThrottled, without checking the password
	// and without extending the window. It fails with ErrLoginFailed for an
	// unknown username, a wrong password or an inactive account, taking
	// about the same time for each; a stored hash the Hasher cannot read or
	// an unusable one (an imported "!…") fails the same way. A success does
	// not count as a failure but leaves the failures before it counting; it
	// replaces a stored hash the Hasher wants renewed (NeedsRehash, e.g. an
	// imported Django hash) unless the password changed meanwhile.
	LogIn(ctx context.Context, username, password string) (User, error)

	// User returns user id, active or not, or ErrNotFound.
	User(ctx context.Context, id int64) (User, error)

	// UpdateProfile applies c to user id's profile and returns the user. It
	// fails with an Invalid error for a rule c breaks (ProfileChange.Check)
	// or a username already taken, and ErrNotFound.
	UpdateProfile(ctx context.Context, id int64, c ProfileChange) (User, error)

	// ChangePassword replaces user id's password and revokes every token
	// issued before. It fails with an Invalid error listing the rules the
	// change breaks (PasswordChange.Check), and ErrNotFound.
	ChangePassword(ctx context.Context, id int64, c PasswordChange) error

	// RevokeTokens revokes the tokens of user id that carry version; tokens
	// already revoked stay so. Nothing else changes.
	RevokeTokens(ctx context.Context, id int64, version int) error

	// Deactivate marks user id inactive and revokes its tokens: it can no
	// longer log in.
	Deactivate(ctx context.Context, id int64) error
}

// Hasher hashes and verifies passwords (internal/passhash implements it).
type Hasher interface {
	// Hash returns a salted hash of password.
	Hash(password string) (string, error)
	// Verify reports whether password matches hash; a hash it cannot read
	// is an error, returned after about the time of a real check.
	Verify(password, hash string) (bool, error)
	// VerifyDummy takes the time of one Verify, for unknown users.
	VerifyDummy(password string)
	// NeedsRehash reports whether hash, just verified, should be replaced
	// by a fresh Hash of its password (an old format or old parameters).
	NeedsRehash(hash string) bool
}
