package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"wallets/internal/apperr"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

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

// CreateUser inserts u (its password already hashed) and returns it with its
// id. A taken username or email is a 400 on that field.
func CreateUser(ctx context.Context, q Querier, u user.User) (user.User, error) {
	row := q.QueryRow(ctx, `
		INSERT INTO users (username, email, first_name, last_name, type, password_hash)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+userColumns,
		u.Username, u.Email, u.FirstName, u.LastName, u.Type, u.PasswordHash)
	created, err := scanUser(row)
	if err != nil {
		return user.User{}, fmt.Errorf("create user: %w", userConflict(err))
	}
	return created, nil
}

// UserByUsername returns the user named username, active or not, or
// wallet.ErrNotFound.
func UserByUsername(ctx context.Context, q Querier, username string) (user.User, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return user.User{}, wallet.ErrNotFound
	}
	if err != nil {
		return user.User{}, fmt.Errorf("user %q: %w", username, err)
	}
	return u, nil
}

// UserByID returns user id, active or not, or wallet.ErrNotFound. With lock,
// the row stays locked until the transaction ends.
func UserByID(ctx context.Context, q Querier, id int64, lock bool) (user.User, error) {
	sql := `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	u, err := scanUser(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return user.User{}, wallet.ErrNotFound
	}
	if err != nil {
		return user.User{}, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// UpdateProfile stores u's username and names.
func UpdateProfile(ctx context.Context, q Querier, u user.User) (user.User, error) {
	updated, err := scanUser(q.QueryRow(ctx, `
		UPDATE users SET username = $2, first_name = $3, last_name = $4, updated_at = now()
		WHERE id = $1
		RETURNING `+userColumns, u.ID, u.Username, u.FirstName, u.LastName))
	if err != nil {
		return user.User{}, fmt.Errorf("update user %d: %w", u.ID, userConflict(err))
	}
	return updated, nil
}

// SetPassword stores a new password hash and bumps the token version, so
// every token issued before stops working. It returns the updated user.
func SetPassword(ctx context.Context, q Querier, id int64, hash string) (user.User, error) {
	u, err := scanUser(q.QueryRow(ctx, `
		UPDATE users SET password_hash = $2, token_version = token_version + 1, updated_at = now()
		WHERE id = $1
		RETURNING `+userColumns, id, hash))
	if err != nil {
		return user.User{}, fmt.Errorf("set password of user %d: %w", id, err)
	}
	return u, nil
}

// RevokeTokens bumps the token version of user id if it still is version, so
// the tokens carrying it stop working. A token already revoked is left as is.
func RevokeTokens(ctx context.Context, q Querier, id int64, version int) error {
	if _, err := q.Exec(ctx, `
		UPDATE users SET token_version = token_version + 1, updated_at = now()
		WHERE id = $1 AND token_version = $2`, id, version); err != nil {
		return fmt.Errorf("revoke tokens of user %d: %w", id, err)
	}
	return nil
}

// Deactivate marks user id inactive and revokes its tokens.
func Deactivate(ctx context.Context, q Querier, id int64) error {
	if _, err := q.Exec(ctx, `
		UPDATE users SET is_active = false, token_version = token_version + 1, updated_at = now()
		WHERE id = $1`, id); err != nil {
		return fmt.Errorf("deactivate user %d: %w", id, err)
	}
	return nil
}

// StartLoginAttempt records an attempt to log in as username before its
// password is checked, forgetting attempts older than since, and returns the
// attempt's id, the number of attempts since since (this one included) and
// the time of the oldest of them. An attempt that fails stays recorded as a
// failure; one that is refused is forgotten (ForgetLoginAttempt); a success
// clears them all (ClearLoginFailures).
//
// Recording first and counting after, in a statement of its own, is what
// makes the throttle hold against concurrent guesses: each attempt counts
// after its own row is committed, so the k-th attempt to count sees at least
// k rows, and no more than the limit are ever checked. q must therefore not
// be a transaction: each statement commits on its own.
func StartLoginAttempt(ctx context.Context, q Querier, username string, since time.Time) (int64, int, time.Time, error) {
	var id int64
	if err := q.QueryRow(ctx, `
		WITH old AS (DELETE FROM login_attempts WHERE username = $1 AND attempted_at <= $2)
		INSERT INTO login_attempts (username) VALUES ($1) RETURNING id`, username, since).Scan(&id); err != nil {
		return 0, 0, time.Time{}, fmt.Errorf("record login attempt: %w", err)
	}
	var n int
	var oldest *time.Time
	if err := q.QueryRow(ctx, `
		SELECT count(*), min(attempted_at) FROM login_attempts
		WHERE username = $1 AND attempted_at > $2`, username, since).Scan(&n, &oldest); err != nil {
		return 0, 0, time.Time{}, fmt.Errorf("count login attempts: %w", err)
	}
	if oldest == nil {
		// Cleared by a concurrent success: this attempt counts alone.
		return id, 1, time.Now(), nil
	}
	return id, n, *oldest, nil
}

// ForgetLoginAttempt removes attempt id: one that was refused without its
// password being checked is no failure.
func ForgetLoginAttempt(ctx context.Context, q Querier, id int64) error {
	if _, err := q.Exec(ctx, `DELETE FROM login_attempts WHERE id = $1`, id); err != nil {
		return fmt.Errorf("forget login attempt: %w", err)
	}
	return nil
}

// ActiveBusiness returns business id when it is an active business, else
// wallet.ErrNotFound.
func ActiveBusiness(ctx context.Context, q Querier, id int64) (wallet.Business, error) {
	var b wallet.Business
	err := q.QueryRow(ctx, `
		SELECT id, COALESCE(NULLIF(first_name, ''), username) FROM users
		WHERE id = $1 AND type = 2 AND is_active`, id).Scan(&b.ID, &b.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return wallet.Business{}, wallet.ErrNotFound
	}
	if err != nil {
		return wallet.Business{}, fmt.Errorf("business %d: %w", id, err)
	}
	return b, nil
}
