package api

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssynthetics"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/settings"
	"wallets/internal/route"
)

// CanaryPaths are what the synthetic check calls through the public URL:
// the health route (which pings the database) and a read route.
var CanaryPaths = []string{route.Prefix + "/health", route.Prefix + "/openapi.json"}

// CanaryName is the canary's name: wallets-<stage>, within Synthetics' 21
// characters for any stage name.
func CanaryName(s settings.Settings) string { return s.Name() }

// canaryScript fails the run unless every path answers 200.
func canaryScript() string {
	paths := ""
	for _, p := range CanaryPaths {
		paths += fmt.Sprintf("%q,", p)
	}
	return `const https = require('https');
const get = (url) => new Promise((resolve, reject) => {
  const req = https.get(url, { headers: { 'User-Agent': 'wallets-canary' }, timeout: 10000 }, (res) => {
    res.resume();
    res.on('end', () => res.statusCode === 200 ? resolve() : reject(new Error(url + ' answered ' + res.statusCode)));
  });
  req.on('timeout', () => req.destroy(new Error(url + ' timed out')));
  req.on('error', reject);
});
exports.handler = async () => {
  const base = process.env.API_URL.replace(/\/$/, '');
  for (const p of [` + paths + `]) { await get(base + p); }
  return 'ok';
};
`
}

// NewCanary builds the CloudWatch Synthetics canary that calls the
// CanaryPaths every canaryMinutes, with its artifacts bucket.
func NewCanary(scope constructs.Construct, id string, s settings.Settings, api awsapigateway.RestApi) awssynthetics.Canary {
	c := constructs.NewConstruct(scope, jsii.String(id))
	bucket := awss3.NewBucket(c, jsii.String("Artifacts"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		LifecycleRules:    &[]*awss3.LifecycleRule{{Expiration: awscdk.Duration_Days(jsii.Number(float64(min(s.LogRetentionDays, 30))))}},
		RemovalPolicy:     s.LogRemoval(),
	})
	return awssynthetics.NewCanary(c, jsii.String("Canary"), &awssynthetics.CanaryProps{
		CanaryName: jsii.String(CanaryName(s)),
		Runtime:    awssynthetics.Runtime_SYNTHETICS_NODEJS_PUPPETEER_9_1(),
		Test: awssynthetics.Test_Custom(&awssynthetics.CustomTestOptions{
			Code:    awssynthetics.Code_FromInline(jsii.String(canaryScript())),
			Handler: jsii.String("index.handler"),
		}),
		Schedule:                awssynthetics.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(float64(s.CanaryMinutes)))),
		EnvironmentVariables:    &map[string]*string{"API_URL": api.Url()},
		ArtifactsBucketLocation: &awssynthetics.ArtifactsBucketLocation{Bucket: bucket},
		StartAfterCreation:      jsii.Bool(true),
		Timeout:                 awscdk.Duration_Seconds(jsii.Number(30)),
		SuccessRetentionPeriod:  awscdk.Duration_Days(jsii.Number(7)),
		FailureRetentionPeriod:  awscdk.Duration_Days(jsii.Number(30)),
	})
}
