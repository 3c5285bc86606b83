package secretstest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wallets/internal/secretstest"
)

// raw sends one signed-looking request of op with body and returns the
// status and the error body's type and message (empty on success).
func raw(t *testing.T, s *secretstest.Server, op, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL, strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "secretsmanager."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Type, out.Message
}

// The stand-in refuses what Secrets Manager refuses, with its error type
// and a message saying why, so that code under test meets real refusals.
func TestRefusals(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	s.Put("k", "v1")
	cases := []struct {
		name, op, body string
		typ, message   string
	}{
		{"a body that is not JSON", "GetSecretValue", `{"SecretId":`, "SerializationException", "unexpected end of JSON input"},
		{"a body that is not JSON, to RotateSecret", "RotateSecret", `[`, "SerializationException", "unexpected end"},
		{"no SecretId", "GetSecretValue", ``, "InvalidParameterException", "SecretId is required"},
		{"no Name", "CreateSecret", `{}`, "InvalidParameterException", "Name is required"},
		{"both values", "CreateSecret", `{"Name":"b","SecretString":"x","SecretBinary":"eA=="}`, "InvalidParameterException", "both a binary secret value and a string secret value"},
		{"neither value", "PutSecretValue", `{"SecretId":"k"}`, "InvalidParameterException", "either SecretString or SecretBinary"},
		{"a put to no secret", "PutSecretValue", `{"SecretId":"nope","SecretString":"x"}`, "ResourceNotFoundException", ""},
		{"no VersionStage", "UpdateSecretVersionStage", `{"SecretId":"k"}`, "InvalidParameterException", "VersionStage is required"},
		{"a stage update of no secret", "UpdateSecretVersionStage", `{"SecretId":"nope","VersionStage":"X"}`, "ResourceNotFoundException", ""},
		{"a move to no version", "UpdateSecretVersionStage", `{"SecretId":"k","VersionStage":"X","MoveToVersionId":"nope"}`, "ResourceNotFoundException", "can't find the specified secret version: nope"},
		{"neither move nor removal", "UpdateSecretVersionStage", `{"SecretId":"k","VersionStage":"X"}`, "InvalidParameterException", "Specify MoveToVersionId, RemoveFromVersionId or both."},
		{"a rotation of no secret", "RotateSecret", `{"SecretId":"nope"}`, "ResourceNotFoundException", ""},
		{"exclusions leaving nothing", "GetRandomPassword",
			`{"ExcludeNumbers":true,"ExcludePunctuation":true,"ExcludeUppercase":true,"ExcludeLowercase":true}`, "InvalidParameterException", "leave no character"},
		{"too short for every type", "GetRandomPassword", `{"PasswordLength":3}`, "InvalidParameterException", "too short to include a character of each included type"},
	}
	for _, c := range cases {
		status, typ, msg := raw(t, s, c.op, c.body)
		if status != http.StatusBadRequest || typ != c.typ || !strings.Contains(msg, c.message) {
			t.Errorf("%s: %d %s %q; want 400 %s with %q", c.name, status, typ, msg, c.typ, c.message)
		}
	}
	// A refusal changes nothing.
	if v, ok := s.Value("k", secretstest.Current); !ok || v != "v1" {
		t.Errorf("after the refusals k is %q, %v; want v1", v, ok)
	}
}

func TestBinarySecret(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	c := s.Client()
	if _, err := c.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("bin"), SecretBinary: []byte{0, 1, 2}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("bin")})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.SecretBinary, []byte{0, 1, 2}) || out.SecretString != nil {
		t.Errorf("GetSecretValue = binary %v string %v; want the bytes and no string", out.SecretBinary, out.SecretString)
	}
	// A binary version is a value, not a pending rotation.
	if _, err := c.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String("bin"), SecretBinary: []byte{9}}); err != nil {
		t.Fatal(err)
	}
	out, err = c.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("bin")})
	if err != nil || !bytes.Equal(out.SecretBinary, []byte{9}) {
		t.Errorf("after PutSecretValue: %v, %v; want the new bytes current", out.SecretBinary, err)
	}
}

