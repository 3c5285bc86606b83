package user

import "context"

// Service keeps accounts. Callers are identified by the user id the
// authorizer established. Each method is atomic. An implementation may hand
// out the Service bound to a unit of work (an Idempotency-Key claim, see
// idempotency.Runner and api.Tx; postgres.(*Users).In): the changes of a
// bound Service's writing methods (SignUp, UpdateProfile, ChangePassword's
// new password, Deactivate) then commit with the unit, and any error they
// return keeps the unit from committing; LogIn's throttle and RevokeTokens
// commit on their own whatever the binding. Nothing rides in the context.
// Errors other
// than the *apperr.Error values named here are faults: the database
// unreachable is apperr.ErrUnavailable in the chain.
type Service interface {
	// SignUp creates the account a describes, its username normalized
	// (NormalizeUsername) and its password hashed. It fails
	// with an Invalid error listing every rule a breaks (NewAccount.Check),
	// or naming the username or the email as already taken.
	SignUp(ctx context.Context, a NewAccount) (User, error)

	// LogIn returns the active user named username (NormalizeUsername)
	// whose password is password, for a caller at source (its IP address
	// as API Gateway saw it; "" when unknown, which is a source of its own).
	// Every attempt counts towards the throttle of the username at source
	// and of the username, recorded before the password is checked so that
	// parallel guesses cannot slip past it: once more than MaxFailedLogins
	// attempts from source, or more than MaxFailedLoginsPerUsername from
	// all sources, fall in LoginWindow it fails with ErrThrottled
	// (LoginCounts.Throttle), without checking the password and without
	// extending the window. It fails with ErrLoginFailed for an
	// unknown username, a wrong password or an inactive account, taking
	// about the same time for each; a stored hash the Hasher cannot read or
	// an unusable one (an imported "!…") fails the same way. A success does
	// not count as a failure but leaves the failures before it counting; it
	// replaces a stored hash the Hasher wants renewed (NeedsRehash, e.g. an
	// imported Django hash) unless the password changed meanwhile.
	LogIn(ctx context.Context, username, password, source string) (User, error)

	// User returns user id, active or not, or ErrNotFound.
	User(ctx context.Context, id int64) (User, error)

	// UpdateProfile applies c, its username normalized (NormalizeUsername),
	// to user id's profile and returns the user. It
	// fails with an Invalid error for a rule c breaks (ProfileChange.Check)
	// or a username already taken, and ErrNotFound.
	UpdateProfile(ctx context.Context, id int64, c ProfileChange) (User, error)

	// ChangePassword replaces user id's password and revokes every token
	// issued before. It fails with an Invalid error listing the rules the
	// change breaks (PasswordChange.Check), and ErrNotFound. A wrong old
	// password counts towards the user's change-password throttle, recorded
	// before the old password is checked (as LogIn's attempts are): once
	// more than MaxWrongOldPasswords attempts fall in PasswordWindow it
	// fails with ErrThrottledFor (PasswordChangeThrottle) without checking
	// anything, even a right old password, and without extending the
	// window. Other calls of the user are not affected.
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
