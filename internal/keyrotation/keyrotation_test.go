package keyrotation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wallets/internal/keyrotation"
	"wallets/internal/secretstest"
)

const (
	name   = "wallets/test/jwt-key"
	oldKey = "0ldKey0ldKey0ldKey0ldKey0ldKey0ldKey0ldKey0ldKey0ldKey0ldKey0ldK"
)

// fixture is a secret holding oldKey, rotation enabled, and a rotation
// started as Secrets Manager starts one (RotateSecret with no function to
// run: the token's version is AWSPENDING, without a value).
type fixture struct {
	s        *secretstest.Server
	r        *keyrotation.Rotator
	logs     *bytes.Buffer
	oldID    string
	token    string
	secretID string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := secretstest.New(t)
	f := &fixture{s: s, logs: &bytes.Buffer{}}
	f.oldID = s.Put(name, oldKey)
	f.secretID = s.ARN(name)
	s.SetRotationEnabled(name, true)
	out, err := s.Client().RotateSecret(t.Context(), &secretsmanager.RotateSecretInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	f.token = aws.ToString(out.VersionId)
	f.r = &keyrotation.Rotator{Client: s.Client(), Log: slog.New(slog.NewJSONHandler(f.logs, nil))}
	s.ResetCalls()
	return f
}

func (f *fixture) event(step string) keyrotation.Event {
	return keyrotation.Event{Step: step, SecretID: f.secretID, ClientRequestToken: f.token}
}

func (f *fixture) run(t *testing.T, steps ...string) {
	t.Helper()
	for _, step := range steps {
		if err := f.r.Handle(t.Context(), f.event(step)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
}

func (f *fixture) stages() map[string][]string { return f.s.VersionStages(name) }

func wellFormed(t *testing.T, key string) {
	t.Helper()
	if len(key) != keyrotation.KeyLength || strings.Trim(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		t.Errorf("new key %q: want %d alphanumeric characters", key, keyrotation.KeyLength)
	}
}

func sameStages(a, b map[string][]string) bool {
	return maps.EqualFunc(a, b, func(x, y []string) bool {
		return slices.Equal(slices.Sorted(slices.Values(x)), slices.Sorted(slices.Values(y)))
	})
}

// Each step on its own, from the state the steps before it leave, and what
// it refuses.
func TestSteps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		before []string                   // steps run first
		setup  func(*testing.T, *fixture) // then this
		ev     func(*fixture) keyrotation.Event
		err    error // want errors.Is(err, this); nil: success
		check  func(*testing.T, *fixture)
	}{
		{name: "createSecret puts a new 64-character alphanumeric key as AWSPENDING",
			ev: func(f *fixture) keyrotation.Event { return f.event(keyrotation.CreateSecret) },
			check: func(t *testing.T, f *fixture) {
				p, ok := f.s.Value(name, "AWSPENDING")
				if !ok {
					t.Fatal("no AWSPENDING value")
				}
				wellFormed(t, p)
				if c, _ := f.s.Value(name, "AWSCURRENT"); c != oldKey {
					t.Errorf("AWSCURRENT changed to %q", c)
				}
				if !sameStages(f.stages(), map[string][]string{f.oldID: {"AWSCURRENT"}, f.token: {"AWSPENDING"}}) {
					t.Errorf("stages %v", f.stages())
				}
				if n := f.s.Calls("GetRandomPassword"); n != 1 {
					t.Errorf("GetRandomPassword called %d times", n)
				}
			}},
		{name: "createSecret retried keeps the key it put",
			before: []string{keyrotation.CreateSecret},
			ev:     func(f *fixture) keyrotation.Event { return f.event(keyrotation.CreateSecret) },
			check: func(t *testing.T, f *fixture) {
				if n := f.s.Calls("PutSecretValue") + f.s.Calls("GetRandomPassword"); n != 0 {
					t.Errorf("the retry put a key again (%d calls)", n)
				}
			}},
		{name: "createSecret passes a RotationToken on",
			ev: func(f *fixture) keyrotation.Event {
				ev := f.event(keyrotation.CreateSecret)
				ev.RotationToken = "rotation-token"
				return ev
			},
			check: func(t *testing.T, f *fixture) {
				if _, ok := f.s.Value(name, "AWSPENDING"); !ok {
					t.Error("no AWSPENDING value")
				}
			}},
		{name: "createSecret when GetRandomPassword fails puts nothing",
			setup: func(t *testing.T, f *fixture) { f.s.Fail("GetRandomPassword", secretstest.ErrInternal) },
			ev:    func(f *fixture) keyrotation.Event { return f.event(keyrotation.CreateSecret) },
			err:   errAny,
			check: func(t *testing.T, f *fixture) {
				if n := f.s.Calls("PutSecretValue"); n != 0 {
					t.Errorf("PutSecretValue called %d times", n)
				}
			}},
		{name: "setSecret has nothing to do",
			before: []string{keyrotation.CreateSecret},
			ev:     func(f *fixture) keyrotation.Event { return f.event(keyrotation.SetSecret) },
			check: func(t *testing.T, f *fixture) {
				if n := f.s.Calls("PutSecretValue") + f.s.Calls("UpdateSecretVersionStage"); n != 0 {
					t.Errorf("setSecret changed the secret (%d calls)", n)
				}
			}},
		{name: "testSecret accepts the new key",
			before: []string{keyrotation.CreateSecret, keyrotation.SetSecret},
			ev:     func(f *fixture) keyrotation.Event { return f.event(keyrotation.TestSecret) }},
		{name: "testSecret refuses a short key",
			setup: func(t *testing.T, f *fixture) { f.putPending(t, "short-key-0123456789") },
			ev:    func(f *fixture) keyrotation.Event { return f.event(keyrotation.TestSecret) },
			err:   keyrotation.ErrBadKey},
		{name: "testSecret refuses a key with spaces",
			setup: func(t *testing.T, f *fixture) { f.putPending(t, " spaced key spaced key spaced key spaced key ") },
			ev:    func(f *fixture) keyrotation.Event { return f.event(keyrotation.TestSecret) },
			err:   keyrotation.ErrBadKey},
		{name: "testSecret refuses the current key",
			setup: func(t *testing.T, f *fixture) { f.putPending(t, oldKey) },
			ev:    func(f *fixture) keyrotation.Event { return f.event(keyrotation.TestSecret) },
			err:   keyrotation.ErrBadKey},
		{name: "testSecret before createSecret fails",
			ev:  func(f *fixture) keyrotation.Event { return f.event(keyrotation.TestSecret) },
			err: errAny},
		{name: "finishSecret makes the new key current and the old previous",
			before: []string{keyrotation.CreateSecret, keyrotation.SetSecret, keyrotation.TestSecret},
			ev:     func(f *fixture) keyrotation.Event { return f.event(keyrotation.FinishSecret) },
			check: func(t *testing.T, f *fixture) {
				c, _ := f.s.Value(name, "AWSCURRENT")
				wellFormed(t, c)
				if p, _ := f.s.Value(name, "AWSPREVIOUS"); p != oldKey {
					t.Errorf("AWSPREVIOUS %q, want the old key", p)
				}
				if !sameStages(f.stages(), map[string][]string{f.oldID: {"AWSPREVIOUS"}, f.token: {"AWSPENDING", "AWSCURRENT"}}) {
					t.Errorf("stages %v", f.stages())
				}
			}},
		{name: "every step of a finished rotation does nothing",
			before: keyrotation.Steps,
			setup: func(t *testing.T, f *fixture) {
				for _, step := range keyrotation.Steps {
					if err := f.r.Handle(t.Context(), f.event(step)); err != nil {
						t.Errorf("%s again: %v", step, err)
					}
				}
			},
			ev: func(f *fixture) keyrotation.Event { return f.event(keyrotation.FinishSecret) },
			check: func(t *testing.T, f *fixture) {
				if n := f.s.Calls("PutSecretValue") + f.s.Calls("UpdateSecretVersionStage") + f.s.Calls("GetRandomPassword"); n != 0 {
					t.Errorf("the retries changed the secret (%d calls)", n)
				}
				if p, _ := f.s.Value(name, "AWSPREVIOUS"); p != oldKey {
					t.Errorf("AWSPREVIOUS %q, want the old key", p)
				}
			}},
		{name: "rotation not enabled",
			setup: func(t *testing.T, f *fixture) { f.s.SetRotationEnabled(name, false) },
			ev:    func(f *fixture) keyrotation.Event { return f.event(keyrotation.CreateSecret) },
			err:   keyrotation.ErrRotationDisabled},
		{name: "a token that is no version",
			ev: func(f *fixture) keyrotation.Event {
				ev := f.event(keyrotation.CreateSecret)
				ev.ClientRequestToken = "00000000-0000-4000-8000-00000000dead"
				return ev
			},
			err: keyrotation.ErrNotPending},
		{name: "a token of a version neither pending nor current",
			before: keyrotation.Steps,
			ev: func(f *fixture) keyrotation.Event {
				ev := f.event(keyrotation.CreateSecret)
				ev.ClientRequestToken = f.oldID // AWSPREVIOUS now
				return ev
			},
			err: keyrotation.ErrNotPending},
		{name: "the current version's token: nothing to do",
			ev: func(f *fixture) keyrotation.Event {
				ev := f.event(keyrotation.CreateSecret)
				ev.ClientRequestToken = f.oldID
				return ev
			},
			check: func(t *testing.T, f *fixture) {
				if n := f.s.Calls("PutSecretValue"); n != 0 {
					t.Errorf("PutSecretValue called %d times", n)
				}
			}},
		{name: "an unknown step",
			ev:  func(f *fixture) keyrotation.Event { return f.event("deleteSecret") },
			err: keyrotation.ErrBadEvent},
		{name: "no secret id",
			ev: func(f *fixture) keyrotation.Event {
				return keyrotation.Event{Step: keyrotation.CreateSecret, ClientRequestToken: f.token}
			},
			err: keyrotation.ErrBadEvent},
		{name: "Secrets Manager failing",
			setup: func(t *testing.T, f *fixture) { f.s.Fail("DescribeSecret", secretstest.ErrThrottle) },
			ev:    func(f *fixture) keyrotation.Event { return f.event(keyrotation.FinishSecret) },
			err:   errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.run(t, tc.before...)
			f.s.ResetCalls()
			if tc.setup != nil {
				tc.setup(t, f)
			}
			err := f.r.Handle(t.Context(), tc.ev(f))
			switch {
			case tc.err == nil && err != nil:
				t.Fatalf("Handle: %v", err)
			case tc.err == errAny && err == nil, tc.err != nil && tc.err != errAny && !errors.Is(err, tc.err):
				t.Fatalf("Handle: %v, want %v", err, tc.err)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
			checkLogs(t, f.logs.String(), err != nil)
		})
	}
}

// errAny: any error will do.
var errAny = errors.New("any error")

// putPending replaces the pending version's value as a broken createSecret
// would have put it.
func (f *fixture) putPending(t *testing.T, value string) {
	t.Helper()
	if _, err := f.s.Client().PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(name),
		ClientRequestToken: aws.String(f.token), SecretString: aws.String(value), VersionStages: []string{"AWSPENDING"}}); err != nil {
		t.Fatal(err)
	}
}

