package keys

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// source is a Source a test changes and breaks, counting its reads.
type source struct {
	mu    sync.Mutex
	set   Set
	err   error
	reads int
}

func (s *source) Read(context.Context) (Set, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return s.set, s.err
}

func (s *source) change(f func(*source)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *source) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func key(c string) []byte            { return []byte(strings.Repeat(c, 32)) }
func newRing(t *testing.T, src Source, c *clock) *Ring {
	t.Helper()
	r, err := NewRing(context.Background(), "test", src, Options{TTL: time.Minute, MinInterval: time.Second, RetryAfter: 10 * time.Second, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRingRereadsAfterTTL(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1e9, 0)}
	src := &source{set: Set{Current: key("a")}}
	r := newRing(t, src, c)
	if id, k := r.Signing(ctx); id != ID(key("a")) || string(k) != string(key("a")) {
		t.Fatalf("Signing = %s, %q", id, k)
	}
	src.change(func(s *source) { s.set = Set{Current: key("b"), Previous: key("a")} })
	c.add(59 * time.Second)
	if id, _ := r.Signing(ctx); id != ID(key("a")) || src.count() != 1 {
		t.Errorf("re-read before the TTL: %s after %d reads", id, src.count())
	}
	c.add(time.Second)
	if id, _ := r.Signing(ctx); id != ID(key("b")) || src.count() != 2 {
		t.Errorf("after the TTL: signing with %s after %d reads, want the new key", id, src.count())
	}
	if _, ok := r.Verifying(ctx, ID(key("a"))); !ok {
		t.Error("the previous version no longer verifies")
	}
	if all := r.All(ctx); len(all) != 2 || string(all[0]) != string(key("b")) {
		t.Errorf("All = %q, want current first, then previous", all)
	}
}

// An unknown ID forces a read (another container saw the rotation first),
// at most once per MinInterval.
func TestRingRereadsOnUnknownID(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1e9, 0)}
	src := &source{set: Set{Current: key("a")}}
	r := newRing(t, src, c)
	src.change(func(s *source) { s.set = Set{Current: key("b"), Previous: key("a")} })
	if k, ok := r.Verifying(ctx, ID(key("b"))); !ok || string(k) != string(key("b")) {
		t.Fatalf("a new version was not found by re-reading: %q %v", k, ok)
	}
	if id, _ := r.Signing(ctx); id != ID(key("b")) {
		t.Errorf("after the forced read, signing with %s", id)
	}
	reads := src.count()
	for range 100 {
		if _, ok := r.Verifying(ctx, "made-up"); ok {
			t.Fatal("a made-up ID verified")
		}
	}
	if got := src.count() - reads; got != 0 {
		t.Errorf("100 made-up IDs within MinInterval of the last forced read made %d reads, want 0", got)
	}
	c.add(time.Second)
	for range 100 {
		r.Verifying(ctx, "made-up")
	}
	if got := src.count() - reads; got != 1 {
		t.Errorf("100 made-up IDs after MinInterval: %d reads, want 1", got)
	}
}

// A failed re-read keeps the stale versions in use and retries after
// RetryAfter; a ring never starts without a key.
func TestRingKeepsStaleVersionsOnError(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1e9, 0)}
	src := &source{set: Set{Current: key("a")}}
	r := newRing(t, src, c)
	src.change(func(s *source) { s.err = errors.New("unreachable") })
	c.add(time.Minute)
	if id, _ := r.Signing(ctx); id != ID(key("a")) || !r.Stale() {
		t.Errorf("on a failed read: signing with %s, stale %v", id, r.Stale())
	}
	reads := src.count()
	c.add(9 * time.Second)
	r.Signing(ctx)
	if src.count() != reads {
		t.Error("retried before RetryAfter")
	}
	src.change(func(s *source) { s.err, s.set = nil, Set{Current: key("b"), Previous: key("a")} })
	c.add(time.Second)
	if id, _ := r.Signing(ctx); id != ID(key("b")) || r.Stale() {
		t.Errorf("after recovering: signing with %s, stale %v", id, r.Stale())
	}

	for _, bad := range []Source{
		&source{err: errors.New("unreachable")},
		Static(Set{Current: []byte("short")}),
		Static(Set{Current: key("a"), Previous: []byte("short")}),
		Static(Set{}),
	} {
		if _, err := NewRing(ctx, "test", bad, Options{}); err == nil {
			t.Errorf("NewRing accepted %v", bad)
		}
	}
}

// fakeSM answers GetSecretValue from versions by stage.
type fakeSM struct {
	versions map[string]string
	err      error
}

func (f fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.versions[*in.VersionStage]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: new(string)}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: &v}, nil
}

func TestSecretsManagerSource(t *testing.T) {
	ctx := context.Background()
	cur, prev := strings.Repeat("c", 64), strings.Repeat("p", 64)
	for _, tc := range []struct {
		name    string
		sm      fakeSM
		want    Set
		wantErr bool
	}{
		{"rotated", fakeSM{versions: map[string]string{"AWSCURRENT": cur + "\n", "AWSPREVIOUS": prev}}, Set{Current: []byte(cur), Previous: []byte(prev)}, false},
		{"never rotated", fakeSM{versions: map[string]string{"AWSCURRENT": cur}}, Set{Current: []byte(cur)}, false},
		{"no current", fakeSM{versions: map[string]string{}}, Set{}, true},
		{"unreachable", fakeSM{err: errors.New("dial tcp: timeout")}, Set{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SecretsManager(tc.sm, "wallets/test/jwt-key").Read(ctx)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if string(got.Current) != string(tc.want.Current) || string(got.Previous) != string(tc.want.Previous) {
				t.Errorf("read %q / %q, want %q / %q", got.Current, got.Previous, tc.want.Current, tc.want.Previous)
			}
		})
	}
}

// Many goroutines signing and verifying while the source rotates: every
// version they get is one the source held (run with -race).
func TestRingConcurrent(t *testing.T) {
	ctx := context.Background()
	src := &source{set: Set{Current: key("a")}}
	r, err := NewRing(ctx, "test", src, Options{TTL: time.Microsecond, MinInterval: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				id, k := r.Signing(ctx)
				if ID(k) != id {
					t.Error("Signing returned a key with another's ID")
					return
				}
				r.Verifying(ctx, id)
			}
		}()
	}
	for _, c := range "bcdef" {
		src.change(func(s *source) { s.set = Set{Current: key(string(c)), Previous: s.set.Current} })
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
}
