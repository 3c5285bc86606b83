// Package keyrotation rotates the service's HMAC keys in Secrets Manager
// (wallets/<stage>/jwt-key, wallets/<stage>/cursor-key: each a secret whose
// SecretString is KeyLength random alphanumeric characters): the logic of
// the rotation function (functions/rotate-key), following the contract of a
// Secrets Manager rotation Lambda.
//
// Secrets Manager rotates a secret by creating a version (the event's
// ClientRequestToken) labelled AWSPENDING, without a value, then invoking
// the function once per step, retrying a step that fails:
//
//   - createSecret: a new key from GetRandomPassword, put as that version's
//     value with the label AWSPENDING (nothing to do if it has one already);
//   - setSecret: nothing: the keys are the service's own, there is no
//     external system to tell;
//   - testSecret: the pending value is a well-formed key (CheckKey) and not
//     the current one;
//   - finishSecret: AWSCURRENT moves to the new version
//     (UpdateSecretVersionStage), which leaves AWSPREVIOUS on the old one.
//
// Every step first checks that rotation is enabled and that the token is a
// version of the secret labelled AWSPENDING; one already AWSCURRENT means
// the rotation is done, and the step does nothing. So each step may run any
// number of times.
//
// The application reads AWSCURRENT and AWSPREVIOUS and accepts both: a
// token or cursor signed before a rotation still verifies after it, until
// the next one.
package keyrotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"
)

// Client is the part of the Secrets Manager API a rotation calls;
// *secretsmanager.Client implements it.
type Client interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	GetRandomPassword(context.Context, *secretsmanager.GetRandomPasswordInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetRandomPasswordOutput, error)
}

var _ Client = (*secretsmanager.Client)(nil)

// The steps of a rotation, in order.
const (
	CreateSecret = "createSecret"
	SetSecret    = "setSecret"
	TestSecret   = "testSecret"
	FinishSecret = "finishSecret"
)

// Steps are the four steps in the order Secrets Manager runs them.
var Steps = []string{CreateSecret, SetSecret, TestSecret, FinishSecret}

// The staging labels.
const (
	current = "AWSCURRENT"
	pending = "AWSPENDING"
)

// KeyLength is the length of a new key; MinKeyLength the shortest key
// testSecret accepts (HS256 wants 32 bytes or more).
const (
	KeyLength    = 64
	MinKeyLength = 32
)

