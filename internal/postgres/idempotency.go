package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"wallets/internal/apperr"
	"wallets/internal/idempotency"
	"wallets/internal/user"
)

// Idempotency implements idempotency.Runner[*Unit] on the writer. Keys follow a
// claim-then-complete protocol:
//
//  1. claimKey, a statement of its own that commits at once, records the key
//     as pending under a fresh lock token (or reports the stored outcome).
//  2. The work runs in one database transaction (the Unit's) that first
//     re-locks the claim (holdKey) and ends by storing the answer on it
//     (completeKey), so the work and the key's completion commit together or
//     not at all.
//  3. When the work fails with a fault, releaseKey drops the claim so a retry
//     can run it; a claim whose holder died is taken over after
//     staleClaimAfter.
type Idempotency struct {
	writer *pgxpool.Pool
}

// NewIdempotency returns the Runner over the writer pool.
func NewIdempotency(writer *pgxpool.Pool) *Idempotency { return &Idempotency{writer: writer} }

var _ idempotency.Runner[*Unit] = (*Idempotency)(nil)

// releaseTimeout bounds releasing a claim after a fault, which runs even
// when the request's context is done.
const releaseTimeout = 2 * time.Second

// Run implements idempotency.Runner. It claims req's key, then runs work
// with the claim's Unit, to which work binds the services whose writes
// commit with the answer ((*Wallets).In, (*Users).In; idempotency.Bind):
// the first of their methods that writes begins the unit's transaction on
// the writer and locks the claim in it; later ones run in it. After work:
//
//   - a fault (work's error) rolls the transaction back, releases the key
//     and is returned as is (with apperr.ErrUnavailable in front when it
//     means the database is unreachable), except that a claim lost to a
//     takeover is apperr.ErrKeyInProgress;
//   - an answer of status 500 or more rolls back and releases the key, and
//     is returned unkept;
//   - otherwise the answer is stored on the key: inside the transaction,
//     which then commits, when no writing method of a bound service failed;
//     else the transaction rolls back and the answer is stored on its own.
//
// The unit then has ended: a bound service kept past work writes no more
// (ErrUnitEnded). Services bound to one unit must be called one at a time,
// as a database transaction runs one statement at a time.
func (s *Idempotency) Run(ctx context.Context, req idempotency.Request, work idempotency.Work[*Unit]) (idempotency.Answer, bool, error) {
	answer, replayed, err := s.run(ctx, req, work)
	return answer, replayed, classify(err)
}

func (s *Idempotency) run(ctx context.Context, req idempotency.Request, work idempotency.Work[*Unit]) (answer idempotency.Answer, replayed bool, err error) {
	c, err := claimKey(ctx, s.writer, req.User, req.Key, req.Hash)
	if err != nil {
		return idempotency.Answer{}, false, err
	}
	switch c.state {
	case keyDone:
		return c.answer, true, nil
	case keyInProgress:
		return idempotency.Answer{}, false, apperr.ErrKeyInProgress
	case keyMismatch:
		return idempotency.Answer{}, false, apperr.ErrKeyMismatch
	}
	u := &Unit{pool: s.writer, user: req.User, key: req.Key, token: c.token}
	defer func() {
		// A panicking work leaves no transaction open and no key held.
		if p := recover(); p != nil {
			u.ended = true
			u.rollback(ctx)
			u.release(ctx)
			panic(p)
		}
	}()
	answer, err = work(ctx, u)
	return u.finish(ctx, answer, err)
}

// Purge deletes, at most limit of each, the idempotency keys that expired,
// the login attempts older than user.LoginWindow and the change-password
// attempts older than user.PasswordWindow (which no longer count), and
// returns how many rows went.
func (s *Idempotency) Purge(ctx context.Context, limit int) (int64, error) {
	return read(s.purge(ctx, limit))
}

func (s *Idempotency) purge(ctx context.Context, limit int) (int64, error) {
	keys, err := s.writer.Exec(ctx, `
		DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT $1))`, limit)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	logins, err := s.writer.Exec(ctx, `
		DELETE FROM login_attempts WHERE id = ANY (ARRAY(
			SELECT id FROM login_attempts WHERE attempted_at < now() - $1::interval LIMIT $2))`,
		user.LoginWindow.String(), limit)
	if err != nil {
		return keys.RowsAffected(), fmt.Errorf("purge login attempts: %w", err)
	}
	changes, err := s.writer.Exec(ctx, `
		DELETE FROM change_password_attempts WHERE id = ANY (ARRAY(
			SELECT id FROM change_password_attempts WHERE attempted_at < now() - $1::interval LIMIT $2))`,
		user.PasswordWindow.String(), limit)
	if err != nil {
		return keys.RowsAffected() + logins.RowsAffected(), fmt.Errorf("purge change-password attempts: %w", err)
	}
	return keys.RowsAffected() + logins.RowsAffected() + changes.RowsAffected(), nil
}

