package secretstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"wallets/internal/secretstest"
)

func get(t *testing.T, c *secretsmanager.Client, in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
	t.Helper()
	return c.GetSecretValue(t.Context(), in)
}

func mustGet(t *testing.T, c *secretsmanager.Client, id, stage string) string {
	t.Helper()
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := get(t, c, in)
	if err != nil {
		t.Fatalf("GetSecretValue %s %s: %v", id, stage, err)
	}
	return aws.ToString(out.SecretString)
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("%s: %v, want ResourceNotFoundException", what, err)
	}
}

func TestGetSecretValue(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	c := s.Client()
	v1 := s.Put("wallets/test/jwt-key", "one")

	for _, id := range []string{"wallets/test/jwt-key", s.ARN("wallets/test/jwt-key")} {
		out, err := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("by %s: %v", id, err)
		}
		if aws.ToString(out.SecretString) != "one" || aws.ToString(out.VersionId) != v1 ||
			!slices.Equal(out.VersionStages, []string{"AWSCURRENT"}) || aws.ToString(out.Name) != "wallets/test/jwt-key" ||
			aws.ToString(out.ARN) != s.ARN("wallets/test/jwt-key") || out.CreatedDate == nil {
			t.Errorf("by %s: %+v", id, out)
		}
	}
	if arn := s.ARN("wallets/test/jwt-key"); !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:123456789012:secret:wallets/test/jwt-key-") {
		t.Errorf("ARN %s", arn)
	}

	_, err := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("wallets/test/nope")})
	notFound(t, "unknown secret", err)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ResourceNotFoundException" || !strings.Contains(api.ErrorMessage(), "can't find") {
		t.Errorf("unknown secret: %v", err)
	}
	_, err = get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("wallets/test/jwt-key"), VersionStage: aws.String("AWSPREVIOUS")})
	notFound(t, "never rotated: AWSPREVIOUS", err)
	_, err = get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("wallets/test/jwt-key"), VersionId: aws.String("no-such-version")})
	notFound(t, "unknown VersionId", err)
	_, err = get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("wallets/test/jwt-key"), VersionId: aws.String(v1), VersionStage: aws.String("AWSPENDING")})
	notFound(t, "VersionId without that stage", err)
	out, err := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("wallets/test/jwt-key"), VersionId: aws.String(v1), VersionStage: aws.String("AWSCURRENT")})
	if err != nil || aws.ToString(out.SecretString) != "one" {
		t.Errorf("VersionId and its stage: %v %v", out, err)
	}
	if got := s.Calls("GetSecretValue"); got != 7 {
		t.Errorf("Calls(GetSecretValue) = %d, want 7", got)
	}
	if got := s.Calls("DescribeSecret"); got != 0 {
		t.Errorf("Calls(DescribeSecret) = %d, want 0", got)
	}
}