// Event is what Secrets Manager invokes a rotation function with.
// RotationToken, when present, is passed on to PutSecretValue.
type Event struct {
	Step               string `json:"Step"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	RotationToken      string `json:"RotationToken,omitempty"`
}

// Errors of a step (wrapped with the secret and version).
var (
	ErrBadEvent           = errors.New("keyrotation: bad event")
	ErrRotationDisabled   = errors.New("keyrotation: rotation is not enabled for the secret")
	ErrNotPending         = errors.New("keyrotation: the version is not pending rotation")
	ErrRotationInProgress = errors.New("keyrotation: another rotation is in progress")
	ErrBadKey             = errors.New("keyrotation: not a well-formed key")
)

// Rotator runs the steps of rotations.
type Rotator struct {
	Client Client
	// Log receives one line per step (never a key); nil means
	// slog.Default().
	Log *slog.Logger
}

// Handle runs the event's step, after checking that rotation is enabled
// for the secret and that the token is its AWSPENDING version (or its
// AWSCURRENT one: a step of a finished rotation, retried, does nothing).
func (r *Rotator) Handle(ctx context.Context, ev Event) error {
	return r.handle(ctx, ev, true)
}

func (r *Rotator) handle(ctx context.Context, ev Event, requireEnabled bool) (err error) {
	start := time.Now()
	outcome := ""
	defer func() {
		attrs := []any{"step", ev.Step, "secret", ev.SecretID, "version", ev.ClientRequestToken,
			"duration_ms", time.Since(start).Milliseconds()}
		if err != nil {
			r.log().ErrorContext(ctx, "rotation step failed", append(attrs, "error", err.Error())...)
			return
		}
		r.log().InfoContext(ctx, "rotation step", append(attrs, "outcome", outcome)...)
	}()
	if ev.SecretID == "" || ev.ClientRequestToken == "" {
		return fmt.Errorf("%w: SecretId and ClientRequestToken are required", ErrBadEvent)
	}
	if !slices.Contains(Steps, ev.Step) {
		return fmt.Errorf("%w: unknown step %q", ErrBadEvent, ev.Step)
	}
	meta, err := r.Client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &ev.SecretID})
	if err != nil {
		return fmt.Errorf("describe secret %s: %w", ev.SecretID, err)
	}
	if requireEnabled && !aws.ToBool(meta.RotationEnabled) {
		return fmt.Errorf("%w: %s", ErrRotationDisabled, ev.SecretID)
	}
	stages, ok := meta.VersionIdsToStages[ev.ClientRequestToken]
	switch {
	case !ok:
		return fmt.Errorf("%w: secret %s has no version %s with a stage", ErrNotPending, ev.SecretID, ev.ClientRequestToken)
	case slices.Contains(stages, current):
		outcome = "already current"
		return nil
	case !slices.Contains(stages, pending):
		return fmt.Errorf("%w: version %s of secret %s is not AWSPENDING (it is %v)", ErrNotPending, ev.ClientRequestToken, ev.SecretID, stages)
	}
	switch ev.Step {
	case CreateSecret:
		outcome, err = r.createSecret(ctx, ev)
	case SetSecret:
		outcome = "nothing to set: the service's own key"
	case TestSecret:
		outcome, err = r.testSecret(ctx, ev)
	case FinishSecret:
		outcome, err = r.finishSecret(ctx, ev, meta.VersionIdsToStages)
	}
	return err
}

func (r *Rotator) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// createSecret puts a new key as the token's version, labelled AWSPENDING,
// unless it has a value already (a retry).
func (r *Rotator) createSecret(ctx context.Context, ev Event) (string, error) {
	if _, err := r.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &ev.SecretID,
		VersionStage: aws.String(current)}); err != nil {
		return "", fmt.Errorf("read the current version of %s: %w", ev.SecretID, err)
	}
	_, err := r.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &ev.SecretID,
		VersionId: &ev.ClientRequestToken, VersionStage: aws.String(pending)})
	var missing *smtypes.ResourceNotFoundException
	switch {
	case err == nil:
		return "already created", nil
	case !errors.As(err, &missing):
		return "", fmt.Errorf("read version %s of %s: %w", ev.ClientRequestToken, ev.SecretID, err)
	}
	out, err := r.Client.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{
		PasswordLength:          aws.Int64(KeyLength),
		ExcludePunctuation:      aws.Bool(true),
		IncludeSpace:            aws.Bool(false),
		RequireEachIncludedType: aws.Bool(true),
	})
	if err != nil {
		return "", fmt.Errorf("new key: %w", err)
	}
	key := aws.ToString(out.RandomPassword)
	if len(key) != KeyLength || !alphanumeric(key) {
		return "", fmt.Errorf("%w: GetRandomPassword answered %d characters, want %d alphanumeric ones", ErrBadKey, len(key), KeyLength)
	}
	in := &secretsmanager.PutSecretValueInput{SecretId: &ev.SecretID, ClientRequestToken: &ev.ClientRequestToken,
		SecretString: &key, VersionStages: []string{pending}}
	if ev.RotationToken != "" {
		in.RotationToken = &ev.RotationToken
	}
	if _, err := r.Client.PutSecretValue(ctx, in); err != nil {
		return "", fmt.Errorf("put version %s of %s: %w", ev.ClientRequestToken, ev.SecretID, err)
	}
	return "created", nil
}

// testSecret checks the pending value is a well-formed key, other than the
// current one.
func (r *Rotator) testSecret(ctx context.Context, ev Event) (string, error) {
	p, err := r.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &ev.SecretID,
		VersionId: &ev.ClientRequestToken, VersionStage: aws.String(pending)})
	if err != nil {
		return "", fmt.Errorf("read version %s of %s: %w", ev.ClientRequestToken, ev.SecretID, err)
	}
	if err := CheckKey(aws.ToString(p.SecretString)); err != nil {
		return "", fmt.Errorf("version %s of %s: %w", ev.ClientRequestToken, ev.SecretID, err)
	}
	c, err := r.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &ev.SecretID, VersionStage: aws.String(current)})
	if err != nil {
		return "", fmt.Errorf("read the current version of %s: %w", ev.SecretID, err)
	}
	if aws.ToString(c.SecretString) == aws.ToString(p.SecretString) {
		return "", fmt.Errorf("%w: version %s of %s holds the current key", ErrBadKey, ev.ClientRequestToken, ev.SecretID)
	}
	return "tested", nil
}

// finishSecret moves AWSCURRENT to the token's version; Secrets Manager
// labels the version it leaves AWSPREVIOUS.
func (r *Rotator) finishSecret(ctx context.Context, ev Event, versions map[string][]string) (string, error) {
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: &ev.SecretID, VersionStage: aws.String(current),
		MoveToVersionId: &ev.ClientRequestToken}
	for id, stages := range versions {
		if slices.Contains(stages, current) {
			in.RemoveFromVersionId = aws.String(id)
		}
	}
	if _, err := r.Client.UpdateSecretVersionStage(ctx, in); err != nil {
		return "", fmt.Errorf("make version %s of %s current: %w", ev.ClientRequestToken, ev.SecretID, err)
	}
	return "finished: version is AWSCURRENT, the one before AWSPREVIOUS", nil
}

// CheckKey reports whether v is fit to be a signing key: MinKeyLength or
// more printable ASCII characters, none a space (the service trims the
// value it reads: a key with spaces at its ends would not be the key).
func CheckKey(v string) error {
	if len(v) < MinKeyLength {
		return fmt.Errorf("%w: %d characters, want %d or more", ErrBadKey, len(v), MinKeyLength)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return fmt.Errorf("%w: a character at %d is not printable ASCII", ErrBadKey, i)
		}
	}
	return nil
}

func alphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// Rotate rotates the secret now, running the four steps in a row with a
// fresh token, as Secrets Manager would, whether or not rotation is enabled
// for it: the local end-to-end test and the runbook's manual path. It
// refuses while another rotation is in progress (an AWSPENDING version
// that is not AWSCURRENT). It returns the new current version's id.
func Rotate(ctx context.Context, client Client, secretID string) (string, error) {
	meta, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &secretID})
	if err != nil {
		return "", fmt.Errorf("describe secret %s: %w", secretID, err)
	}
	for id, stages := range meta.VersionIdsToStages {
		if slices.Contains(stages, pending) && !slices.Contains(stages, current) {
			return "", fmt.Errorf("%w: version %s of %s is AWSPENDING (finish it, or remove its label with "+
				"aws secretsmanager update-secret-version-stage --secret-id %s --version-stage AWSPENDING --remove-from-version-id %s)",
				ErrRotationInProgress, id, secretID, secretID, id)
		}
	}
	r := &Rotator{Client: client}
	ev := Event{SecretID: secretID, ClientRequestToken: uuid.NewString()}
	// Secrets Manager starts the version before createSecret; here
	// createSecret does, so it runs without the version check.
	start := time.Now()
	outcome, err := r.createSecret(ctx, ev)
	if err != nil {
		r.log().ErrorContext(ctx, "rotation step failed", "step", CreateSecret, "secret", secretID, "version", ev.ClientRequestToken, "error", err.Error())
		return "", err
	}
	r.log().InfoContext(ctx, "rotation step", "step", CreateSecret, "secret", secretID, "version", ev.ClientRequestToken,
		"duration_ms", time.Since(start).Milliseconds(), "outcome", outcome)
	for _, step := range Steps[1:] {
		ev.Step = step
		if err := r.handle(ctx, ev, false); err != nil {
			return "", err
		}
	}
	return ev.ClientRequestToken, nil
}
