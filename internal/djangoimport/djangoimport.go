// Package djangoimport carries the old Django service's users, wallets and
// transactions into this service's database (../shared/DJANGO_IMPORT.md
// describes the old tables).
//
// Run reads the whole old database first and refuses, writing nothing, when
// the data needs a human decision (a wallet under two owners, a transaction
// on a wallet no one owns…: see RefusedError). It then writes in batches,
// each its own transaction, every row keyed by its old identity (user id,
// wallet and transaction uuid) and inserted only if absent. So a second run
// changes nothing, a run killed halfway and run again ends as one clean run
// would, and rows the service changed since (a charge collected, a password
// rehashed, a balance moved) are left as they are.
//
// Reconciliation: every wallet keeps its stored balance (what its owner
// saw); where the old rows disagree with it, one adjusting transaction on the
// wallet makes the ledger agree, and the report names it.
package djangoimport

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune a run; the zero value is ready to use.
type Options struct {
	// BatchSize is the number of rows written per database transaction
	// (default 5000).
	BatchSize int
	// Progress receives a line per batch written; nil discards them.
	Progress io.Writer
	// Source names the old database in the import_runs row (a URL, whose
	// password is dropped).
	Source string
}

func (o Options) batch() int {
	if o.BatchSize <= 0 {
		return 5000
	}
	return o.BatchSize
}

// Run imports the old database old into target, whose schema must be
// migrated (migrations 00001 and 00002), and returns the report. It fails
// with a *RefusedError, having written nothing, when the old data needs a
// human decision or target holds accounts that no import wrote.
func Run(ctx context.Context, old, target *pgxpool.Pool, opts Options) (*Report, error) {
	start := time.Now()
	src, err := load(ctx, old)
	if err != nil {
		return nil, err
	}
	plan, cases := src.plan()
	if err := checkTarget(ctx, target); err != nil {
		var refused *RefusedError
		if !errors.As(err, &refused) {
			return nil, err
		}
		cases = append(cases, refused.Cases...)
	}
	if len(cases) > 0 {
		return nil, &RefusedError{Cases: cases}
	}

	var runID int64
	if err := target.QueryRow(ctx, `INSERT INTO import_runs (source) VALUES ($1) RETURNING id`,
		redact(opts.Source)).Scan(&runID); err != nil {
		return nil, fmt.Errorf("record import run: %w", err)
	}
	w := &writer{db: target, batch: opts.batch(), progress: opts.Progress}
	rep := plan.report
	rep.Started = start
	if err := w.run(ctx, old, plan, rep); err != nil {
		// Best effort, even when ctx is done: the run's row says it failed.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = target.Exec(fctx, `UPDATE import_runs SET status = 'failed', finished_at = now() WHERE id = $1`, runID)
		return nil, err
	}
	rep.Duration = time.Since(start)
	body, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	if _, err := target.Exec(ctx, `
		UPDATE import_runs SET status = 'done', finished_at = now(), report = $2 WHERE id = $1`, runID, string(body)); err != nil {
		return nil, fmt.Errorf("record import run: %w", err)
	}
	return rep, nil
}

// checkTarget refuses a target that already holds users no import wrote:
// their ids, usernames and emails could collide with the old ones.
func checkTarget(ctx context.Context, target *pgxpool.Pool) error {
	var users, runs int64
	if err := target.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM import_runs)`).Scan(&users, &runs); err != nil {
		return fmt.Errorf("inspect the target database: %w", err)
	}
	if users > 0 && runs == 0 {
		return &RefusedError{Cases: []Case{{Kind: "target not empty", ID: "users",
			Detail: fmt.Sprintf("the target database already has %d users that no import wrote", users)}}}
	}
	return nil
}

// Case is one thing in the old data that needs a human decision.
type Case struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"` // the wallet or transaction uuid, or the user id
	Detail string `json:"detail"`
}

// RefusedError is the error of a run that wrote nothing because the data
// needs a human decision; it lists each case.
type RefusedError struct {
	Cases []Case
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "djangoimport: refused, nothing written: %d case(s) need a human decision", len(e.Cases))
	for _, c := range e.Cases {
		fmt.Fprintf(&b, "\n  %s %s: %s", c.Kind, c.ID, c.Detail)
	}
	return b.String()
}

// adjustmentNS makes adjustment uuids: the same wallet gets the same
// adjustment on every run.
var adjustmentNS = uuid.MustParse("6f1c2a4e-3b8d-5e7f-9a0b-1c2d3e4f5a6b")

// adjustmentID is the uuid of the adjusting transaction of wallet w.
func adjustmentID(w uuid.UUID) uuid.UUID {
	return uuid.NewHash(sha1.New(), adjustmentNS, w[:], 5)
}

// dsnPassword is a password setting of a keyword/value DSN, its value bare
// or single-quoted (with \' and \\ escapes).
var dsnPassword = regexp.MustCompile(`(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']\S*)`)

// redact drops the password from a database URL (userinfo or ?password=)
// or a keyword/value DSN, as pgx accepts either.
func redact(s string) string {
	if !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
		return dsnPassword.ReplaceAllString(s, "${1}xxxxx")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable database URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// noRows reports whether err is pgx's "no rows".
func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
