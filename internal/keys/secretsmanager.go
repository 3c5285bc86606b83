package keys

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// GetSecretValueAPI is the Secrets Manager call a SecretsManager source
// makes (*secretsmanager.Client has it).
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretsManager is a Source reading the secret secretID (a name or an
// ARN) whose string value is the key: its AWSCURRENT version is the current
// key, its AWSPREVIOUS version (where Secrets Manager moves the replaced
// value when a rotation or put-secret-value makes a new one current) the
// previous one. The two versions are read concurrently.
func SecretsManager(client GetSecretValueAPI, secretID string) Source {
	return SourceFunc(func(ctx context.Context) (Set, error) {
		type result struct {
			value []byte
			err   error
		}
		prev := make(chan result, 1)
		go func() {
			v, err := secretVersion(ctx, client, secretID, "AWSPREVIOUS")
			prev <- result{v, err}
		}()
		cur, err := secretVersion(ctx, client, secretID, "AWSCURRENT")
		p := <-prev
		if err != nil {
			return Set{}, err
		}
		if cur == nil {
			return Set{}, fmt.Errorf("secret %s has no AWSCURRENT version", secretID)
		}
		if p.err != nil {
			return Set{}, p.err
		}
		return Set{Current: cur, Previous: p.value}, nil
	})
}

// secretVersion reads the version of secretID labelled stage: nil when
// there is none (a secret never rotated has no AWSPREVIOUS).
func secretVersion(ctx context.Context, client GetSecretValueAPI, secretID, stage string) ([]byte, error) {
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretID, VersionStage: &stage})
	var missing *smtypes.ResourceNotFoundException
	if errors.As(err, &missing) && stage != "AWSCURRENT" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s of secret %s: %w", stage, secretID, err)
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("secret %s (%s) has no string value", secretID, stage)
	}
	return []byte(strings.TrimSpace(*out.SecretString)), nil
}
