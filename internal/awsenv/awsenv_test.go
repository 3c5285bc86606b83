package awsenv

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// vars are every variable Load reads; each case starts with all of them
// empty, then sets its own.
var vars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCOUNT_ID",
	"AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
	"AWS_CA_BUNDLE",
}

// lambda is what Lambda's environment gives a function.
var lambda = map[string]string{
	"AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "example/secret/key",
	"AWS_SESSION_TOKEN": "example-session-token", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
}

// with returns lambda's environment changed by kv (an empty value unsets).
func with(kv ...string) map[string]string {
	env := map[string]string{}
	for k, v := range lambda {
		env[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// TestLoad: what the environment says reaches the configuration and the
// Secrets Manager client made from it (its NewFromConfig reads the service
// endpoint, FIPS and dual-stack from the configuration's sources); missing
// credentials or a malformed setting is an error naming the variable.
func TestLoad(t *testing.T) {
	type want struct {
		err         string // a part of the error; empty: no error
		region      string
		endpoint    string // the Secrets Manager client's base endpoint; empty: none
		maxAttempts int    // the client's retryer's
		fips        aws.FIPSEndpointState
		dualStack   aws.DualStackEndpointState
	}
	lambdaWant := want{region: "eu-west-1", maxAttempts: 3}
	tests := []struct {
		name string
		env  map[string]string
		want want
	}{
		{"lambda", lambda, lambdaWant},
		{"no credentials", map[string]string{"AWS_REGION": "eu-west-1"},
			want{err: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"}},
		{"no key id", with("AWS_ACCESS_KEY_ID", ""), want{err: "AWS_ACCESS_KEY_ID not set"}},
		{"no secret key", with("AWS_SECRET_ACCESS_KEY", ""), want{err: "AWS_SECRET_ACCESS_KEY not set"}},
		{"no session token", with("AWS_SESSION_TOKEN", ""), lambdaWant},
		{"default region", with("AWS_REGION", "", "AWS_DEFAULT_REGION", "us-east-2"),
			want{region: "us-east-2", maxAttempts: 3}},
		{"AWS_REGION first", with("AWS_DEFAULT_REGION", "us-east-2"), lambdaWant},
		{"no region", with("AWS_REGION", "", "AWS_DEFAULT_REGION", ""), want{maxAttempts: 3}},
		{"service endpoint", with("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://localhost:8443"),
			want{region: "eu-west-1", endpoint: "https://localhost:8443", maxAttempts: 3}},
		{"global endpoint", with("AWS_ENDPOINT_URL", "https://localhost:9443"),
			want{region: "eu-west-1", endpoint: "https://localhost:9443", maxAttempts: 3}},
		{"service endpoint first", with("AWS_ENDPOINT_URL", "https://localhost:9443", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://localhost:8443"),
			want{region: "eu-west-1", endpoint: "https://localhost:8443", maxAttempts: 3}},
		{"endpoints ignored", with("AWS_ENDPOINT_URL", "https://localhost:9443", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://localhost:8443",
			"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"), lambdaWant},
		{"endpoints not ignored", with("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://localhost:8443", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false"),
			want{region: "eu-west-1", endpoint: "https://localhost:8443", maxAttempts: 3}},
		{"fips, dual-stack", with("AWS_USE_FIPS_ENDPOINT", "true", "AWS_USE_DUALSTACK_ENDPOINT", "false"),
			want{region: "eu-west-1", maxAttempts: 3, fips: aws.FIPSEndpointStateEnabled, dualStack: aws.DualStackEndpointStateDisabled}},
		{"max attempts", with("AWS_MAX_ATTEMPTS", "5", "AWS_RETRY_MODE", "adaptive"), want{region: "eu-west-1", maxAttempts: 5}},
		{"bad max attempts", with("AWS_MAX_ATTEMPTS", "five"), want{err: "AWS_MAX_ATTEMPTS"}},
		{"bad retry mode", with("AWS_RETRY_MODE", "eager"), want{err: "AWS_RETRY_MODE"}},
		{"bad fips", with("AWS_USE_FIPS_ENDPOINT", "yes"), want{err: "AWS_USE_FIPS_ENDPOINT=yes"}},
		{"missing bundle", with("AWS_CA_BUNDLE", "/nonexistent/ca.pem"), want{err: "AWS_CA_BUNDLE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range vars {
				t.Setenv(k, tt.env[k])
			}
			cfg, err := Load()
			if tt.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want.err) {
					t.Fatalf("Load: %v, want an error with %q", err, tt.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil || creds.AccessKeyID != tt.env["AWS_ACCESS_KEY_ID"] ||
				creds.SecretAccessKey != tt.env["AWS_SECRET_ACCESS_KEY"] || creds.SessionToken != tt.env["AWS_SESSION_TOKEN"] {
				t.Errorf("credentials %+v, %v", creds, err)
			}
			o := secretsmanager.NewFromConfig(cfg).Options()
			endpoint := ""
			if o.BaseEndpoint != nil {
				endpoint = *o.BaseEndpoint
			}
			got := want{region: o.Region, endpoint: endpoint, maxAttempts: o.Retryer.MaxAttempts(),
				fips: o.EndpointOptions.UseFIPSEndpoint, dualStack: o.EndpointOptions.UseDualStackEndpoint}
			if got != tt.want {
				t.Errorf("client options %+v, want %+v", got, tt.want)
			}
			if tt.env["AWS_RETRY_MODE"] != "" && string(o.RetryMode) != tt.env["AWS_RETRY_MODE"] {
				t.Errorf("retry mode %q, want %q", o.RetryMode, tt.env["AWS_RETRY_MODE"])
			}
		})
	}
}