// Each new AWSCURRENT leaves AWSPREVIOUS on the version it left, whether
// put by PutSecretValue (default stage) or moved by UpdateSecretVersionStage.
func TestCurrentBecomesPrevious(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	c := s.Client()
	ctx := t.Context()
	const name = "wallets/test/cursor-key"
	v1 := s.Put(name, "one")

	put, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("two")})
	if err != nil {
		t.Fatal(err)
	}
	v2 := aws.ToString(put.VersionId)
	if v2 == "" || v2 == v1 || !slices.Equal(put.VersionStages, []string{"AWSCURRENT"}) {
		t.Errorf("PutSecretValue: %+v", put)
	}
	if cur, prev := mustGet(t, c, name, ""), mustGet(t, c, name, "AWSPREVIOUS"); cur != "two" || prev != "one" {
		t.Errorf("after put: AWSCURRENT %q AWSPREVIOUS %q, want two, one", cur, prev)
	}

	// A pending version, then moved to AWSCURRENT.
	const v3 = "00000000-0000-4000-8000-000000000003"
	if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("three"),
		ClientRequestToken: aws.String(v3), VersionStages: []string{"AWSPENDING"}}); err != nil {
		t.Fatal(err)
	}
	if cur := mustGet(t, c, name, ""); cur != "two" {
		t.Errorf("a pending version changed AWSCURRENT: %q", cur)
	}
	if p := mustGet(t, c, name, "AWSPENDING"); p != "three" {
		t.Errorf("AWSPENDING %q", p)
	}
	checkStages(t, c, name, map[string][]string{v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT"}, v3: {"AWSPENDING"}})

	// Moving AWSCURRENT needs RemoveFromVersionId naming its version.
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
		VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v3)})
	var bad *types.InvalidParameterException
	if !errors.As(err, &bad) {
		t.Errorf("move without RemoveFromVersionId: %v, want InvalidParameterException", err)
	}
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
		VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v3), RemoveFromVersionId: aws.String(v1)})
	if !errors.As(err, &bad) {
		t.Errorf("move from the wrong version: %v, want InvalidParameterException", err)
	}
	if _, err := c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
		VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(v3), RemoveFromVersionId: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	// v1 has no label left: DescribeSecret leaves it out.
	checkStages(t, c, name, map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSPENDING", "AWSCURRENT"}})
	if cur, prev := mustGet(t, c, name, ""), mustGet(t, c, name, "AWSPREVIOUS"); cur != "three" || prev != "two" {
		t.Errorf("after the move: AWSCURRENT %q AWSPREVIOUS %q, want three, two", cur, prev)
	}
	if v, ok := s.Value(name, "AWSPREVIOUS"); !ok || v != "two" {
		t.Errorf("Value(AWSPREVIOUS) = %q %v", v, ok)
	}
	if got := s.VersionStages(s.ARN(name)); !maps.EqualFunc(got, map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSPENDING", "AWSCURRENT"}}, slices.Equal) {
		t.Errorf("VersionStages: %v", got)
	}

	// Removing a label; AWSCURRENT cannot be removed.
	if _, err := c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
		VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(v3)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
		VersionStage: aws.String("AWSCURRENT"), RemoveFromVersionId: aws.String(v3)})
	if !errors.As(err, &bad) {
		t.Errorf("removing AWSCURRENT: %v, want InvalidParameterException", err)
	}
	checkStages(t, c, name, map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}})

	// Put's helper does what PutSecretValue does.
	v4 := s.Put(name, "four")
	checkStages(t, c, name, map[string][]string{v3: {"AWSPREVIOUS"}, v4: {"AWSCURRENT"}})
}

func checkStages(t *testing.T, c *secretsmanager.Client, name string, want map[string][]string) {
	t.Helper()
	out, err := c.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(out.VersionIdsToStages, want, slices.Equal) {
		t.Errorf("VersionIdsToStages %v, want %v", out.VersionIdsToStages, want)
	}
}

// PutSecretValue with a token that is already a version: the same value is
// a retry (nothing changes), another value is refused.
func TestPutSecretValueIdempotent(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	c := s.Client()
	ctx := t.Context()
	const name, token = "k", "00000000-0000-4000-8000-0000000000aa"
	s.Put(name, "one")
	in := &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("two"),
		ClientRequestToken: aws.String(token), VersionStages: []string{"AWSPENDING"}}
	for range 2 {
		out, err := c.PutSecretValue(ctx, in)
		if err != nil || aws.ToString(out.VersionId) != token || !slices.Equal(out.VersionStages, []string{"AWSPENDING"}) {
			t.Fatalf("PutSecretValue: %+v %v", out, err)
		}
	}
	in.SecretString = aws.String("other")
	_, err := c.PutSecretValue(ctx, in)
	var exists *types.ResourceExistsException
	if !errors.As(err, &exists) {
		t.Errorf("another value under the same token: %v, want ResourceExistsException", err)
	}
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("nope"), SecretString: aws.String("x")})
	notFound(t, "PutSecretValue of an unknown secret", err)
	if v, _ := s.Value(name, "AWSPENDING"); v != "two" {
		t.Errorf("AWSPENDING %q", v)
	}
}