// finish ends the unit after work returned answer and err (see Run).
func (u *Unit) finish(ctx context.Context, answer idempotency.Answer, err error) (idempotency.Answer, bool, error) {
	u.ended = true
	if err != nil {
		u.rollback(ctx)
		u.release(ctx)
		if errors.Is(err, errClaimLost) {
			return idempotency.Answer{}, false, apperr.ErrKeyInProgress
		}
		return idempotency.Answer{}, false, err
	}
	if !idempotency.Kept(answer.Status) {
		u.rollback(ctx)
		u.release(ctx)
		return answer, false, nil
	}
	if u.tx != nil && !u.aborted {
		if err := completeKey(ctx, u.tx, u.user, u.key, u.token, answer); err != nil {
			u.rollback(ctx)
			return u.completeFailed(ctx, err)
		}
		if err := u.tx.Commit(ctx); err != nil {
			u.release(ctx)
			return idempotency.Answer{}, false, fmt.Errorf("commit: %w", err)
		}
		return answer, false, nil
	}
	u.rollback(ctx)
	if err := completeKey(ctx, u.pool, u.user, u.key, u.token, answer); err != nil {
		return u.completeFailed(ctx, err)
	}
	return answer, false, nil
}

// completeFailed answers a failure to store the answer: a claim lost to a
// takeover is the taker's to finish (ErrKeyInProgress); any other failure is
// a fault, and the key is released.
func (u *Unit) completeFailed(ctx context.Context, err error) (idempotency.Answer, bool, error) {
	if errors.Is(err, errClaimLost) {
		return idempotency.Answer{}, false, apperr.ErrKeyInProgress
	}
	u.release(ctx)
	return idempotency.Answer{}, false, fmt.Errorf("store idempotent answer: %w", err)
}

// rollback ends the unit's transaction, if any, without its changes.
func (u *Unit) rollback(ctx context.Context) {
	if u.tx != nil {
		_ = u.tx.Rollback(context.WithoutCancel(ctx))
	}
}

// release drops the claim after a fault, best effort: a claim left behind is
// taken over once stale.
func (u *Unit) release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_ = releaseKey(ctx, u.pool, u.user, u.key, u.token)
}

// claimState is what claimKey found.
type claimState int

const (
	// keyClaimed: the caller holds the key and must do the work.
	keyClaimed claimState = iota
	// keyDone: the key has a stored answer to replay.
	keyDone
	// keyInProgress: another request holds the key right now.
	keyInProgress
	// keyMismatch: the key was used for a different request.
	keyMismatch
)

// claim is claimKey's answer.
type claim struct {
	state  claimState
	token  uuid.UUID          // with keyClaimed
	answer idempotency.Answer // with keyDone
}

// staleClaimAfter is how long a pending claim whose holder has not begun
// its work (the key row is not locked) may wait before another request with
// the same key takes it over. Takeover is always safe: the work commits only
// while its transaction holds the claim (holdKey), so a holder that lost the
// claim rolls back. A short time keeps clients from waiting on a claim whose
// holder died (a crash, or a release lost in a database outage).
const staleClaimAfter = 5 * time.Second

// keyTTL is how long keys are kept.
const keyTTL = 24 * time.Hour

// lockNotAvailable is SQLSTATE 55P03, raised by NOWAIT.
const lockNotAvailable = "55P03"

// claimKey claims key for user and the request whose hash is hash.
func claimKey(ctx context.Context, q querier, user int64, key string, hash []byte) (claim, error) {
	// Read first, without locking: a request whose key is held by work in
	// progress must hear so at once (409) rather than wait for it.
	c, state, err := lookupKey(ctx, q, user, key, hash)
	if err != nil {
		return claim{}, err
	}
	switch state {
	case keyLive:
		return c, nil
	case keyStale:
		return takeOver(ctx, q, user, key, hash)
	}
	token, err := uuid.NewRandom()
	if err != nil {
		return claim{}, fmt.Errorf("claim token: %w", err)
	}
	// Insert a fresh claim, or replace an expired key.
	var got uuid.UUID
	err = q.QueryRow(ctx, `
		INSERT INTO idempotency_keys AS k (user_id, key, request_hash, status, lock_token, locked_at, expires_at)
		VALUES ($1, $2, $3, 'pending', $4, now(), now() + $5::interval)
		ON CONFLICT (user_id, key) DO UPDATE
		   SET request_hash = EXCLUDED.request_hash, status = 'pending', lock_token = EXCLUDED.lock_token,
		       locked_at = now(), response_status = NULL, response_body = NULL, response_headers = NULL,
		       created_at = now(), expires_at = EXCLUDED.expires_at
		 WHERE k.expires_at < now()
		RETURNING lock_token`,
		user, key, hash, token, keyTTL.String()).Scan(&got)
	if err == nil {
		return claim{state: keyClaimed, token: got}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return claim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	// Another request claimed it between the read and the insert.
	c, state, err = lookupKey(ctx, q, user, key, hash)
	if err == nil && state != keyLive {
		c = claim{state: keyInProgress}
	}
	return c, err
}

// takeOver claims a stale pending key, unless its holder's work is under
// way right now (the row is locked), which is a 409.
func takeOver(ctx context.Context, q querier, user int64, key string, hash []byte) (claim, error) {
	token, err := uuid.NewRandom()
	if err != nil {
		return claim{}, fmt.Errorf("claim token: %w", err)
	}
	var got uuid.UUID
	err = q.QueryRow(ctx, `
		UPDATE idempotency_keys k SET lock_token = $4, locked_at = now()
		  FROM (SELECT user_id, key FROM idempotency_keys
		         WHERE user_id = $1 AND key = $2 AND request_hash = $3 AND status = 'pending'
		           AND locked_at < now() - $5::interval
		           FOR UPDATE NOWAIT) s
		 WHERE k.user_id = s.user_id AND k.key = s.key
		RETURNING k.lock_token`, user, key, hash, token, staleClaimAfter.String()).Scan(&got)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return claim{state: keyClaimed, token: got}, nil
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pgErr) && pgErr.Code == lockNotAvailable:
		// Completed, re-claimed or being worked on meanwhile: look again
		// next time; for now it is in progress.
		return claim{state: keyInProgress}, nil
	}
	return claim{}, fmt.Errorf("take over idempotency key: %w", err)
}

