package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"wallets/internal/apperr"
	"wallets/internal/idempotency"
	"wallets/internal/money"
	"wallets/internal/postgres"
	"wallets/internal/user"
	"wallets/internal/wallet"
)

// keyState returns the status of user's key, "" when there is none.
func (e *env) keyState(t testing.TB, user int64, key string) string {
	t.Helper()
	var status string
	err := e.db.QueryRow(context.Background(), `SELECT status FROM idempotency_keys WHERE user_id = $1 AND key = $2`, user, key).Scan(&status)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return status
}

// depositWork deposits amount into owner's wallet id and answers 200 with
// the new balance; a refusal is answered with its status, as the edge does.
func (e *env) depositWork(owner int64, id uuid.UUID, amount money.Amount, ran *atomic.Int32) idempotency.Work[*postgres.Unit] {
	return func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		if ran != nil {
			ran.Add(1)
		}
		w, err := e.wallets.In(u).Deposit(ctx, owner, id, amount, "keyed")
		if err != nil {
			return refusal(err)
		}
		return idempotency.Answer{Status: http.StatusOK, Body: []byte(w.Balance.String())}, nil
	}
}

// refusal answers an *apperr.Error with a status of its code, or returns a
// fault, as the edge does.
func refusal(err error) (idempotency.Answer, error) {
	e, ok := apperr.As(err)
	if !ok {
		return idempotency.Answer{}, err
	}
	status := map[apperr.Code]int{apperr.Invalid: 400, apperr.NotFound: 404, apperr.Conflict: 409, apperr.Unavailable: 503}[e.Code]
	return idempotency.Answer{Status: status, Body: []byte(e.Error())}, nil
}