func TestRotateSecretLater(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	s.Put("k", "v1")
	c := s.Client()
	out, err := c.RotateSecret(t.Context(), &secretsmanager.RotateSecretInput{SecretId: aws.String("k"),
		RotationLambdaARN: aws.String("arn:aws:lambda:eu-west-1:1:function:rotate"), RotateImmediately: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if out.VersionId != nil {
		t.Errorf("a rotation not started now answered version %v", *out.VersionId)
	}
	for _, stages := range s.VersionStages("k") {
		if slices.Contains(stages, secretstest.Pending) {
			t.Errorf("stages %v: a pending version though the rotation was not started", s.VersionStages("k"))
		}
	}
	d, err := c.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String("k")})
	if err != nil || !aws.ToBool(d.RotationEnabled) || aws.ToString(d.RotationLambdaARN) != "arn:aws:lambda:eu-west-1:1:function:rotate" {
		t.Errorf("DescribeSecret = %+v, %v; want rotation enabled with the function", d, err)
	}
}

// A rotation whose step fails stops there: the later steps do not run.
func TestRotationStopsAtAFailingStep(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	s.Put("k", "v1")
	s.SetRotationEnabled("k", true)
	var steps []string
	s.SetRotator(func(_ context.Context, step, _, _ string) error {
		steps = append(steps, step)
		if step == "setSecret" {
			return errors.New("database unreachable")
		}
		return nil
	})
	if _, err := s.Client().RotateSecret(t.Context(), &secretsmanager.RotateSecretInput{SecretId: aws.String("k")}); err != nil {
		t.Fatalf("RotateSecret = %v; want it answered before the rotation ran", err)
	}
	if !slices.Equal(steps, []string{"createSecret", "setSecret"}) {
		t.Errorf("steps %v; want createSecret and the failing setSecret only", steps)
	}
	if v, _ := s.Value("k", secretstest.Current); v != "v1" {
		t.Errorf("AWSCURRENT %q after a failed rotation; want v1", v)
	}
}

// RotateSecret again with a completed rotation's token is a retry: the same
// version, and no second rotation.
func TestRotateSecretRetryAfterCompletion(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	v1 := s.Put("k", "v1")
	s.SetRotationEnabled("k", true)
	runs := 0
	s.SetRotator(func(_ context.Context, step, _, _ string) error {
		if step == "createSecret" {
			runs++
		}
		return nil
	})
	c := s.Client()
	const token = "11111111-2222-3333-4444-555555555555"
	in := &secretsmanager.RotateSecretInput{SecretId: aws.String("k"), ClientRequestToken: aws.String(token)}
	if _, err := c.RotateSecret(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	// finishSecret's move of AWSCURRENT to the new version.
	if _, err := c.UpdateSecretVersionStage(t.Context(), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String("k"),
		VersionStage: aws.String(secretstest.Current), MoveToVersionId: aws.String(token), RemoveFromVersionId: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	again, err := c.RotateSecret(t.Context(), in)
	if err != nil || aws.ToString(again.VersionId) != token {
		t.Fatalf("retry = %v, %v; want the same version %s", again, err, token)
	}
	if runs != 1 {
		t.Errorf("the rotation ran %d times; want once", runs)
	}
}

func TestAccessorsOfAMissingSecret(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	if arn := s.ARN("nope"); arn != "" {
		t.Errorf("ARN = %q; want empty", arn)
	}
	if v, ok := s.Value("nope", secretstest.Current); ok || v != "" {
		t.Errorf("Value = %q, %v; want none", v, ok)
	}
	if st := s.VersionStages("nope"); st != nil {
		t.Errorf("VersionStages = %v; want nil", st)
	}
	if got := secretstest.ErrThrottle.Error(); got != "400 ThrottlingException: Rate exceeded" {
		t.Errorf("Error() = %q", got)
	}
}
