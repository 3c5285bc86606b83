package keyrotation_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"wallets/internal/keyrotation"
	"wallets/internal/secretstest"
)

// A manual rotation whose Secrets Manager call fails says which call on
// which secret, passes the SDK's error on, and leaves AWSCURRENT alone.
func TestRotateFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		op, want string
	}{
		{"GetSecretValue", "read the current version of " + name},
		{"PutSecretValue", "put version "},
		{"GetRandomPassword", "new key: "},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			t.Parallel()
			s := secretstest.New(t)
			s.Put(name, oldKey)
			s.Fail(c.op, secretstest.ErrDenied)
			_, err := keyrotation.Rotate(t.Context(), s.Client(), name)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Rotate with %s failing = %v; want an error holding %q", c.op, err, c.want)
			}
			if !strings.Contains(err.Error(), "AccessDeniedException") {
				t.Errorf("error %q does not pass the SDK's error on", err)
			}
			if cur, _ := s.Value(name, secretstest.Current); cur != oldKey {
				t.Errorf("AWSCURRENT is %q after a failed rotation; want the old key", cur)
			}
		})
	}
}

func TestRotateOfAMissingSecretIsNotFound(t *testing.T) {
	t.Parallel()
	s := secretstest.New(t)
	_, err := keyrotation.Rotate(t.Context(), s.Client(), "wallets/test/nope")
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "describe secret wallets/test/nope") {
		t.Errorf("Rotate = %v; want the not-found error naming the secret", err)
	}
}
