package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/apperr"
	"wallets/internal/user"
)

// Users implements user.Service on the writer, hashing passwords with its
// Hasher.
type Users struct {
	writer *pgxpool.Pool
	hasher user.Hasher
	// scope is where the writes run: on writer, or in the unit of work
	// the service is bound to (In).
	scope scope
}

// NewUsers returns the account service over the writer pool. h may be nil
// where no password is handled: SignUp, LogIn and ChangePassword then fail
// with a fault.
func NewUsers(writer *pgxpool.Pool, h user.Hasher) *Users {
	return &Users{writer: writer, hasher: h, scope: scope{pool: writer}}
}

// In returns the service bound to unit u: its writes run in u's
// transaction and commit with u's answer (see Idempotency.Run); the
// throttle's statements, and its reads, run as s's do.
func (s *Users) In(u *Unit) *Users {
	b := *s
	b.scope.unit = u
	return &b
}

var _ user.Service = (*Users)(nil)

// errNoHasher is the fault of a password operation on Users without a
// Hasher: a wiring mistake.
var errNoHasher = errors.New("postgres: the users service has no password hasher")

// forgetTimeout bounds forgetting a login attempt after a fault, which runs
// even when the request's context is done.
const forgetTimeout = 2 * time.Second

// signUp is the body of user.Service.SignUp. A type left zero is a customer.
func (s *Users) signUp(ctx context.Context, a user.NewAccount) (u user.User, err error) {
	if s.hasher == nil {
		return user.User{}, fmt.Errorf("sign up: %w", errNoHasher)
	}
	a.Username = user.NormalizeUsername(a.Username)
	errs := apperr.Fields{}
	a.Check(errs)
	if err := errs.Err(); err != nil {
		return user.User{}, err
	}
	hash, err := s.hasher.Hash(a.Password)
	if err != nil {
		return user.User{}, fmt.Errorf("sign up: %w", err)
	}
	typ := a.Type
	if typ == 0 {
		typ = user.CustomerType
	}
	err = s.scope.inTx(ctx, func(tx pgx.Tx) error {
		u, err = scanUser(tx.QueryRow(ctx, `
			INSERT INTO users (username, email, first_name, last_name, type, password_hash)
			VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING `+userColumns,
			a.Username, a.Email, a.FirstName, a.LastName, typ, hash))
		if err != nil {
			return fmt.Errorf("create user: %w", userConflict(err))
		}
		return nil
	})
	if err != nil {
		return user.User{}, err
	}
	return u, nil
}

// logIn is the body of user.Service.LogIn. The throttle's statements run on
// the writer, never in a unit of work: each must commit on its own (see
// startLoginAttempt).
func (s *Users) logIn(ctx context.Context, username, password, source string) (u user.User, err error) {
	if s.hasher == nil {
		return user.User{}, fmt.Errorf("log in: %w", errNoHasher)
	}
	username = user.NormalizeUsername(username)
	if utf8.RuneCountInString(username) > user.MaxUsername {
		// No such user can exist (nor could the throttle's table hold
		// the name): a failure, in the time of one.
		s.hasher.VerifyDummy(password)
		return user.User{}, user.ErrLoginFailed
	}
	now := time.Now()
	attempt, counts, err := startLoginAttempt(ctx, s.writer, username, source, now.Add(-user.LoginWindow))
	if err != nil {
		return user.User{}, err
	}
	if refusal := counts.Throttle(now); refusal != nil {
		// A refused attempt is no failure: it must not extend the window.
		if err := forgetLoginAttempt(ctx, s.writer, attempt); err != nil {
			return user.User{}, err
		}
		return user.User{}, refusal
	}
	u, err = userByUsername(ctx, s.writer, username)
	valid := false
	switch {
	case errors.Is(err, user.ErrNotFound):
		s.hasher.VerifyDummy(password)
	case err != nil:
		return user.User{}, s.forgetAfter(ctx, forgetLoginAttempt, attempt, err)
	default:
		// A stored value the Hasher cannot read (a format it does not
		// know, a corrupt row) fails like a wrong password, never as a
		// fault: Verify took the time of a real check. An unusable
		// password (an imported Django "!…") matches nothing.
		valid, _ = s.hasher.Verify(password, u.PasswordHash)
	}
	if !valid || !u.IsActive {
		// The recorded attempt stays, as a failure.
		return user.User{}, user.ErrLoginFailed
	}
	if s.hasher.NeedsRehash(u.PasswordHash) {
		if u, err = s.rehash(ctx, u, password); err != nil {
			return user.User{}, s.forgetAfter(ctx, forgetLoginAttempt, attempt, err)
		}
	}
	// A success is no failure: its attempt goes, the failures before it
	// stay and keep counting until the window passes, so a guesser cannot
	// reset the count by logging in to an account of their own under the
	// same name.
	if err := forgetLoginAttempt(ctx, s.writer, attempt); err != nil {
		return user.User{}, err
	}
	return u, nil
}

