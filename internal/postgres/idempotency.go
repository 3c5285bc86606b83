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
)

// Idempotency keys follow a claim-then-complete protocol:
//
//  1. ClaimKey, in its own short transaction, records the key as pending
//     under a fresh lock token (or reports the stored outcome).
//  2. The work runs in one database transaction that first re-locks the
//     claim (HoldKey) and ends by storing the response on it (CompleteKey),
//     so the work and the key's completion commit together or not at all.
//  3. When the work fails with a fault, ReleaseKey drops the claim so a retry
//     can run it; a claim whose holder died is taken over after
//     staleClaimAfter.

// ClaimState is what ClaimKey found.
type ClaimState int

const (
	// Claimed: the caller holds the key and must do the work.
	Claimed ClaimState = iota
	// Done: the key has a stored response to replay.
	Done
	// InProgress: another request holds the key right now.
	InProgress
	// Mismatch: the key was used for a different request.
	Mismatch
)

// Claim is ClaimKey's answer.
type Claim struct {
	State ClaimState
	Token uuid.UUID // with Claimed
	// Response is the stored response, with Done.
	Response StoredResponse
}

// StoredResponse is a response kept on a key to replay.
type StoredResponse struct {
	Status  int
	Headers map[string][]string // those worth replaying, e.g. Set-Cookie
	Body    []byte
}

// staleClaimAfter is how long a pending claim whose holder has not begun
// its work (the key row is not locked) may wait before another request with
// the same key takes it over. Takeover is always safe: the work commits only
// while its transaction holds the claim (HoldKey), so a holder that lost the
// claim rolls back. A short time keeps clients from waiting on a claim whose
// holder died (a crash, or a release lost in a database outage).
const staleClaimAfter = 5 * time.Second

// KeyTTL is how long keys are kept.
const KeyTTL = 24 * time.Hour

// lockNotAvailable is SQLSTATE 55P03, raised by NOWAIT.
const lockNotAvailable = "55P03"

// ClaimKey claims key for user and the request whose hash is hash.
func ClaimKey(ctx context.Context, q Querier, user int64, key string, hash []byte) (Claim, error) {
	// Read first, without locking: a request whose key is held by work in
	// progress must hear so at once (409) rather than wait for it.
	c, state, err := lookupKey(ctx, q, user, key, hash)
	if err != nil {
		return Claim{}, err
	}
	switch state {
	case keyLive:
		return c, nil
	case keyStale:
		return takeOver(ctx, q, user, key, hash)
	}
	token, err := uuid.NewRandom()
	if err != nil {
		return Claim{}, fmt.Errorf("claim token: %w", err)
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
		user, key, hash, token, KeyTTL.String()).Scan(&got)
	if err == nil {
		return Claim{State: Claimed, Token: got}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Claim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	// Another request claimed it between the read and the insert.
	c, state, err = lookupKey(ctx, q, user, key, hash)
	if err == nil && state != keyLive {
		c = Claim{State: InProgress}
	}
	return c, err
}

// takeOver claims a stale pending key, unless its holder's work is under
// way right now (the row is locked), which is a 409.
func takeOver(ctx context.Context, q Querier, user int64, key string, hash []byte) (Claim, error) {
	token, err := uuid.NewRandom()
	if err != nil {
		return Claim{}, fmt.Errorf("claim token: %w", err)
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
		return Claim{State: Claimed, Token: got}, nil
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pgErr) && pgErr.Code == lockNotAvailable:
		// Completed, re-claimed or being worked on meanwhile: look again
		// next time; for now it is in progress.
		return Claim{State: InProgress}, nil
	}
	return Claim{}, fmt.Errorf("take over idempotency key: %w", err)
}

type keyState int

const (
	keyAbsent keyState = iota // no live key: claim it
	keyLive                   // the Claim says what to answer
	keyStale                  // pending past staleClaimAfter: take it over
)

// lookupKey reports the state of user's key.
func lookupKey(ctx context.Context, q Querier, user int64, key string, hash []byte) (Claim, keyState, error) {
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
		return Claim{}, keyAbsent, nil
	}
	if err != nil {
		return Claim{}, keyAbsent, fmt.Errorf("read idempotency key: %w", err)
	}
	switch {
	case !bytes.Equal(storedHash, hash):
		return Claim{State: Mismatch}, keyLive, nil
	case status == "done" && respStatus != nil:
		return Claim{State: Done, Response: StoredResponse{Status: *respStatus, Headers: respHeader, Body: respBody}}, keyLive, nil
	case stale:
		return Claim{}, keyStale, nil
	default:
		return Claim{State: InProgress}, keyLive, nil
	}
}

// ErrClaimLost means the claim was taken over (it went stale) before the
// work could commit; the work must roll back.
var ErrClaimLost = errors.New("idempotency claim lost")

// HoldKey locks the caller's claim inside the work's transaction, so no
// takeover can happen until it ends.
func HoldKey(ctx context.Context, tx pgx.Tx, user int64, key string, token uuid.UUID) error {
	var one int
	err := tx.QueryRow(ctx, `
		SELECT 1 FROM idempotency_keys
		WHERE user_id = $1 AND key = $2 AND lock_token = $3 AND status = 'pending'
		FOR UPDATE`, user, key, token).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrClaimLost
	}
	if err != nil {
		return fmt.Errorf("hold idempotency key: %w", err)
	}
	return nil
}

// CompleteKey stores the response of the claimed request.
func CompleteKey(ctx context.Context, q Querier, user int64, key string, token uuid.UUID, resp StoredResponse) error {
	var headers *string
	if len(resp.Headers) > 0 {
		b, err := json.Marshal(resp.Headers)
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
		user, key, token, resp.Status, resp.Body, headers)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return ErrClaimLost
	}
	return nil
}

// ReleaseKey drops the caller's pending claim, so a retry can do the work.
func ReleaseKey(ctx context.Context, q Querier, user int64, key string, token uuid.UUID) error {
	if _, err := q.Exec(ctx, `
		DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND lock_token = $3 AND status = 'pending'`,
		user, key, token); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// PurgeExpired deletes, at most limit of each, the idempotency keys that
// expired and the login attempts older than loginWindow (which no longer
// count), and returns how many rows went.
func PurgeExpired(ctx context.Context, q Querier, loginWindow time.Duration, limit int) (int64, error) {
	keys, err := q.Exec(ctx, `
		DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT $1))`, limit)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	logins, err := q.Exec(ctx, `
		DELETE FROM login_attempts WHERE id = ANY (ARRAY(
			SELECT id FROM login_attempts WHERE attempted_at < now() - $1::interval LIMIT $2))`,
		loginWindow.String(), limit)
	if err != nil {
		return keys.RowsAffected(), fmt.Errorf("purge login attempts: %w", err)
	}
	return keys.RowsAffected() + logins.RowsAffected(), nil
}