func TestDescribeSecret(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	c := s.Client()
	ctx := t.Context()
	created, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("wallets/test/jwt-key"), SecretString: aws.String("v")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.ARN) != s.ARN("wallets/test/jwt-key") || aws.ToString(created.VersionId) == "" {
		t.Errorf("CreateSecret: %+v", created)
	}
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("wallets/test/jwt-key"), SecretString: aws.String("v")})
	var exists *types.ResourceExistsException
	if !errors.As(err, &exists) {
		t.Errorf("CreateSecret again: %v, want ResourceExistsException", err)
	}
	out, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("wallets/test/jwt-key")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToBool(out.RotationEnabled) || aws.ToString(out.Name) != "wallets/test/jwt-key" || out.CreatedDate == nil || out.LastChangedDate == nil ||
		!maps.EqualFunc(out.VersionIdsToStages, map[string][]string{aws.ToString(created.VersionId): {"AWSCURRENT"}}, slices.Equal) {
		t.Errorf("DescribeSecret: %+v", out)
	}
	s.SetRotationEnabled("wallets/test/jwt-key", true)
	out, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: created.ARN})
	if err != nil || !aws.ToBool(out.RotationEnabled) {
		t.Errorf("after SetRotationEnabled: %+v %v", out, err)
	}
	_, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("nope")})
	notFound(t, "DescribeSecret of an unknown secret", err)
}

func TestGetRandomPassword(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	c := s.Client()
	only := func(p, chars string) bool {
		return strings.Trim(p, chars) == ""
	}
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for _, tc := range []struct {
		name  string
		in    secretsmanager.GetRandomPasswordInput
		len   int
		check func(string) bool
	}{
		{"default", secretsmanager.GetRandomPasswordInput{}, 32, func(p string) bool { return !strings.Contains(p, " ") }},
		{"alphanumeric", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(64), ExcludePunctuation: aws.Bool(true)}, 64,
			func(p string) bool {
				return only(p, alnum) && strings.ContainsAny(p, "0123456789") && strings.ContainsAny(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
			}},
		{"digits", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(20), ExcludePunctuation: aws.Bool(true),
			ExcludeUppercase: aws.Bool(true), ExcludeLowercase: aws.Bool(true)}, 20, func(p string) bool { return only(p, "0123456789") }},
		{"space", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(8), ExcludeCharacters: aws.String("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
			ExcludePunctuation: aws.Bool(true), IncludeSpace: aws.Bool(true)}, 8, func(p string) bool { return p == "        " }},
		{"excluded", secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(200), ExcludeCharacters: aws.String(`/@"'\`)}, 200,
			func(p string) bool { return !strings.ContainsAny(p, `/@"'\`) }},
	} {
		out, err := c.GetRandomPassword(t.Context(), &tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		p := aws.ToString(out.RandomPassword)
		if len(p) != tc.len || !tc.check(p) {
			t.Errorf("%s: %q", tc.name, p)
		}
	}
	a, _ := c.GetRandomPassword(t.Context(), &secretsmanager.GetRandomPasswordInput{})
	b, _ := c.GetRandomPassword(t.Context(), &secretsmanager.GetRandomPasswordInput{})
	if aws.ToString(a.RandomPassword) == aws.ToString(b.RandomPassword) {
		t.Error("two passwords alike")
	}
	_, err := c.GetRandomPassword(t.Context(), &secretsmanager.GetRandomPasswordInput{PasswordLength: aws.Int64(5000)})
	var bad *types.InvalidParameterException
	if !errors.As(err, &bad) {
		t.Errorf("PasswordLength 5000: %v", err)
	}
}

// Fail makes an operation (or all) answer an error until Heal; the calls
// still count.
func TestFail(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	c := s.Client()
	s.Put("k", "v")
	s.Fail("GetSecretValue", secretstest.Error{})
	_, err := get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String("k")})
	var internal *types.InternalServiceError
	if !errors.As(err, &internal) {
		t.Errorf("failing GetSecretValue: %v, want InternalServiceError", err)
	}
	if _, err := c.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String("k")}); err != nil {
		t.Errorf("DescribeSecret failed too: %v", err)
	}
	s.Fail("", secretstest.ErrDenied)
	_, err = c.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String("k")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
		t.Errorf("failing everything: %v", err)
	}
	s.Heal("")
	s.Heal("GetSecretValue")
	if v := mustGet(t, c, "k", ""); v != "v" {
		t.Errorf("healed: %q", v)
	}
	if got := s.Calls("GetSecretValue"); got != 2 {
		t.Errorf("Calls(GetSecretValue) = %d, want 2", got)
	}
	s.ResetCalls()
	if got := s.Calls("GetSecretValue"); got != 0 {
		t.Errorf("after ResetCalls: %d", got)
	}
}