// rehash replaces u's stored hash, which password was just verified against
// and which the Hasher wants replaced (an imported Django hash), by a fresh
// one, so the old hash is gone from the database after the first successful
// login. The update is conditional on the old hash: a password changed
// meanwhile stays as it is.
func (s *Users) rehash(ctx context.Context, u user.User, password string) (user.User, error) {
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return user.User{}, fmt.Errorf("rehash password of user %d: %w", u.ID, err)
	}
	tag, err := s.writer.Exec(ctx, `
		UPDATE users SET password_hash = $3, updated_at = now()
		WHERE id = $1 AND password_hash = $2`, u.ID, u.PasswordHash, hash)
	if err != nil {
		return user.User{}, fmt.Errorf("rehash password of user %d: %w", u.ID, err)
	}
	if tag.RowsAffected() == 1 {
		u.PasswordHash = hash
	}
	return u, nil
}

// forgetAfter drops attempt id with forget (forgetLoginAttempt,
// forgetPasswordAttempt): an attempt that ended in no failure of the
// caller's (a fault, a right old password), even when the request's
// context is done. It returns err, joined with the error of forgetting if
// that failed too.
func (s *Users) forgetAfter(ctx context.Context, forget func(context.Context, querier, int64) error, id int64, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forgetTimeout)
	defer cancel()
	if ferr := forget(ctx, s.writer, id); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// user is the body of user.Service.User, on the writer.
func (s *Users) user(ctx context.Context, id int64) (u user.User, err error) {
	return userByID(ctx, s.writer, id, false)
}

// updateProfile is the body of user.Service.UpdateProfile. The user's row is
// locked while the change applies.
func (s *Users) updateProfile(ctx context.Context, id int64, c user.ProfileChange) (u user.User, err error) {
	if c.Username != nil {
		name := user.NormalizeUsername(*c.Username)
		c.Username = &name
	}
	errs := apperr.Fields{}
	c.Check(errs)
	if err := errs.Err(); err != nil {
		return user.User{}, err
	}
	err = s.scope.inTx(ctx, func(tx pgx.Tx) error {
		current, err := userByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		next := c.Apply(current)
		u, err = scanUser(tx.QueryRow(ctx, `
			UPDATE users SET username = $2, first_name = $3, last_name = $4, updated_at = now()
			WHERE id = $1
			RETURNING `+userColumns, id, next.Username, next.FirstName, next.LastName))
		if err != nil {
			return fmt.Errorf("update user %d: %w", id, userConflict(err))
		}
		return nil
	})
	if err != nil {
		return user.User{}, err
	}
	return u, nil
}

// changePassword is the body of user.Service.ChangePassword. The throttle's
// statements run on the writer, never in a unit of work (as LogIn's do: see
// startPasswordAttempt); then changePassword verifies the old password and
// stores the new one. A stored hash the Hasher cannot read is a fault.
func (s *Users) changePassword(ctx context.Context, id int64, c user.PasswordChange) (err error) {
	if s.hasher == nil {
		return fmt.Errorf("change password: %w", errNoHasher)
	}
	now := time.Now()
	attempt, attempts, oldest, err := startPasswordAttempt(ctx, s.writer, id, now.Add(-user.PasswordWindow))
	if err != nil {
		return err
	}
	if refusal := user.PasswordChangeThrottle(attempts, oldest, now); refusal != nil {
		// A refused attempt is no failure: it must not extend the window.
		if err := forgetPasswordAttempt(ctx, s.writer, attempt); err != nil {
			return err
		}
		return refusal
	}
	oldRight, err := s.replacePassword(ctx, id, c)
	if !oldRight && apperr.CodeOf(err) == apperr.Invalid {
		// A wrong old password: the recorded attempt stays, as a failure.
		return err
	}
	// A right old password (whatever else was wrong), a fault, or a user
	// gone: no failure.
	return s.forgetAfter(ctx, forgetPasswordAttempt, attempt, err)
}