// TestRunCommitsWorkWithAnswer: the work's changes and the stored answer
// commit together at the end of Run, not before; the answer is replayed
// without running the work again.
func TestRunCommitsWorkWithAnswer(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	req := idempotency.Request{User: alice.ID, Key: "deposit-1", Hash: []byte("h1")}
	var ran atomic.Int32
	work := e.depositWork(alice.ID, w.UUID, 2500, &ran)
	a, replayed, err := e.keys.Run(ctx, req, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		a, err := work(ctx, u)
		// Inside the unit: nothing is visible to others yet.
		if b, st := e.balance(t, w.UUID), e.keyState(t, req.User, req.Key); b != 0 || st != "pending" {
			t.Errorf("during the work: balance %v, key %q; want 0.00 and pending", b, st)
		}
		a.Headers = map[string][]string{"Set-Cookie": {"jwt=x"}, "Location": {"/here"}}
		return a, err
	})
	if err != nil || replayed || a.Status != 200 || string(a.Body) != "25.00" {
		t.Fatalf("Run: %+v %v %v", a, replayed, err)
	}
	if b, st := e.balance(t, w.UUID), e.keyState(t, req.User, req.Key); b != 2500 || st != "done" {
		t.Errorf("after Run: balance %v, key %q; want 25.00 and done", b, st)
	}
	again, replayed, err := e.keys.Run(ctx, req, work)
	if err != nil || !replayed || again.Status != 200 || !bytes.Equal(again.Body, a.Body) ||
		again.Headers["Set-Cookie"][0] != "jwt=x" || again.Headers["Location"][0] != "/here" {
		t.Errorf("replay: %+v %v %v", again, replayed, err)
	}
	if ran.Load() != 1 || e.balance(t, w.UUID) != 2500 {
		t.Errorf("work ran %d times, balance %v; want once and 25.00", ran.Load(), e.balance(t, w.UUID))
	}
	// The same key for another request is refused; for another user it is
	// another key.
	if _, _, err := e.keys.Run(ctx, idempotency.Request{User: alice.ID, Key: req.Key, Hash: []byte("h2")}, work); !errors.Is(err, apperr.ErrKeyMismatch) {
		t.Errorf("same key, other request: %v", err)
	}
	if _, replayed, err := e.keys.Run(ctx, idempotency.Request{User: alice.ID + 1000, Key: req.Key, Hash: req.Hash}, okWork); err != nil || replayed {
		t.Errorf("same key, other user: %v %v", replayed, err)
	}
	// An expired key is forgotten: the request runs again.
	if _, err := e.db.Exec(ctx, `UPDATE idempotency_keys SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, replayed, err := e.keys.Run(ctx, req, work); err != nil || replayed || ran.Load() != 2 {
		t.Errorf("after expiry: %v %v, work ran %d times", replayed, err, ran.Load())
	}
}

func okWork(context.Context, *postgres.Unit) (idempotency.Answer, error) {
	return idempotency.Answer{Status: http.StatusOK}, nil
}

// TestRunFaultRollsBackAndReleases: a fault, or an answer of 500 or more or
// 429, rolls the work back and releases the key, so a retry runs.
func TestRunFaultRollsBackAndReleases(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	boom := errors.New("boom")
	tests := []struct {
		name    string
		answer  idempotency.Answer
		err     error
		wantErr error
	}{
		{"fault", idempotency.Answer{}, boom, boom},
		{"a fault that wraps a refusal", idempotency.Answer{}, fmt.Errorf("x: %w", wallet.ErrNotFound), wallet.ErrNotFound},
		{"500", idempotency.Answer{Status: 500}, nil, nil},
		{"503", idempotency.Answer{Status: 503}, nil, nil},
		{"429", idempotency.Answer{Status: 429}, nil, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := idempotency.Request{User: alice.ID, Key: fmt.Sprint("fault-", i), Hash: []byte("h")}
			a, replayed, err := e.keys.Run(ctx, req, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
				if _, err := e.wallets.In(u).Deposit(ctx, alice.ID, w.UUID, 100, "lost"); err != nil {
					t.Error(err)
				}
				return tt.answer, tt.err
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) || replayed || a.Status != tt.answer.Status {
				t.Errorf("Run: %+v %v %v", a, replayed, err)
			}
			if b, st := e.balance(t, w.UUID), e.keyState(t, req.User, req.Key); b != 0 || st != "" {
				t.Errorf("after: balance %v, key %q; want 0.00 and released", b, st)
			}
			var ran atomic.Int32
			if _, replayed, err := e.keys.Run(ctx, req, e.depositWork(alice.ID, w.UUID, 100, &ran)); err != nil || replayed || ran.Load() != 1 {
				t.Errorf("retry: %v %v, ran %d", replayed, err, ran.Load())
			}
			if _, err := e.wallets.Withdraw(ctx, alice.ID, w.UUID, -100, "reset"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRunRefusalRollsBackAndKeepsAnswer: a service's refusal rolls back what
// the work changed, and the answer is kept all the same.
func TestRunRefusalRollsBackAndKeepsAnswer(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	req := idempotency.Request{User: alice.ID, Key: "refused", Hash: []byte("h")}
	var ran atomic.Int32
	work := func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		ran.Add(1)
		if _, err := e.wallets.In(u).Deposit(ctx, alice.ID, w.UUID, 100, "in"); err != nil {
			return idempotency.Answer{}, err
		}
		_, err := e.wallets.In(u).Withdraw(ctx, alice.ID, w.UUID, -500, "too much")
		if !errors.Is(err, wallet.ErrNegativeBalance) {
			t.Errorf("overdraft: %v", err)
		}
		return refusal(err)
	}
	a, replayed, err := e.keys.Run(ctx, req, work)
	if err != nil || replayed || a.Status != 409 {
		t.Fatalf("Run: %+v %v %v", a, replayed, err)
	}
	if b, st := e.balance(t, w.UUID), e.keyState(t, req.User, req.Key); b != 0 || st != "done" {
		t.Errorf("after: balance %v, key %q; want 0.00 (rolled back) and done", b, st)
	}
	if again, replayed, err := e.keys.Run(ctx, req, work); err != nil || !replayed || again.Status != 409 || ran.Load() != 1 {
		t.Errorf("replay: %+v %v %v, ran %d", again, replayed, err, ran.Load())
	}
	// A refusal found before the refusing method writes still rolls back
	// what the work wrote before it.
	req3 := idempotency.Request{User: alice.ID, Key: "refused-after-a-write", Hash: []byte("h")}
	a, _, err = e.keys.Run(ctx, req3, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		if _, err := e.wallets.In(u).Deposit(ctx, alice.ID, w.UUID, 100, "in"); err != nil {
			return idempotency.Answer{}, err
		}
		_, err := e.wallets.In(u).Deposit(ctx, alice.ID, w.UUID, -1, "bad")
		return refusal(err)
	})
	if b := e.balance(t, w.UUID); err != nil || a.Status != 400 || b != 0 || e.keyState(t, req3.User, req3.Key) != "done" {
		t.Errorf("refusal after a write: %+v %v, balance %v, key %q", a, err, b, e.keyState(t, req3.User, req3.Key))
	}
	// A refusal before any write (no transaction) is kept too.
	req2 := idempotency.Request{User: alice.ID, Key: "refused-early", Hash: []byte("h")}
	a, _, err = e.keys.Run(ctx, req2, e.depositWork(alice.ID, w.UUID, -1, nil))
	if err != nil || a.Status != 400 || e.keyState(t, req2.User, req2.Key) != "done" {
		t.Errorf("early refusal: %+v %v, key %q", a, err, e.keyState(t, req2.User, req2.Key))
	}
}

// TestRunCollectRejectionCommits: a collect rejected for want of funds under
// a key commits the rejection with the 409 answer.
func TestRunCollectRejectionCommits(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	shop := e.newUser(t, "shop", user.BusinessType)
	cw := e.newWallet(t, alice.ID)
	if _, err := e.wallets.OpenBusinessWallet(ctx, shop.ID); err != nil {
		t.Fatal(err)
	}
	charge, err := e.wallets.OpenCharge(ctx, alice.ID, shop.ID, cw.UUID, 500, "buy")
	if err != nil {
		t.Fatal(err)
	}
	req := idempotency.Request{User: shop.ID, Key: "collect", Hash: []byte("h")}
	work := func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		tr, err := e.wallets.In(u).Collect(ctx, shop.ID, charge.UUID)
		if !errors.Is(err, wallet.ErrNegativeBalance) || tr.Status != wallet.Rejected {
			t.Errorf("collect: %+v %v", tr, err)
		}
		return refusal(err)
	}
	a, _, err := e.keys.Run(ctx, req, work)
	if err != nil || a.Status != 409 {
		t.Fatalf("Run: %+v %v", a, err)
	}
	if st, k := e.status(t, charge.UUID), e.keyState(t, req.User, req.Key); st != wallet.Rejected || k != "done" {
		t.Errorf("after: charge %v, key %q; want rejected and done", st, k)
	}
	if again, replayed, err := e.keys.Run(ctx, req, work); err != nil || !replayed || again.Status != 409 {
		t.Errorf("replay: %+v %v %v", again, replayed, err)
	}
}

// TestRunSameKeyConcurrently: of many requests with one key at once, exactly
// one runs the work; the others hear it is in progress, or its answer.
func TestRunSameKeyConcurrently(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	req := idempotency.Request{User: alice.ID, Key: "race", Hash: []byte("h")}
	var ran atomic.Int32
	deposit := e.depositWork(alice.ID, w.UUID, 100, &ran)
	work := func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
		a, err := deposit(ctx, u)
		time.Sleep(20 * time.Millisecond) // hold the key a while
		return a, err
	}
	const n = 40
	var wg sync.WaitGroup
	var firsts, replays, busy atomic.Int32
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			a, replayed, err := e.keys.Run(ctx, req, work)
			switch {
			case err == nil && !replayed && a.Status == 200:
				firsts.Add(1)
			case err == nil && replayed && a.Status == 200 && string(a.Body) == "1.00":
				replays.Add(1)
			case errors.Is(err, apperr.ErrKeyInProgress):
				busy.Add(1)
			default:
				t.Errorf("Run: %+v %v %v", a, replayed, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ran.Load() != 1 || firsts.Load() != 1 || e.balance(t, w.UUID) != 100 {
		t.Errorf("work ran %d times, %d first answers, balance %v; want 1, 1 and 1.00", ran.Load(), firsts.Load(), e.balance(t, w.UUID))
	}
	t.Logf("%d in progress, %d replays", busy.Load(), replays.Load())
}

// TestRunConcurrentKeyedDeposits: keyed deposits into one wallet from many
// goroutines, each retried once, are each applied exactly once.
func TestRunConcurrentKeyedDeposits(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	const n = 40
	var wg sync.WaitGroup
	var ran atomic.Int32
	for i := range n {
		wg.Go(func() {
			req := idempotency.Request{User: alice.ID, Key: fmt.Sprint("k", i), Hash: []byte("h")}
			work := e.depositWork(alice.ID, w.UUID, 100, &ran)
			for attempt := range 2 {
				a, replayed, err := e.keys.Run(ctx, req, work)
				if err != nil || a.Status != 200 || replayed != (attempt == 1) {
					t.Errorf("%s attempt %d: %+v %v %v", req.Key, attempt, a, replayed, err)
				}
			}
		})
	}
	wg.Wait()
	if b := e.balance(t, w.UUID); ran.Load() != n || b != n*100 || e.ledger(t, w.UUID) != b {
		t.Errorf("work ran %d times, balance %v, ledger %v; want %d and %v", ran.Load(), b, e.ledger(t, w.UUID), n, money.Amount(n*100))
	}
}

// TestRunClaims covers the claim protocol's other states: a key in progress,
// a stale claim taken over (its old holder can then neither write nor store
// its answer), and a stale claim whose work is under way (not taken over).
func TestRunClaims(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	makeStale := func(key string) {
		t.Helper()
		if _, err := e.db.Exec(ctx, `UPDATE idempotency_keys SET locked_at = now() - interval '1 hour' WHERE key = $1`, key); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("in progress", func(t *testing.T) {
		req := idempotency.Request{User: alice.ID, Key: "busy", Hash: []byte("h")}
		_, _, err := e.keys.Run(ctx, req, func(context.Context, *postgres.Unit) (idempotency.Answer, error) {
			if _, _, err := e.keys.Run(context.Background(), req, okWork); !errors.Is(err, apperr.ErrKeyInProgress) {
				t.Errorf("while held: %v", err)
			}
			return idempotency.Answer{Status: 201}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("taken over before the work writes", func(t *testing.T) {
		req := idempotency.Request{User: alice.ID, Key: "stale-write", Hash: []byte("h")}
		_, _, err := e.keys.Run(ctx, req, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
			makeStale(req.Key)
			if a, replayed, err := e.keys.Run(context.Background(), req, func(context.Context, *postgres.Unit) (idempotency.Answer, error) {
				return idempotency.Answer{Status: 201, Body: []byte("taker")}, nil
			}); err != nil || replayed || a.Status != 201 {
				t.Errorf("takeover: %+v %v %v", a, replayed, err)
			}
			return e.depositWork(alice.ID, w.UUID, 100, nil)(ctx, u)
		})
		if !errors.Is(err, apperr.ErrKeyInProgress) {
			t.Errorf("old holder: %v, want ErrKeyInProgress", err)
		}
		if b := e.balance(t, w.UUID); b != 0 {
			t.Errorf("the old holder's deposit went through: balance %v", b)
		}
		if a, replayed, _ := e.keys.Run(ctx, req, okWork); !replayed || string(a.Body) != "taker" {
			t.Errorf("replay: %+v %v, want the taker's answer", a, replayed)
		}
	})

	t.Run("taken over before the answer is stored", func(t *testing.T) {
		req := idempotency.Request{User: alice.ID, Key: "stale-answer", Hash: []byte("h")}
		_, _, err := e.keys.Run(ctx, req, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
			makeStale(req.Key)
			if _, _, err := e.keys.Run(context.Background(), req, okWork); err != nil {
				t.Errorf("takeover: %v", err)
			}
			return idempotency.Answer{Status: 404}, nil
		})
		if !errors.Is(err, apperr.ErrKeyInProgress) {
			t.Errorf("old holder: %v, want ErrKeyInProgress", err)
		}
	})

	t.Run("stale but under way", func(t *testing.T) {
		req := idempotency.Request{User: alice.ID, Key: "stale-locked", Hash: []byte("h")}
		a, _, err := e.keys.Run(ctx, req, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
			makeStale(req.Key)
			a, err := e.depositWork(alice.ID, w.UUID, 100, nil)(ctx, u) // locks the claim
			if _, _, err := e.keys.Run(context.Background(), req, okWork); !errors.Is(err, apperr.ErrKeyInProgress) {
				t.Errorf("takeover of a claim in use: %v", err)
			}
			return a, err
		})
		if err != nil || a.Status != 200 || e.balance(t, w.UUID) != 100 {
			t.Errorf("holder: %+v %v, balance %v", a, err, e.balance(t, w.UUID))
		}
	})
}

// TestRunPanic: a panicking work leaves no transaction open and the key
// released.
func TestRunPanic(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	req := idempotency.Request{User: alice.ID, Key: "panic", Hash: []byte("h")}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not go through")
			}
		}()
		_, _, _ = e.keys.Run(ctx, req, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
			_, _ = e.depositWork(alice.ID, w.UUID, 100, nil)(ctx, u)
			panic("work")
		})
	}()
	if b, st := e.balance(t, w.UUID), e.keyState(t, req.User, req.Key); b != 0 || st != "" {
		t.Errorf("after the panic: balance %v, key %q", b, st)
	}
	// The unit's connection went back to the pool, unlocked: a retry runs.
	if a, _, err := e.keys.Run(ctx, req, e.depositWork(alice.ID, w.UUID, 100, nil)); err != nil || a.Status != 200 {
		t.Errorf("retry: %+v %v", a, err)
	}
}

// TestRunUnitEnded: a service bound to a unit and kept past the work writes
// nothing once Run has ended the unit: it fails with postgres.ErrUnitEnded,
// and the same service unbound still writes on its own.
func TestRunUnitEnded(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.newUser(t, "alice", user.CustomerType)
	w := e.newWallet(t, alice.ID)
	for _, tt := range []struct {
		name   string
		answer idempotency.Answer
		err    error
	}{
		{"kept", idempotency.Answer{Status: 200}, nil},
		{"refused", idempotency.Answer{Status: 409}, nil},
		{"fault", idempotency.Answer{}, errors.New("boom")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var kept *postgres.Wallets
			req := idempotency.Request{User: alice.ID, Key: "ended-" + tt.name, Hash: []byte("h")}
			_, _, _ = e.keys.Run(ctx, req, func(ctx context.Context, u *postgres.Unit) (idempotency.Answer, error) {
				kept = e.wallets.In(u)
				return tt.answer, tt.err
			})
			before := e.balance(t, w.UUID)
			if _, err := kept.Deposit(ctx, alice.ID, w.UUID, 100, "late"); !errors.Is(err, postgres.ErrUnitEnded) {
				t.Errorf("deposit after the unit ended: %v, want ErrUnitEnded", err)
			}
			if _, err := kept.OpenWallet(ctx, alice.ID); !errors.Is(err, postgres.ErrUnitEnded) {
				t.Errorf("open after the unit ended: %v, want ErrUnitEnded", err)
			}
			if b := e.balance(t, w.UUID); b != before {
				t.Errorf("balance %v after a late deposit, want %v", b, before)
			}
			if _, err := e.wallets.Deposit(ctx, alice.ID, w.UUID, 100, "unbound"); err != nil || e.balance(t, w.UUID) != before+100 {
				t.Errorf("unbound deposit: %v, balance %v", err, e.balance(t, w.UUID))
			}
		})
	}
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for i := range 3 {
		if _, _, err := e.keys.Run(ctx, idempotency.Request{User: 7, Key: fmt.Sprint("k", i), Hash: []byte("h")}, okWork); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.db.Exec(ctx, `
		UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key <> 'k0';
		INSERT INTO login_attempts (username, attempted_at) VALUES
			('a', now() - interval '1 hour'), ('b', now() - interval '16 minutes'), ('c', now())`); err != nil {
		t.Fatal(err)
	}
	if n, err := e.keys.Purge(ctx, 1); err != nil || n != 2 {
		t.Errorf("purge of at most 1 of each: %d %v, want 2", n, err)
	}
	if n, err := e.keys.Purge(ctx, 100); err != nil || n != 2 {
		t.Errorf("purge of the rest: %d %v, want 2", n, err)
	}
	var keys, attempts int
	_ = e.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM idempotency_keys), (SELECT count(*) FROM login_attempts)`).Scan(&keys, &attempts)
	if keys != 1 || attempts != 1 {
		t.Errorf("%d keys and %d attempts left, want the live ones", keys, attempts)
	}
}