// checkLogs: every line is JSON naming its step, the last an error when
// the step failed, and no line carries a key.
func checkLogs(t *testing.T, logs string, failed bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["step"] == nil || m["secret"] == nil || m["version"] == nil {
			t.Errorf("log line %q: want JSON with step, secret, version", l)
		}
		if strings.Contains(l, oldKey) {
			t.Errorf("log line carries the key: %s", l)
		}
	}
	last := lines[len(lines)-1]
	if failed != strings.Contains(last, `"level":"ERROR"`) {
		t.Errorf("last log line %s (step failed: %v)", last, failed)
	}
}

// A whole rotation as Secrets Manager runs it: RotateSecret, then each step
// through the handler, each retried once (Secrets Manager retries a step
// whose invocation it thinks failed).
func TestFullRotation(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	oldID := s.Put(name, oldKey)
	client := s.Client()
	r := &keyrotation.Rotator{Client: client, Log: slog.New(slog.DiscardHandler)}
	var stepErrs []error
	s.SetRotator(func(ctx context.Context, step, arn, token string) error {
		for range 2 {
			if err := r.Handle(ctx, keyrotation.Event{Step: step, SecretID: arn, ClientRequestToken: token}); err != nil {
				stepErrs = append(stepErrs, err)
				return err
			}
		}
		return nil
	})
	var keys []string
	ids := []string{oldID}
	for i := range 3 {
		out, err := client.RotateSecret(t.Context(), &secretsmanager.RotateSecretInput{SecretId: aws.String(name),
			RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:123456789012:function:wallets-test-rotate-key")})
		if err != nil {
			t.Fatal(err)
		}
		if len(stepErrs) > 0 {
			t.Fatalf("rotation %d: %v", i, stepErrs)
		}
		cur, _ := s.Value(name, "AWSCURRENT")
		prev, _ := s.Value(name, "AWSPREVIOUS")
		wellFormed(t, cur)
		want := oldKey
		if i > 0 {
			want = keys[i-1]
		}
		if prev != want || cur == prev || slices.Contains(keys, cur) {
			t.Errorf("rotation %d: AWSCURRENT %q AWSPREVIOUS %q, want a new key and %q", i, cur, prev, want)
		}
		keys = append(keys, cur)
		ids = append(ids, aws.ToString(out.VersionId))
		if !sameStages(s.VersionStages(name), map[string][]string{ids[i]: {"AWSPREVIOUS"}, ids[i+1]: {"AWSCURRENT", "AWSPENDING"}}) {
			t.Errorf("rotation %d: stages %v", i, s.VersionStages(name))
		}
	}
}

// Rotate runs the four steps itself with a fresh token, rotation enabled or
// not, and refuses while another rotation is pending.
func TestRotate(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	oldID := s.Put(name, oldKey)
	client := s.Client()
	ctx := t.Context()
	id, err := keyrotation.Rotate(ctx, client, name)
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := s.Value(name, "AWSCURRENT")
	prev, _ := s.Value(name, "AWSPREVIOUS")
	wellFormed(t, cur)
	if prev != oldKey || id == oldID || !sameStages(s.VersionStages(name), map[string][]string{oldID: {"AWSPREVIOUS"}, id: {"AWSCURRENT", "AWSPENDING"}}) {
		t.Errorf("after Rotate: previous %q, stages %v", prev, s.VersionStages(name))
	}

	// Again, by ARN: the first new key is now the previous one.
	id2, err := keyrotation.Rotate(ctx, client, s.ARN(name))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Value(name, "AWSPREVIOUS"); p != cur || !sameStages(s.VersionStages(name), map[string][]string{id: {"AWSPREVIOUS"}, id2: {"AWSCURRENT", "AWSPENDING"}}) {
		t.Errorf("after the second Rotate: previous %q, stages %v", p, s.VersionStages(name))
	}

	// A rotation left pending (its function failed): Rotate refuses.
	s.SetRotationEnabled(name, true)
	if _, err := client.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := keyrotation.Rotate(ctx, client, name); !errors.Is(err, keyrotation.ErrRotationInProgress) {
		t.Errorf("Rotate with a rotation pending: %v, want ErrRotationInProgress", err)
	}

	// A failing step leaves AWSCURRENT alone.
	s2 := secretstest.New(t)
	s2.Put(name, oldKey)
	s2.Fail("UpdateSecretVersionStage", secretstest.ErrInternal)
	if _, err := keyrotation.Rotate(ctx, s2.Client(), name); err == nil {
		t.Error("Rotate with UpdateSecretVersionStage failing: no error")
	}
	if c, _ := s2.Value(name, "AWSCURRENT"); c != oldKey {
		t.Errorf("a failed rotation changed AWSCURRENT to %q", c)
	}
	if _, err := keyrotation.Rotate(ctx, s.Client(), "wallets/test/nope"); err == nil {
		t.Error("Rotate of an unknown secret: no error")
	}
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	for key, ok := range map[string]bool{
		oldKey:                         true,
		strings.Repeat("a", 32):        true,
		strings.Repeat("a", 31):        false,
		"":                             false,
		strings.Repeat("a", 40) + " ":  false,
		strings.Repeat("a", 40) + "\n": false,
		strings.Repeat("a", 40) + "é":  false,
		strings.Repeat("!#$%&()*+,-./:;<=>?@", 2): true,
	} {
		if err := keyrotation.CheckKey(key); (err == nil) != ok {
			t.Errorf("CheckKey(%q) = %v, want ok %v", key, err, ok)
		}
	}
}