// replacePassword verifies c.Old and sets c.New, and reports whether c.Old
// was right. The two slow hashes (verifying the old password, hashing the
// new one) hold no lock: the user's row is locked only by the closing
// UPDATE, which sets the new hash only where the one verified is still
// stored. Had the row stayed locked while hashing, concurrent changes of
// one user would queue on it (and their attempts' inserts, whose foreign
// key shares the row, behind them), a second of argon2 each, into the
// statement timeout. A change that lost the race to another (or to a login
// that re-hashed the password meanwhile) is answered as a wrong old
// password, without counting as a failure: the hash it verified is no
// longer the user's, and the client may try again.
func (s *Users) replacePassword(ctx context.Context, id int64, c user.PasswordChange) (oldRight bool, err error) {
	u, err := userByID(ctx, s.writer, id, false)
	if err != nil {
		return false, err
	}
	if oldRight, err = s.hasher.Verify(c.Old, u.PasswordHash); err != nil {
		return false, fmt.Errorf("change password of user %d: %w", id, err)
	}
	errs := apperr.Fields{}
	c.Check(u, oldRight, errs)
	if err := errs.Err(); err != nil {
		return oldRight, err
	}
	hash, err := s.hasher.Hash(c.New)
	if err != nil {
		return oldRight, fmt.Errorf("change password of user %d: %w", id, err)
	}
	err = s.scope.inTx(ctx, func(tx pgx.Tx) error {
		// Bumping the token version revokes every token issued before,
		// the caller's included.
		tag, err := tx.Exec(ctx, `
			UPDATE users SET password_hash = $2, token_version = token_version + 1, updated_at = now()
			WHERE id = $1 AND password_hash = $3`, id, hash, u.PasswordHash)
		if err != nil {
			return fmt.Errorf("set password of user %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			errs := apperr.Fields{}
			errs.Add("old_password", user.MsgWrongPassword)
			return errs.Err()
		}
		return nil
	})
	return oldRight, err
}

// revokeTokens is the body of user.Service.RevokeTokens, on the writer,
// outside any unit of work.
func (s *Users) revokeTokens(ctx context.Context, id int64, version int) (err error) {
	if _, err := s.writer.Exec(ctx, `
		UPDATE users SET token_version = token_version + 1, updated_at = now()
		WHERE id = $1 AND token_version = $2`, id, version); err != nil {
		return fmt.Errorf("revoke tokens of user %d: %w", id, err)
	}
	return nil
}

// deactivate is the body of user.Service.Deactivate.
func (s *Users) deactivate(ctx context.Context, id int64) (err error) {
	return s.scope.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE users SET is_active = false, token_version = token_version + 1, updated_at = now()
			WHERE id = $1`, id); err != nil {
			return fmt.Errorf("deactivate user %d: %w", id, err)
		}
		return nil
	})
}

const userColumns = `id, username, email, first_name, last_name, type, is_active, token_version, password_hash`

func scanUser(row pgx.Row) (user.User, error) {
	var u user.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Type, &u.IsActive, &u.TokenVersion, &u.PasswordHash)
	return u, err
}

// userConflict turns a unique violation on users into the field error the
// contract names, or returns err unchanged.
func userConflict(err error) error {
	switch c, ok := uniqueViolation(err); {
	case ok && c == "users_username_key":
		return apperr.Field("username", user.MsgUsernameTaken)
	case ok && c == "users_email_key":
		return apperr.Field("email", user.MsgEmailTaken)
	}
	return err
}

// userByUsername returns the user named username, active or not, or
// user.ErrNotFound.
func userByUsername(ctx context.Context, q querier, username string) (user.User, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return user.User{}, user.ErrNotFound
	}
	if err != nil {
		return user.User{}, fmt.Errorf("user %q: %w", username, err)
	}
	return u, nil
}

// userByID returns user id, active or not, or user.ErrNotFound. With lock,
// the row stays locked until the transaction ends.
func userByID(ctx context.Context, q querier, id int64, lock bool) (user.User, error) {
	sql := `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	u, err := scanUser(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return user.User{}, user.ErrNotFound
	}
	if err != nil {
		return user.User{}, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// startLoginAttempt records an attempt to log in as username from source
// before its password is checked, forgetting the username's attempts older
// than since, and returns the attempt's id and the attempts since since
// (this one included) from source and from all sources, with the time of
// the oldest of each. An attempt that fails stays recorded as a failure;
// one that is refused, or ends in a fault, or succeeds is forgotten
// (forgetLoginAttempt). Attempts recorded before migration 00007 have no
// source (NULL): they count only towards the per-username ceiling.
//
// Recording first and counting after, in a statement of its own, is what
// makes the throttle hold against concurrent guesses: each attempt counts
// after its own row is committed, so the k-th attempt to count sees at least
// k rows, and no more than the limit are ever checked. q must therefore not
// be a transaction: each statement commits on its own.
func startLoginAttempt(ctx context.Context, q querier, username, source string, since time.Time) (int64, user.LoginCounts, error) {
	var id int64
	if err := q.QueryRow(ctx, `
		WITH old AS (DELETE FROM login_attempts WHERE username = $1 AND attempted_at <= $2)
		INSERT INTO login_attempts (username, source) VALUES ($1, $3) RETURNING id`, username, since, source).Scan(&id); err != nil {
		return 0, user.LoginCounts{}, fmt.Errorf("record login attempt: %w", err)
	}
	var c user.LoginCounts
	var sourceOldest, allOldest *time.Time
	if err := q.QueryRow(ctx, `
		SELECT s.n, s.oldest, a.n, a.oldest
		  FROM (SELECT count(*) AS n, min(attempted_at) AS oldest FROM login_attempts
		         WHERE username = $1 AND source = $3 AND attempted_at > $2) s,
		       (SELECT count(*) AS n, min(attempted_at) AS oldest FROM login_attempts
		         WHERE username = $1 AND attempted_at > $2) a`,
		username, since, source).Scan(&c.Source, &sourceOldest, &c.All, &allOldest); err != nil {
		return 0, user.LoginCounts{}, fmt.Errorf("count login attempts: %w", err)
	}
	now := time.Now()
	// Cleared by a concurrent success: this attempt counts alone.
	if sourceOldest == nil {
		c.Source, sourceOldest = 1, &now
	}
	if allOldest == nil {
		c.All, allOldest = 1, &now
	}
	c.SourceOldest, c.AllOldest = *sourceOldest, *allOldest
	return id, c, nil
}

// forgetLoginAttempt removes attempt id: one that was refused without its
// password being checked, or that succeeded, is no failure.
func forgetLoginAttempt(ctx context.Context, q querier, id int64) error {
	if _, err := q.Exec(ctx, `DELETE FROM login_attempts WHERE id = $1`, id); err != nil {
		return fmt.Errorf("forget login attempt: %w", err)
	}
	return nil
}

// startPasswordAttempt records an attempt to change user id's password
// before its old password is checked, forgetting the user's attempts older
// than since, and returns the attempt's id, the number of attempts since
// since (this one included) and the time of the oldest of them, or
// user.ErrNotFound for no such user. Like startLoginAttempt it records and
// counts in two statements that each commit on their own, so concurrent
// changes cannot slip past the limit; q must not be a transaction. An
// attempt whose old password was wrong stays as a failure; any other is
// forgotten (forgetPasswordAttempt).
func startPasswordAttempt(ctx context.Context, q querier, id int64, since time.Time) (int64, int, time.Time, error) {
	var attempt int64
	err := q.QueryRow(ctx, `
		WITH old AS (DELETE FROM change_password_attempts WHERE user_id = $1 AND attempted_at <= $2)
		INSERT INTO change_password_attempts (user_id) VALUES ($1) RETURNING id`, id, since).Scan(&attempt)
	if c, ok := foreignKeyViolation(err); ok && c == "change_password_attempts_user_id_fkey" {
		return 0, 0, time.Time{}, user.ErrNotFound
	}
	if err != nil {
		return 0, 0, time.Time{}, fmt.Errorf("record change-password attempt: %w", err)
	}
	var n int
	var oldest *time.Time
	if err := q.QueryRow(ctx, `
		SELECT count(*), min(attempted_at) FROM change_password_attempts
		WHERE user_id = $1 AND attempted_at > $2`, id, since).Scan(&n, &oldest); err != nil {
		return 0, 0, time.Time{}, fmt.Errorf("count change-password attempts: %w", err)
	}
	if oldest == nil {
		// Cleared meanwhile (a purge): this attempt counts alone.
		return attempt, 1, time.Now(), nil
	}
	return attempt, n, *oldest, nil
}

// forgetPasswordAttempt removes change-password attempt id: one that was
// refused, succeeded, failed for another reason than the old password or
// ended in a fault is no failure.
func forgetPasswordAttempt(ctx context.Context, q querier, id int64) error {
	if _, err := q.Exec(ctx, `DELETE FROM change_password_attempts WHERE id = $1`, id); err != nil {
		return fmt.Errorf("forget change-password attempt: %w", err)
	}
	return nil
}
