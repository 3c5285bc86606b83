// Package keys keeps a process's secret keys fresh: a Ring holds a key's
// current and previous versions, re-reads them from their Source when they
// are older than a TTL and, at once, when asked for a version it does not
// know (a token or cursor signed by a container that saw a rotation first).
// The current version signs; the current and previous ones verify, so a
// rotation (the new value becomes current, the old one previous) breaks no
// token and no cursor.
package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MinLen is the shortest key a Ring accepts, in bytes (HMAC-SHA256 keys
// shorter than the hash add no strength and suggest a misconfiguration).
const MinLen = 32

// Set is a key's versions as its Source holds them.
type Set struct {
	// Current signs (and verifies).
	Current []byte
	// Previous still verifies; nil when the key was never rotated.
	Previous []byte
}

// Source reads a key's versions.
type Source interface {
	Read(ctx context.Context) (Set, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (Set, error)

// Read calls f.
func (f SourceFunc) Read(ctx context.Context) (Set, error) { return f(ctx) }

// Static is a Source that never changes (keys from the environment).
func Static(s Set) Source {
	return SourceFunc(func(context.Context) (Set, error) { return s, nil })
}

// ID names a key version without revealing it: the first 16 hex digits of
// its SHA-256. Tokens carry it in their kid header, cursors in their prefix.
func ID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// Options tune a Ring.
type Options struct {
	// TTL is how long a read stays fresh; 0 means DefaultTTL.
	TTL time.Duration
	// MinInterval bounds how often an unknown version forces a read (a
	// client sending made-up kids must not turn each request into a
	// Secrets Manager call); 0 means DefaultMinInterval.
	MinInterval time.Duration
	// RetryAfter is how long a failed re-read keeps the stale versions
	// before trying again; 0 means DefaultRetryAfter.
	RetryAfter time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultTTL         = 5 * time.Minute
	DefaultMinInterval = time.Second
	DefaultRetryAfter  = 10 * time.Second
)

// ReadTimeout bounds one read of a Source: a request waiting on a re-read
// must not wait out its whole deadline on an unreachable Secrets Manager
// (it then goes on with the stale versions).
const ReadTimeout = 2 * time.Second

// Ring is a key's versions, kept fresh from its Source. It is safe for
// concurrent use; a read holds the ring's lock, so concurrent callers wait
// for one read rather than each making their own.
type Ring struct {
	name string
	src  Source
	opts Options

	mu       sync.Mutex
	current  string            // ID of the signing version
	versions map[string][]byte // by ID: current and previous
	next     time.Time         // when the versions are stale
	forced   time.Time         // the last read an unknown ID forced
	failures int               // reads failed in a row (stale versions in use)
}

// NewRing reads src once and returns the ring; it fails when the read does
// (a process must not start without its keys). name names the key in errors.
func NewRing(ctx context.Context, name string, src Source, opts Options) (*Ring, error) {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = DefaultMinInterval
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Ring{name: name, src: src, opts: opts}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.read(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Name is the key's name, as given to NewRing.
func (r *Ring) Name() string { return r.name }

// read replaces the versions from the source; the caller holds r.mu.
func (r *Ring) read(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadTimeout)
	defer cancel()
	s, err := r.src.Read(ctx)
	if err == nil {
		err = s.check()
	}
	now := r.opts.Now()
	if err != nil {
		r.failures++
		r.next = now.Add(r.opts.RetryAfter)
		return fmt.Errorf("%s key: %w", r.name, err)
	}
	versions := map[string][]byte{ID(s.Current): s.Current}
	if len(s.Previous) > 0 {
		if _, dup := versions[ID(s.Previous)]; !dup {
			versions[ID(s.Previous)] = s.Previous
		}
	}
	r.current, r.versions = ID(s.Current), versions
	r.next, r.failures = now.Add(r.opts.TTL), 0
	return nil
}

func (s Set) check() error {
	if len(s.Current) < MinLen {
		return fmt.Errorf("current version: %d bytes, need at least %d", len(s.Current), MinLen)
	}
	if len(s.Previous) > 0 && len(s.Previous) < MinLen {
		return fmt.Errorf("previous version: %d bytes, need at least %d", len(s.Previous), MinLen)
	}
	return nil
}

// refresh re-reads the versions when they are stale. A failed read keeps
// the stale versions (Secrets Manager briefly unreachable must not stop
// signing and verifying) and is retried after RetryAfter; the caller holds
// r.mu.
func (r *Ring) refresh(ctx context.Context) {
	if r.opts.Now().Before(r.next) {
		return
	}
	_ = r.read(ctx) // stale versions stay in use; Stale reports it
}

// Signing returns the current version and its ID, re-reading the source
// first when the versions are stale.
func (r *Ring) Signing(ctx context.Context) (id string, key []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh(ctx)
	return r.current, r.versions[r.current]
}

// Verifying returns the version named id, re-reading the source when the
// versions are stale or id is unknown (at most once per MinInterval for
// unknown IDs). ok is false when no version has that ID.
func (r *Ring) Verifying(ctx context.Context, id string) (key []byte, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh(ctx)
	if k, ok := r.versions[id]; ok {
		return k, true
	}
	now := r.opts.Now()
	if now.Sub(r.forced) < r.opts.MinInterval {
		return nil, false
	}
	r.forced = now
	if err := r.read(ctx); err != nil {
		return nil, false
	}
	k, ok := r.versions[id]
	return k, ok
}

// All returns every version that verifies, the current one first (for
// tokens and cursors made before they named their key).
func (r *Ring) All(ctx context.Context) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh(ctx)
	all := [][]byte{r.versions[r.current]}
	for id, k := range r.versions {
		if id != r.current {
			all = append(all, k)
		}
	}
	return all
}

// Stale reports whether the last reads failed, so that the versions in use
// may be out of date (for a health check or a log line).
func (r *Ring) Stale() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures > 0
}

// ErrNoKey is returned by a Source that has nothing configured.
var ErrNoKey = errors.New("no key configured")

// StaticRing is a ring over Static(s), for tests and tools with fixed keys.
func StaticRing(name string, s Set) (*Ring, error) {
	return NewRing(context.Background(), name, Static(s), Options{})
}
