// Package secretstest is an in-memory stand-in of AWS Secrets Manager: an
// HTTP server (net/http/httptest) speaking the service's JSON 1.1 protocol
// (POST /, X-Amz-Target: secretsmanager.<Operation>, Content-Type:
// application/x-amz-json-1.1, errors as {"__type": ..., "message": ...}),
// so that the real aws-sdk-go-v2 secretsmanager client, pointed at it
// (Config, or AWS_ENDPOINT_URL_SECRETS_MANAGER=<URL> with any credentials
// and region), works unchanged.
//
// Operations: CreateSecret, GetSecretValue, DescribeSecret, PutSecretValue,
// UpdateSecretVersionStage, GetRandomPassword and RotateSecret, with AWS's
// staging-label rules: a label is attached to one version at a time, a new
// AWSCURRENT moves AWSPREVIOUS to the version it left, DescribeSecret lists
// only versions that carry a label. RotateSecret does as AWS does before it
// invokes the rotation function (a version with the request's token and
// AWSPENDING, no value yet), then runs the steps through the function set
// with SetRotator, synchronously; without one the rotation stays pending,
// for a test to drive the steps itself.
//
// The Go side seeds and inspects secrets (Put, ARN, Value, VersionStages,
// SetRotationEnabled), counts calls (Calls) and makes operations fail
// (Fail, Heal). Every method is safe for concurrent use. Requests must be
// SigV4-signed (any credentials): the stand-in checks the Authorization
// header is there, not the signature.
package secretstest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"
)

// The staging labels Secrets Manager gives a meaning to.
const (
	Current  = "AWSCURRENT"
	Previous = "AWSPREVIOUS"
	Pending  = "AWSPENDING"
)

// Region and Account are where the stand-in's secrets live: their ARNs
// name them, and Config's region is Region.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// Error is an error answer of the protocol: the HTTP status and the body
// {"__type": Type, "message": Message}. The SDK turns a Type it knows into
// its typed error (types.ResourceNotFoundException…), any other into a
// smithy.GenericAPIError.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

// Errors Fail can inject; any other Error will do too. The SDK retries
// InternalServiceError and ThrottlingException (when its retryer allows
// more than one attempt: Config's does not).
var (
	ErrInternal = Error{http.StatusInternalServerError, "InternalServiceError", "An error occurred on the server side."}
	ErrThrottle = Error{http.StatusBadRequest, "ThrottlingException", "Rate exceeded"}
	ErrDenied   = Error{http.StatusBadRequest, "AccessDeniedException", "User is not authorized to perform this operation."}
)

func notFound(msg string) *Error {
	return &Error{http.StatusBadRequest, "ResourceNotFoundException", msg}
}

