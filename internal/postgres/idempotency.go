package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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
	State  ClaimState
	Token  uuid.UUID // with Claimed
	Status int       // with Done
	Body   []byte    // with Done
}

// staleClaimAfter is how long a pending claim may go without completing
// before another request may take it over. It outlasts any function timeout.
const staleClaimAfter = 2 * time.Minute

// KeyTTL is how long keys are kept.
const KeyTTL = 24 * time.Hour

// ClaimKey claims key for user and the request whose hash is hash.
func ClaimKey(ctx context.Context, q Querier, user int64, key string, hash []byte) (Claim, error) {
	// Read first, without locking: a request whose key is held by work in
	// progress must hear so at once (409) rather than wait for it.
	if c, found, err := lookupKey(ctx, q, user, key, hash); err != nil || found {
		return c, err
	}
	token, err := uuid.NewRandom()
	if err != nil {
		return Claim{}, fmt.Errorf("claim token: %w", err)
	}
	// Insert a fresh claim, or take over an expired key or a stale claim of
	// the same request.
	var got uuid.UUID
	err = q.QueryRow(ctx, `
		INSERT INTO idempotency_keys AS k (user_id, key, request_hash, status, lock_token, locked_at, expires_at)
		VALUES ($1, $2, $3, 'pending', $4, now(), now() + $5::interval)
		ON CONFLICT (user_id, key) DO UPDATE
		   SET request_hash = EXCLUDED.request_hash, status = 'pending', lock_token = EXCLUDED.lock_token,
		       locked_at = now(), response_status = NULL, response_body = NULL,
		       created_at = now(), expires_at = EXCLUDED.expires_at
		 WHERE k.expires_at < now()
		    OR (k.status = 'pending' AND k.locked_at < now() - $6::interval AND k.request_hash = EXCLUDED.request_hash)
		RETURNING lock_token`,
		user, key, hash, token, KeyTTL.String(), staleClaimAfter.String()).Scan(&got)
	if err == nil {
		return Claim{State: Claimed, Token: got}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Claim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	// Another request claimed it between the read and the insert.
	c, found, err := lookupKey(ctx, q, user, key, hash)
	if err == nil && !found {
		c = Claim{State: InProgress}
	}
	return c, err
}

// lookupKey reports the state of a live (unexpired, not stale) key.
func lookupKey(ctx context.Context, q Querier, user int64, key string, hash []byte) (Claim, bool, error) {
	var (
		storedHash []byte
		status     string
		respStatus *int
		respBody   []byte
	)
	err := q.QueryRow(ctx, `
		SELECT request_hash, status, response_status, response_body
		  FROM idempotency_keys
		 WHERE user_id = $1 AND key = $2 AND expires_at >= now()
		   AND NOT (status = 'pending' AND locked_at < now() - $3::interval AND request_hash = $4)`,
		user, key, staleClaimAfter.String(), hash).Scan(&storedHash, &status, &respStatus, &respBody)
	if errors.Is(err, pgx.ErrNoRows) {
		return Claim{}, false, nil
	}
	if err != nil {
		return Claim{}, false, fmt.Errorf("read idempotency key: %w", err)
	}
	switch {
	case !bytes.Equal(storedHash, hash):
		return Claim{State: Mismatch}, true, nil
	case status == "done" && respStatus != nil:
		return Claim{State: Done, Status: *respStatus, Body: respBody}, true, nil
	default:
		return Claim{State: InProgress}, true, nil
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
func CompleteKey(ctx context.Context, q Querier, user int64, key string, token uuid.UUID, status int, body []byte) error {
	tag, err := q.Exec(ctx, `
		UPDATE idempotency_keys
		   SET status = 'done', response_status = $4, response_body = $5, lock_token = NULL
		 WHERE user_id = $1 AND key = $2 AND lock_token = $3 AND status = 'pending'`,
		user, key, token, status, body)
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

// PurgeKeys deletes keys that expired, at most limit of them.
func PurgeKeys(ctx context.Context, q Querier, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `
		DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT $1))`, limit)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}