// keyLookup is what lookupKey found of a key.
type keyLookup int

const (
	keyAbsent keyLookup = iota // no live key: claim it
	keyLive                    // the claim says what to answer
	keyStale                   // pending past staleClaimAfter: take it over
)

// lookupKey reports the state of user's key.
func lookupKey(ctx context.Context, q querier, user int64, key string, hash []byte) (claim, keyLookup, error) {
	var (
		storedHash []byte
		status     string
		stale      bool
		respStatus *int
		respBody   []byte
		respHeader map[string][]string
	)
	err := q.QueryRow(ctx, `
		SELECT request_hash, status, locked_at < now() - $3::interval, response_status, response_body, response_headers
		  FROM idempotency_keys
		 WHERE user_id = $1 AND key = $2 AND expires_at >= now()`,
		user, key, staleClaimAfter.String()).Scan(&storedHash, &status, &stale, &respStatus, &respBody, &respHeader)
	if errors.Is(err, pgx.ErrNoRows) {
		return claim{}, keyAbsent, nil
	}
	if err != nil {
		return claim{}, keyAbsent, fmt.Errorf("read idempotency key: %w", err)
	}
	switch {
	case !bytes.Equal(storedHash, hash):
		return claim{state: keyMismatch}, keyLive, nil
	case status == "done" && respStatus != nil:
		return claim{state: keyDone, answer: idempotency.Answer{Status: *respStatus, Headers: respHeader, Body: respBody}}, keyLive, nil
	case stale:
		return claim{}, keyStale, nil
	default:
		return claim{state: keyInProgress}, keyLive, nil
	}
}

// errClaimLost means the claim was taken over (it went stale) before the
// work could commit; the work must roll back.
var errClaimLost = errors.New("idempotency claim lost")

// holdKey locks the caller's claim inside the work's transaction, so no
// takeover can happen until it ends.
func holdKey(ctx context.Context, tx pgx.Tx, user int64, key string, token uuid.UUID) error {
	var one int
	err := tx.QueryRow(ctx, `
		SELECT 1 FROM idempotency_keys
		WHERE user_id = $1 AND key = $2 AND lock_token = $3 AND status = 'pending'
		FOR UPDATE`, user, key, token).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return errClaimLost
	}
	if err != nil {
		return fmt.Errorf("hold idempotency key: %w", err)
	}
	return nil
}

// completeKey stores the answer of the claimed request.
func completeKey(ctx context.Context, q querier, user int64, key string, token uuid.UUID, a idempotency.Answer) error {
	var headers *string
	if len(a.Headers) > 0 {
		b, err := json.Marshal(a.Headers)
		if err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		h := string(b)
		headers = &h
	}
	tag, err := q.Exec(ctx, `
		UPDATE idempotency_keys
		   SET status = 'done', response_status = $4, response_body = $5, response_headers = $6::jsonb, lock_token = NULL
		 WHERE user_id = $1 AND key = $2 AND lock_token = $3 AND status = 'pending'`,
		user, key, token, a.Status, a.Body, headers)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return errClaimLost
	}
	return nil
}

// releaseKey drops the caller's pending claim, so a retry can do the work.
func releaseKey(ctx context.Context, q querier, user int64, key string, token uuid.UUID) error {
	if _, err := q.Exec(ctx, `
		DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND lock_token = $3 AND status = 'pending'`,
		user, key, token); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}