func invalidParameter(format string, args ...any) *Error {
	return &Error{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *Error {
	return &Error{http.StatusBadRequest, "InvalidRequestException", fmt.Sprintf(format, args...)}
}

// Rotator is a secret's rotation function as RotateSecret invokes it: once
// per step ("createSecret", "setSecret", "testSecret", "finishSecret", in
// that order, stopping at the first error), with the secret's ARN and the
// new version's token. It runs outside the server's lock: it may call the
// server (through the SDK) as a real rotation function does.
type Rotator func(ctx context.Context, step, secretARN, token string) error

// Server is a running stand-in. URL is its base URL (http://127.0.0.1:port,
// or https:// for NewTLSServer).
type Server struct {
	URL string

	srv *httptest.Server

	mu      sync.Mutex
	secrets map[string]*secret // by name
	calls   map[string]int     // by operation
	fail    map[string]Error   // by operation; "" for all
	rotator Rotator
}

type secret struct {
	name, arn       string
	rotationEnabled bool
	rotationLambda  string
	created         time.Time
	changed         time.Time
	rotated         time.Time
	versions        map[string]*version
}

type version struct {
	id      string
	value   *string // nil: created by RotateSecret, not yet put
	binary  []byte
	stages  []string
	created time.Time
}

// NewServer starts a stand-in on a loopback port, over plain HTTP, with no
// secret. Close stops it. It is usable outside tests (a local run).
func NewServer() *Server {
	s := newServer()
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// NewTLSServer starts a stand-in over HTTPS. With a nil cfg it presents
// httptest's self-signed certificate for 127.0.0.1, which Config's HTTP
// client trusts; otherwise cfg's certificates (a test CA's, say, for
// clients that verify against AWS_CA_BUNDLE).
func NewTLSServer(cfg *tls.Config) *Server {
	s := newServer()
	s.srv = httptest.NewUnstartedServer(s)
	if cfg != nil {
		s.srv.TLS = cfg
	}
	s.srv.StartTLS()
	s.URL = s.srv.URL
	return s
}

// New starts a stand-in (NewServer) that t's cleanup closes.
func New(t testing.TB) *Server {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	return s
}

func newServer() *Server {
	return &Server{secrets: map[string]*secret{}, calls: map[string]int{}, fail: map[string]Error{}}
}

// Close stops the server and waits for the requests in flight.
func (s *Server) Close() { s.srv.Close() }

// Config is an AWS configuration that sends Secrets Manager's calls to the
// stand-in: region Region, static credentials, BaseEndpoint URL, an HTTP
// client that trusts the server's certificate, and one attempt per call
// (no retry), so that Calls counts exactly what the code under test asked.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDSECRETSTEST", "secretstest-secret-key", ""),
		BaseEndpoint:     aws.String(s.URL),
		HTTPClient:       s.srv.Client(),
		RetryMaxAttempts: 1,
	}
}

// Client is a Secrets Manager client of Config.
func (s *Server) Client() *secretsmanager.Client { return secretsmanager.NewFromConfig(s.Config()) }

// Put stores value as a new version of the secret name (creating the
// secret if need be) labelled AWSCURRENT, as PutSecretValue does: the
// version that was AWSCURRENT becomes AWSPREVIOUS. It returns the new
// version's id.
func (s *Server) Put(name, value string) (versionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		sec = s.create(name)
	}
	v := sec.add(uuid.NewString(), &value, nil)
	sec.attach(v, Current)
	return v.id
}

// ARN is the secret name's ARN (the name, or an ARN, works as SecretId);
// "" when there is no such secret.
func (s *Server) ARN(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.find(name); sec != nil {
		return sec.arn
	}
	return ""
}

// SetRotationEnabled sets what DescribeSecret reports as RotationEnabled
// (RotateSecret turns it on). It panics if there is no such secret.
func (s *Server) SetRotationEnabled(secretID string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.must(secretID).rotationEnabled = on
}

// SetRotator sets the function RotateSecret runs; nil leaves rotations
// pending (the AWSPENDING version without a value), as when the rotation
// function never ran.
func (s *Server) SetRotator(fn Rotator) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotator = fn
}

// Value is the string value of the secret's version labelled stage; ok is
// false when there is none (no secret, no version with that label, or one
// without a value yet).
func (s *Server) Value(secretID, stage string) (value string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(secretID)
	if sec == nil {
		return "", false
	}
	v := sec.labelled(stage)
	if v == nil || v.value == nil {
		return "", false
	}
	return *v.value, true
}

// VersionStages is DescribeSecret's VersionIdsToStages: each version that
// carries a label, with its labels; nil when there is no such secret.
func (s *Server) VersionStages(secretID string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.find(secretID); sec != nil {
		return sec.stages()
	}
	return nil
}

// Calls is how many requests of the operation (such as "GetSecretValue")
// the server received, failed ones included.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// ResetCalls sets every count of Calls back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// Fail makes every later call of the operation op ("" for every operation)
// answer e, until Heal(op). A zero Error means ErrInternal.
func (s *Server) Fail(op string, e Error) {
	if e == (Error{}) {
		e = ErrInternal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[op] = e
}

// Heal undoes Fail(op).
func (s *Server) Heal(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.fail, op)
}