// RotateSecret starts the new version (AWSPENDING, no value) and runs the
// rotator's steps with its token; without a rotator it stays pending.
func TestRotateSecret(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	c := s.Client()
	ctx := t.Context()
	const name = "wallets/test/jwt-key"
	v1 := s.Put(name, "one")
	_, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(name)})
	var invalid *types.InvalidRequestException
	if !errors.As(err, &invalid) {
		t.Errorf("RotateSecret without a rotation function: %v, want InvalidRequestException", err)
	}

	s.SetRotationEnabled(name, true)
	out, err := c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	token := aws.ToString(out.VersionId)
	checkStages(t, c, name, map[string][]string{v1: {"AWSCURRENT"}, token: {"AWSPENDING"}})
	_, err = get(t, c, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name), VersionId: aws.String(token), VersionStage: aws.String("AWSPENDING")})
	notFound(t, "the pending version before createSecret", err)
	_, err = c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(name)})
	if !errors.As(err, &invalid) {
		t.Errorf("RotateSecret while one is pending: %v, want InvalidRequestException", err)
	}
	// createSecret's PutSecretValue fills the pending version in.
	if _, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), ClientRequestToken: aws.String(token),
		SecretString: aws.String("two"), VersionStages: []string{"AWSPENDING"}}); err != nil {
		t.Fatal(err)
	}
	if v := mustGet(t, c, name, "AWSPENDING"); v != "two" {
		t.Errorf("AWSPENDING %q", v)
	}

	// With a rotator: every step, in order, with the ARN and the token.
	var steps []string
	s.SetRotator(func(_ context.Context, step, arn, tok string) error {
		steps = append(steps, step+" "+arn+" "+tok)
		return nil
	})
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(name),
		VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(token)})
	if err != nil {
		t.Fatal(err)
	}
	out, err = c.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(name), ClientRequestToken: aws.String("tok-3-0000000000000000000000000000")})
	if err != nil {
		t.Fatal(err)
	}
	arn := s.ARN(name)
	want := []string{"createSecret " + arn + " tok-3-0000000000000000000000000000", "setSecret " + arn + " tok-3-0000000000000000000000000000",
		"testSecret " + arn + " tok-3-0000000000000000000000000000", "finishSecret " + arn + " tok-3-0000000000000000000000000000"}
	if !slices.Equal(steps, want) || aws.ToString(out.VersionId) != "tok-3-0000000000000000000000000000" {
		t.Errorf("steps %q, want %q", steps, want)
	}
}

// Requests the protocol does not allow are refused in its error shape.
func TestProtocol(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	for _, tc := range []struct {
		name, target, contentType, auth, want string
	}{
		{"no target", "", "application/x-amz-json-1.1", "AWS4-HMAC-SHA256 Credential=x", "UnknownOperationException"},
		{"unknown operation", "secretsmanager.DeleteSecret", "application/x-amz-json-1.1", "AWS4-HMAC-SHA256 Credential=x", "UnknownOperationException"},
		{"content type", "secretsmanager.GetSecretValue", "application/json", "AWS4-HMAC-SHA256 Credential=x", "SerializationException"},
		{"unsigned", "secretsmanager.GetSecretValue", "application/x-amz-json-1.1", "", "MissingAuthenticationTokenException"},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL, strings.NewReader(`{"SecretId":"k"}`))
		req.Header.Set("X-Amz-Target", tc.target)
		req.Header.Set("Content-Type", tc.contentType)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || body.Type != tc.want || body.Message == "" ||
			resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
			t.Errorf("%s: %d %+v (%v), want 400 %s", tc.name, resp.StatusCode, body, err, tc.want)
		}
	}
}

// Over TLS, Config's client trusts the server's certificate.
func TestTLS(t *testing.T) {
	t.Parallel()
	s := secretstest.NewTLSServer(nil)
	defer s.Close()
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("URL %s", s.URL)
	}
	s.Put("k", "v")
	if v := mustGet(t, s.Client(), "k", ""); v != "v" {
		t.Errorf("got %q", v)
	}
}
