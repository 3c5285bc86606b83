// Package awsenv builds the AWS SDK configuration of a Lambda function from
// its environment alone: the execution role's credentials and the region,
// which Lambda puts there, and the few settings of the SDK's environment
// that the Secrets Manager client and RDS IAM tokens use.
//
// It stands in for the SDK's config.LoadDefaultConfig, whose credential
// chain links the STS, SSO, SSO OIDC and Sign-In clients (profiles, assume
// role, web identity, SSO) into every binary that calls it; their package
// initialisation alone cost each function's cold start about a millisecond
// (see README, "Decisions": cold start). LoadDefaultConfig takes the same
// credentials from the same variables, once, when the environment has them,
// as it does in Lambda.
//
// Read, as the SDK reads them:
//
//   - AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (both required),
//     AWS_SESSION_TOKEN and AWS_ACCOUNT_ID: static credentials;
//   - AWS_REGION, else AWS_DEFAULT_REGION;
//   - AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (such as
//     AWS_ENDPOINT_URL_SECRETS_MANAGER), unless
//     AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true;
//     AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT;
//   - AWS_MAX_ATTEMPTS, AWS_RETRY_MODE;
//   - AWS_CA_BUNDLE, through package awstrust: the HTTP client trusts
//     Amazon Trust Services' roots and the bundle's, not the system's store.
//
// Not read: shared config and credentials files, profiles, and every other
// credential source (SSO, assume role, web identity, process, container and
// instance metadata), AWS_DEFAULTS_MODE, AWS_SDK_UA_APP_ID and the settings
// of other services (S3, request compression, checksums).
package awsenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"

	"wallets/internal/awstrust"
)

// Load returns the AWS configuration the environment describes, or an
// error naming the variable that is missing or malformed. It makes no
// network call.
func Load() (aws.Config, error) {
	creds := aws.Credentials{
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		AccountID:       os.Getenv("AWS_ACCOUNT_ID"),
	}
	var missing []string
	if creds.AccessKeyID == "" {
		missing = append(missing, "AWS_ACCESS_KEY_ID")
	}
	if creds.SecretAccessKey == "" {
		missing = append(missing, "AWS_SECRET_ACCESS_KEY")
	}
	if len(missing) > 0 {
		return aws.Config{}, fmt.Errorf("aws config: no AWS credentials in the environment: %s not set "+
			"(Lambda sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the execution role; "+
			"profiles, SSO and other credential sources are not read)", strings.Join(missing, " and "))
	}
	roots, err := awstrust.Pool()
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	src, err := fromEnv()
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	cfg := aws.Config{
		Region: os.Getenv("AWS_REGION"),
		Credentials: credentials.StaticCredentialsProvider{
			Value:  creds,
			Source: []aws.CredentialSource{aws.CredentialSourceEnvVars},
		},
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			tr.TLSClientConfig.RootCAs = roots
		}),
		// What LoadDefaultConfig sets when nothing says otherwise.
		Logger:       logging.NewStandardLogger(os.Stderr),
		DefaultsMode: aws.DefaultsModeLegacy,
		// The clients read the service endpoints, FIPS and dual-stack from
		// here (their NewFromConfig).
		ConfigSources:    []any{src},
		RetryMaxAttempts: src.maxAttempts,
		RetryMode:        src.retryMode,
	}
	if cfg.Region == "" {
		cfg.Region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if url := os.Getenv("AWS_ENDPOINT_URL"); url != "" && !src.ignoreEndpoints {
		cfg.BaseEndpoint = aws.String(url)
	}
	return cfg, nil
}

// source is what the environment says of endpoints and retries. It answers
// the SDK clients' questions about endpoints as the SDK's config.EnvConfig
// does (the clients look for these methods in aws.Config.ConfigSources);
// Load copies the retry settings into aws.Config.
type source struct {
	ignoreEndpoints bool
	fips            aws.FIPSEndpointState
	dualStack       aws.DualStackEndpointState
	maxAttempts     int
	retryMode       aws.RetryMode
}

func fromEnv() (source, error) {
	var s source
	var errs []error
	if v := os.Getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("AWS_MAX_ATTEMPTS=%s: not a number", v))
		}
		s.maxAttempts = n
	}
	if v := os.Getenv("AWS_RETRY_MODE"); v != "" {
		m, err := aws.ParseRetryMode(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("AWS_RETRY_MODE: %w", err))
		}
		s.retryMode = m
	}
	ignore, err := tristate("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", false, true, false)
	s.ignoreEndpoints = ignore
	errs = append(errs, err)
	s.fips, err = tristate("AWS_USE_FIPS_ENDPOINT",
		aws.FIPSEndpointStateUnset, aws.FIPSEndpointStateEnabled, aws.FIPSEndpointStateDisabled)
	errs = append(errs, err)
	s.dualStack, err = tristate("AWS_USE_DUALSTACK_ENDPOINT",
		aws.DualStackEndpointStateUnset, aws.DualStackEndpointStateEnabled, aws.DualStackEndpointStateDisabled)
	errs = append(errs, err)
	return s, errors.Join(errs...)
}

// tristate reads the true/false variable name (in any case): unset when it
// is unset or empty.
func tristate[T any](name string, unset, on, off T) (T, error) {
	switch v := os.Getenv(name); {
	case v == "":
		return unset, nil
	case strings.EqualFold(v, "true"):
		return on, nil
	case strings.EqualFold(v, "false"):
		return off, nil
	default:
		return unset, fmt.Errorf("%s=%s: want true or false", name, v)
	}
}

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<sdkID>, with sdkID in
// upper case and its spaces as underscores ("Secrets Manager":
// AWS_ENDPOINT_URL_SECRETS_MANAGER).
func (source) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	url := os.Getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return url, url != "", nil
}

// GetIgnoreConfiguredEndpoints reports AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (s source) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return s.ignoreEndpoints, s.ignoreEndpoints, nil
}

// GetUseFIPSEndpoint reports AWS_USE_FIPS_ENDPOINT.
func (s source) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	return s.fips, s.fips != aws.FIPSEndpointStateUnset, nil
}

// GetUseDualStackEndpoint reports AWS_USE_DUALSTACK_ENDPOINT.
func (s source) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	return s.dualStack, s.dualStack != aws.DualStackEndpointStateUnset, nil
}