// ServeHTTP answers one request of the protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.")
	body, err := io.ReadAll(r.Body)
	var e *Error
	switch {
	case err != nil:
		e = &Error{http.StatusBadRequest, "SerializationException", err.Error()}
	case r.Method != http.MethodPost || !ok:
		e = &Error{http.StatusBadRequest, "UnknownOperationException", "not a Secrets Manager request (POST with X-Amz-Target: secretsmanager.<Operation>)"}
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1"):
		e = &Error{http.StatusBadRequest, "SerializationException", "Content-Type must be application/x-amz-json-1.1"}
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		e = &Error{http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	var out any
	if e == nil {
		out, e = s.call(r.Context(), op, body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", uuid.NewString())
	if e != nil {
		w.WriteHeader(e.Status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Type, "message": e.Message})
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

// call runs op: RotateSecret in two halves around its Rotator (outside the
// lock), everything else under the lock.
func (s *Server) call(ctx context.Context, op string, body []byte) (any, *Error) {
	s.mu.Lock()
	s.calls[op]++
	if e, ok := s.fail[op]; ok {
		s.mu.Unlock()
		return nil, &e
	}
	if e, ok := s.fail[""]; ok {
		s.mu.Unlock()
		return nil, &e
	}
	if op == "RotateSecret" {
		var in rotateSecretInput
		if e := decode(body, &in); e != nil {
			s.mu.Unlock()
			return nil, e
		}
		out, run, e := s.rotateSecret(in)
		rotator := s.rotator
		s.mu.Unlock()
		if e == nil && run && rotator != nil {
			for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
				if rotator(context.WithoutCancel(ctx), step, out.ARN, out.VersionId) != nil {
					break // the rotation failed; AWS answered RotateSecret long before
				}
			}
		}
		return out, e
	}
	defer s.mu.Unlock()
	switch op {
	case "CreateSecret":
		return handle(body, s.createSecret)
	case "GetSecretValue":
		return handle(body, s.getSecretValue)
	case "DescribeSecret":
		return handle(body, s.describeSecret)
	case "PutSecretValue":
		return handle(body, s.putSecretValue)
	case "UpdateSecretVersionStage":
		return handle(body, s.updateSecretVersionStage)
	case "GetRandomPassword":
		return handle(body, getRandomPassword)
	}
	return nil, &Error{http.StatusBadRequest, "UnknownOperationException", "the stand-in does not implement " + op}
}

func handle[In, Out any](body []byte, op func(In) (Out, *Error)) (any, *Error) {
	var in In
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	return op(in)
}

func decode(body []byte, v any) *Error {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{http.StatusBadRequest, "SerializationException", err.Error()}
	}
	return nil
}

// timestamp is a date as the protocol writes it: epoch seconds.
type timestamp float64

func stamp(t time.Time) *timestamp {
	if t.IsZero() {
		return nil
	}
	ts := timestamp(float64(t.UnixMilli()) / 1000)
	return &ts
}

// --- the secrets

const arnSuffixChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (s *Server) create(name string) *secret {
	now := time.Now()
	sec := &secret{
		name:     name,
		arn:      fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", Region, Account, name, randomString(arnSuffixChars, 6)),
		created:  now,
		changed:  now,
		versions: map[string]*version{},
	}
	s.secrets[name] = sec
	return sec
}

// find resolves a SecretId: a name or a full ARN.
func (s *Server) find(id string) *secret {
	if sec := s.secrets[id]; sec != nil {
		return sec
	}
	for _, sec := range s.secrets {
		if sec.arn == id {
			return sec
		}
	}
	return nil
}

func (s *Server) must(id string) *secret {
	sec := s.find(id)
	if sec == nil {
		panic("secretstest: no secret " + id)
	}
	return sec
}

func (s *Server) lookup(id string) (*secret, *Error) {
	if id == "" {
		return nil, invalidParameter("SecretId is required")
	}
	if sec := s.find(id); sec != nil {
		return sec, nil
	}
	return nil, notFound("Secrets Manager can't find the specified secret.")
}

func (sec *secret) add(id string, value *string, binary []byte) *version {
	v := &version{id: id, value: value, binary: binary, created: time.Now()}
	sec.versions[id] = v
	sec.changed = v.created
	return v
}

func (sec *secret) labelled(stage string) *version {
	for _, v := range sec.versions {
		if slices.Contains(v.stages, stage) {
			return v
		}
	}
	return nil
}

// attach moves the label stage to v, from the version that had it; a
// moved AWSCURRENT leaves AWSPREVIOUS on the version it left.
func (sec *secret) attach(v *version, stage string) {
	if slices.Contains(v.stages, stage) {
		return
	}
	old := sec.labelled(stage)
	if old != nil {
		old.stages = slices.DeleteFunc(old.stages, func(l string) bool { return l == stage })
	}
	v.stages = append(v.stages, stage)
	sec.changed = time.Now()
	if stage == Current && old != nil {
		sec.attach(old, Previous)
	}
}

func (sec *secret) stages() map[string][]string {
	m := map[string][]string{}
	for id, v := range sec.versions {
		if len(v.stages) > 0 {
			m[id] = slices.Clone(v.stages)
		}
	}
	return m
}

// --- the operations

type createSecretInput struct {
	Name               string
	ClientRequestToken string
	SecretString       *string
	SecretBinary       []byte
}

type secretVersionOutput struct {
	ARN           string
	Name          string
	VersionId     string   `json:",omitempty"`
	VersionStages []string `json:",omitempty"`
}

func (s *Server) createSecret(in createSecretInput) (secretVersionOutput, *Error) {
	if in.Name == "" {
		return secretVersionOutput{}, invalidParameter("Name is required")
	}
	if s.find(in.Name) != nil {
		return secretVersionOutput{}, &Error{http.StatusBadRequest, "ResourceExistsException",
			fmt.Sprintf("The operation failed because the secret %s already exists.", in.Name)}
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		return secretVersionOutput{}, invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	sec := s.create(in.Name)
	out := secretVersionOutput{ARN: sec.arn, Name: sec.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		id := in.ClientRequestToken
		if id == "" {
			id = uuid.NewString()
		}
		v := sec.add(id, in.SecretString, in.SecretBinary)
		if v.value == nil {
			v.value = new(string) // a binary secret: a value, not a pending version
		}
		sec.attach(v, Current)
		out.VersionId = id
	}
	return out, nil
}

type getSecretValueInput struct {
	SecretId     string
	VersionId    string
	VersionStage string
}

type getSecretValueOutput struct {
	ARN           string
	Name          string
	VersionId     string
	SecretString  *string `json:",omitempty"`
	SecretBinary  []byte  `json:",omitempty"`
	VersionStages []string
	CreatedDate   *timestamp
}

func (s *Server) getSecretValue(in getSecretValueInput) (getSecretValueOutput, *Error) {
	sec, e := s.lookup(in.SecretId)
	if e != nil {
		return getSecretValueOutput{}, e
	}
	var v *version
	switch {
	case in.VersionId != "":
		v = sec.versions[in.VersionId]
		if v == nil || (in.VersionStage != "" && !slices.Contains(v.stages, in.VersionStage)) {
			msg := "Secrets Manager can't find the specified secret value for VersionId: " + in.VersionId
			if in.VersionStage != "" {
				msg += " and staging label: " + in.VersionStage
			}
			return getSecretValueOutput{}, notFound(msg)
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = Current
		}
		if v = sec.labelled(stage); v == nil {
			return getSecretValueOutput{}, notFound("Secrets Manager can't find the specified secret value for staging label: " + stage)
		}
	}
	if v.value == nil {
		return getSecretValueOutput{}, notFound("Secrets Manager can't find the specified secret value for VersionId: " + v.id)
	}
	out := getSecretValueOutput{ARN: sec.arn, Name: sec.name, VersionId: v.id, VersionStages: slices.Clone(v.stages), CreatedDate: stamp(v.created)}
	if v.binary != nil {
		out.SecretBinary = v.binary
	} else {
		out.SecretString = v.value
	}
	return out, nil
}

type describeSecretInput struct{ SecretId string }

type describeSecretOutput struct {
	ARN                string
	Name               string
	RotationEnabled    bool
	RotationLambdaARN  string `json:",omitempty"`
	VersionIdsToStages map[string][]string
	CreatedDate        *timestamp
	LastChangedDate    *timestamp
	LastRotatedDate    *timestamp `json:",omitempty"`
}

func (s *Server) describeSecret(in describeSecretInput) (describeSecretOutput, *Error) {
	sec, e := s.lookup(in.SecretId)
	if e != nil {
		return describeSecretOutput{}, e
	}
	return describeSecretOutput{
		ARN:                sec.arn,
		Name:               sec.name,
		RotationEnabled:    sec.rotationEnabled,
		RotationLambdaARN:  sec.rotationLambda,
		VersionIdsToStages: sec.stages(),
		CreatedDate:        stamp(sec.created),
		LastChangedDate:    stamp(sec.changed),
		LastRotatedDate:    stamp(sec.rotated),
	}, nil
}

type putSecretValueInput struct {
	SecretId           string
	ClientRequestToken string
	SecretString       *string
	SecretBinary       []byte
	VersionStages      []string
	RotationToken      string
}

func (s *Server) putSecretValue(in putSecretValueInput) (secretVersionOutput, *Error) {
	sec, e := s.lookup(in.SecretId)
	if e != nil {
		return secretVersionOutput{}, e
	}
	if (in.SecretString == nil) == (in.SecretBinary == nil) {
		return secretVersionOutput{}, invalidParameter("You must provide either SecretString or SecretBinary, and not both.")
	}
	value := in.SecretString
	if value == nil {
		value = new(string)
	}
	id := in.ClientRequestToken
	if id == "" {
		id = uuid.NewString() // the SDK always sends one
	}
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{Current}
	}
	v := sec.versions[id]
	switch {
	case v == nil:
		v = sec.add(id, value, in.SecretBinary)
	case v.value == nil: // the version RotateSecret started
		v.value, v.binary = value, in.SecretBinary
		sec.changed = time.Now()
	case *v.value == *value && string(v.binary) == string(in.SecretBinary):
		// The same data again: a retry, nothing to do.
		return secretVersionOutput{ARN: sec.arn, Name: sec.name, VersionId: v.id, VersionStages: slices.Clone(v.stages)}, nil
	default:
		return secretVersionOutput{}, &Error{http.StatusBadRequest, "ResourceExistsException",
			"You can't modify an existing version, you can only create new versions."}
	}
	for _, st := range stages {
		sec.attach(v, st)
	}
	return secretVersionOutput{ARN: sec.arn, Name: sec.name, VersionId: v.id, VersionStages: slices.Clone(v.stages)}, nil
}

type updateSecretVersionStageInput struct {
	SecretId            string
	VersionStage        string
	MoveToVersionId     string
	RemoveFromVersionId string
}

func (s *Server) updateSecretVersionStage(in updateSecretVersionStageInput) (secretVersionOutput, *Error) {
	sec, e := s.lookup(in.SecretId)
	if e != nil {
		return secretVersionOutput{}, e
	}
	out := secretVersionOutput{ARN: sec.arn, Name: sec.name}
	if in.VersionStage == "" {
		return out, invalidParameter("VersionStage is required")
	}
	holder := sec.labelled(in.VersionStage)
	if in.RemoveFromVersionId != "" && (holder == nil || holder.id != in.RemoveFromVersionId) {
		return out, invalidParameter("The staging label %s is not attached to version %s, the RemoveFromVersionId.", in.VersionStage, in.RemoveFromVersionId)
	}
	switch {
	case in.MoveToVersionId != "":
		target := sec.versions[in.MoveToVersionId]
		if target == nil {
			return out, notFound("Secrets Manager can't find the specified secret version: " + in.MoveToVersionId)
		}
		if holder != nil && holder != target && in.RemoveFromVersionId == "" {
			return out, invalidParameter("The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, "+
				"so you must explicitly reference that version in RemoveFromVersionId.", in.VersionStage, holder.id)
		}
		sec.attach(target, in.VersionStage)
		if in.VersionStage == Current && holder != target {
			sec.rotated = time.Now()
		}
	case in.RemoveFromVersionId != "":
		if in.VersionStage == Current {
			return out, invalidParameter("You can't remove the staging label AWSCURRENT: move it to another version with MoveToVersionId.")
		}
		holder.stages = slices.DeleteFunc(holder.stages, func(l string) bool { return l == in.VersionStage })
		sec.changed = time.Now()
	default:
		return out, invalidParameter("Specify MoveToVersionId, RemoveFromVersionId or both.")
	}
	return out, nil
}

type rotateSecretInput struct {
	SecretId           string
	ClientRequestToken string
	RotationLambdaARN  string
	RotateImmediately  *bool
}

// rotateSecret records the rotation's configuration and, to rotate now,
// starts the new version (AWSPENDING, no value) as AWS does before it
// invokes the rotation function; run says whether to run the Rotator.
func (s *Server) rotateSecret(in rotateSecretInput) (secretVersionOutput, bool, *Error) {
	sec, e := s.lookup(in.SecretId)
	if e != nil {
		return secretVersionOutput{}, false, e
	}
	out := secretVersionOutput{ARN: sec.arn, Name: sec.name}
	if in.RotationLambdaARN != "" {
		sec.rotationLambda = in.RotationLambdaARN
	}
	if sec.rotationLambda == "" && s.rotator == nil && !sec.rotationEnabled {
		return out, false, invalidRequest("No Lambda rotation function ARN is associated with this secret.")
	}
	sec.rotationEnabled = true
	if in.RotateImmediately != nil && !*in.RotateImmediately {
		return out, false, nil
	}
	if p, c := sec.labelled(Pending), sec.labelled(Current); p != nil && p != c {
		return out, false, invalidRequest("A previous rotation isn't complete. That rotation will be reattempted.")
	}
	id := in.ClientRequestToken
	if id == "" {
		id = uuid.NewString()
	}
	if v := sec.versions[id]; v != nil {
		out.VersionId = id
		return out, false, nil // a retry of the same request
	}
	v := sec.add(id, nil, nil)
	sec.attach(v, Pending)
	out.VersionId = id
	return out, true, nil
}

type getRandomPasswordInput struct {
	PasswordLength          *int64
	ExcludeCharacters       string
	ExcludeNumbers          bool
	ExcludePunctuation      bool
	ExcludeUppercase        bool
	ExcludeLowercase        bool
	IncludeSpace            bool
	RequireEachIncludedType *bool
}

type getRandomPasswordOutput struct{ RandomPassword string }

// The character classes of GetRandomPassword.
const (
	lowercase   = "abcdefghijklmnopqrstuvwxyz"
	uppercase   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits      = "0123456789"
	punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

func getRandomPassword(in getRandomPasswordInput) (getRandomPasswordOutput, *Error) {
	n := int64(32)
	if in.PasswordLength != nil {
		n = *in.PasswordLength
	}
	if n < 1 || n > 4096 {
		return getRandomPasswordOutput{}, invalidParameter("PasswordLength must be between 1 and 4096.")
	}
	var classes []string
	for _, c := range []struct {
		chars    string
		excluded bool
	}{{lowercase, in.ExcludeLowercase}, {uppercase, in.ExcludeUppercase}, {digits, in.ExcludeNumbers},
		{punctuation, in.ExcludePunctuation}, {" ", !in.IncludeSpace}} {
		if c.excluded {
			continue
		}
		kept := strings.Map(func(r rune) rune {
			if strings.ContainsRune(in.ExcludeCharacters, r) {
				return -1
			}
			return r
		}, c.chars)
		if kept != "" {
			classes = append(classes, kept)
		}
	}
	if len(classes) == 0 {
		return getRandomPasswordOutput{}, invalidParameter("The exclusions leave no character to choose from.")
	}
	requireEach := in.RequireEachIncludedType == nil || *in.RequireEachIncludedType
	if requireEach && int64(len(classes)) > n {
		return getRandomPasswordOutput{}, invalidParameter("PasswordLength is too short to include a character of each included type.")
	}
	all := strings.Join(classes, "")
	for {
		p := randomString(all, int(n))
		if !requireEach || !slices.ContainsFunc(classes, func(c string) bool { return !strings.ContainsAny(p, c) }) {
			return getRandomPasswordOutput{RandomPassword: p}, nil
		}
	}
}

func randomString(chars string, n int) string {
	b := make([]byte, n)
	limit := big.NewInt(int64(len(chars)))
	for i := range b {
		k, err := rand.Int(rand.Reader, limit)
		if err != nil {
			panic(err)
		}
		b[i] = chars[k.Int64()]
	}
	return string(b)
}
