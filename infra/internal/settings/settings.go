// Package settings reads the settings of one stage from the CDK context
// (cdk.json's "wallets:stages" block and -c overrides) and validates them.
package settings

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Settings are the knobs of one deployment stage. Each is read, in order,
// from the command line (`cdk synth -c key=value`), from the stage's block in
// cdk.json ("wallets:stages" → stage → key), or from the default below.
type Settings struct {
	// Stage names the deployment (dev, prod, ...): stack names, resource
	// names and WALLETS_ENV carry it. Context key "stage"; default "dev".
	Stage string
	// AssetRoot holds build/<function>/bootstrap for every function ("assetRoot",
	// default "build", relative to the directory cdk runs in).
	AssetRoot string
	// Protect turns on deletion protection, snapshot-on-delete, retained
	// secrets and stack termination protection ("protect"; default: every
	// stage but dev).
	Protect bool

	// Network.
	NatGateways int // "natGateways"; default 1 (dev) or 2

	// Database.
	DBMinCapacity       float64 // "dbMinCapacity" in ACUs; default 0.5
	DBMaxCapacity       float64 // "dbMaxCapacity" in ACUs; default 4
	DBReaders           int     // "dbReaders"; default 1 (at least 1)
	BackupRetentionDays int     // "backupRetentionDays"; default 7 (at least 7)

	// API.
	AuthorizerCacheTTL int     // "authorizerCacheTtlSeconds"; default 0 (no cache)
	ThrottleRate       float64 // "throttleRateLimit" requests/s; default 100
	ThrottleBurst      float64 // "throttleBurstLimit"; default 200
	Tracing            bool    // "tracing": X-Ray on the API and functions; default false

	// Observability.
	LogRetentionDays int    // "logRetentionDays"; default 30
	AlarmEmail       string // "alarmEmail": subscribed to the alarm topic when set
	// SentryDSNSecretName imports an existing Secrets Manager secret holding
	// the DSN ("sentryDsnSecretName"); empty creates wallets/<stage>/sentry-dsn
	// with a placeholder value.
	SentryDSNSecretName string
	// Business alarm thresholds, per 5 minutes.
	RejectedDebitsThreshold float64 // "rejectedDebitsThreshold"; default 10: the RejectedDebits alarm's, on RejectedMovements of business-debit
	LoginThrottledThreshold float64 // "loginThrottledThreshold"; default 20

	// Per-client limits (AWS WAF on the stage).
	WafRateLimit      int  // "wafRateLimit": requests per 5 minutes per IP, any route; default 1000
	WafUsersRateLimit int  // "wafUsersRateLimit": requests per 5 minutes per IP on /users/*; default 100
	WafManagedRules   bool // "wafManagedRules": AWS managed rule groups; default: protected stages

	// Concurrency. Every function gets reserved concurrency, so that the
	// sum over functions of reserved concurrency × pool size is known at
	// synth time and checked against what the proxy may open (CapacityRule).
	RouteConcurrency int // "routeConcurrency": reserved per route function; default 10 (dev 2)
	// The authorizer runs before every authorized request of every route
	// (uncached by default: see AuthorizerCacheTTL), so it gets several
	// routes' worth.
	AuthorizerConcurrency int // "authorizerConcurrency": reserved for the authorizer; default 50 (dev 8)
	AccountConcurrency    int // "accountConcurrency": the account's Lambda limit, for its alarm; default 1000

	// CanaryMinutes is the period of the synthetic check of /health and a
	// read route ("canaryMinutes"; default 5, dev 15).
	CanaryMinutes int
	// DeploymentConfig is the CodeDeploy traffic shift of every function
	// ("deploymentConfig"; default Canary10Percent5Minutes, dev AllAtOnce).
	DeploymentConfig string

	// The GitHub Actions deploy role (the Deploy stack, built only when
	// GithubRepo is set): "githubRepo" (owner/name), and whether the account
	// already has GitHub's OIDC provider ("githubOidcProviderExists", default
	// false: the stack creates it; one per account).
	GithubRepo               string
	GithubOIDCProviderExists bool
	// CdkQualifier is the CDK bootstrap qualifier of the stage
	// ("cdkQualifier", default wlt<stage>; 1-10 lower-case letters or
	// digits): every stack of the stage synthesizes with it (its deploy,
	// publishing and lookup roles are cdk-<qualifier>-…), so that two stages
	// sharing an account and region use bootstrap roles of their own and
	// one stage's deploy role cannot deploy the other. No two stages in
	// cdk.json may share one.
	CdkQualifier string
}

// defaultCdkQualifier is the bootstrap qualifier of a stage without
// cdkQualifier: wlt<stage>, or "" (to be set) when that exceeds CDK's 10
// characters.
func defaultCdkQualifier(stage string) string {
	if q := "wlt" + stage; len(q) <= 10 {
		return q
	}
	return ""
}

// Synthesizer is the stack synthesizer of every stack of the stage: CDK's
// default one with the stage's bootstrap qualifier. A synthesizer binds to
// one stack, so each stack gets a new one.
func (s Settings) Synthesizer() awscdk.IStackSynthesizer {
	return awscdk.NewDefaultStackSynthesizer(&awscdk.DefaultStackSynthesizerProps{Qualifier: jsii.String(s.CdkQualifier)})
}

// MinProtectedACU is the lowest dbMinCapacity a protected stage accepts: at
// 0.5 ACU an instance has 1 GiB of memory (a few hundred MB of buffer cache)
// and scales up slowly (Serverless v2 scales in steps proportional to its
// current capacity), so a burst on a money API meets a cold, tiny database;
// 2 ACU (4 GiB) keeps the working set cached and doubles quickly.
const MinProtectedACU = 2

// StagesContextKey is the cdk.json context key holding per-stage settings.
const StagesContextKey = "wallets:stages"

var (
	stageName  = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	githubRepo = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
)

// Load reads the settings of the stage named by the "stage" context.
func Load(scope constructs.Construct) (Settings, error) {
	node := scope.Node()
	stage := "dev"
	if v, ok := node.TryGetContext(jsii.String("stage")).(string); ok && v != "" {
		stage = v
	}
	if !stageName.MatchString(stage) {
		return Settings{}, fmt.Errorf("stage %q: use 1-12 lower-case letters or digits, starting with a letter", stage)
	}
	stages, _ := node.TryGetContext(jsii.String(StagesContextKey)).(map[string]any)
	stageBlock, _ := stages[stage].(map[string]any)
	r := reader{node: node, stage: stageBlock}
	s := read(&r, stage)
	if r.err != nil {
		return Settings{}, r.err
	}
	if err := s.validate(); err != nil {
		return Settings{}, err
	}
	if err := s.qualifierOfItsOwn(stages); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// read reads every setting of the stage through r, with the stage's
// defaults; r.err holds the first malformed value.
func read(r *reader, stage string) Settings {
	dev := stage == "dev"
	natGateways := 2 // one per AZ: an AZ outage does not cut the other AZ's functions off
	if dev {
		natGateways = 1
	}
	s := Settings{
		Stage:                   stage,
		AssetRoot:               r.str("assetRoot", "build"),
		Protect:                 r.boolean("protect", !dev),
		NatGateways:             r.integer("natGateways", natGateways),
		DBMinCapacity:           r.number("dbMinCapacity", pick(dev, 0.5, MinProtectedACU)),
		DBMaxCapacity:           r.number("dbMaxCapacity", 4),
		DBReaders:               r.integer("dbReaders", 1),
		BackupRetentionDays:     r.integer("backupRetentionDays", 7),
		AuthorizerCacheTTL:      r.integer("authorizerCacheTtlSeconds", 0),
		ThrottleRate:            r.number("throttleRateLimit", 100),
		ThrottleBurst:           r.number("throttleBurstLimit", 200),
		Tracing:                 r.boolean("tracing", false),
		LogRetentionDays:        r.integer("logRetentionDays", 30),
		AlarmEmail:              r.str("alarmEmail", ""),
		SentryDSNSecretName:     r.str("sentryDsnSecretName", ""),
		RejectedDebitsThreshold: r.number("rejectedDebitsThreshold", 10),
		LoginThrottledThreshold: r.number("loginThrottledThreshold", 20),
		WafRateLimit:            r.integer("wafRateLimit", 1000),
		WafUsersRateLimit:       r.integer("wafUsersRateLimit", 100),
		RouteConcurrency:        r.integer("routeConcurrency", pick(dev, 2, 10)),
		AuthorizerConcurrency:   r.integer("authorizerConcurrency", pick(dev, 8, 50)),
		AccountConcurrency:      r.integer("accountConcurrency", 1000),
		CanaryMinutes:           r.integer("canaryMinutes", pick(dev, 15, 5)),
		DeploymentConfig:        r.str("deploymentConfig", pick(dev, "AllAtOnce", "Canary10Percent5Minutes")),
	}
	s.WafManagedRules = r.boolean("wafManagedRules", s.Protect)
	s.GithubRepo = r.str("githubRepo", "")
	s.GithubOIDCProviderExists = r.boolean("githubOidcProviderExists", false)
	s.CdkQualifier = r.str("cdkQualifier", defaultCdkQualifier(stage))
	return s
}

// qualifierOfItsOwn fails when another stage of cdk.json (stages, the
// "wallets:stages" block) has the same qualifier: it would share this
// stage's bootstrap roles (and so its deploy role could deploy this one).
func (s Settings) qualifierOfItsOwn(stages map[string]any) error {
	for _, other := range sortedKeys(stages) {
		if other == s.Stage {
			continue
		}
		q := defaultCdkQualifier(other)
		if block, ok := stages[other].(map[string]any); ok {
			if v, ok := block["cdkQualifier"].(string); ok && v != "" {
				q = v
			}
		}
		if q == s.CdkQualifier {
			return fmt.Errorf("stage %s: cdkQualifier %q is also stage %s's: give every stage a bootstrap qualifier of its own", s.Stage, q, other)
		}
	}
	return nil
}

func pick[T any](dev bool, devValue, otherwise T) T {
	if dev {
		return devValue
	}
	return otherwise
}

func (s Settings) validate() error {
	var errs []string
	if s.Protect && s.AlarmEmail == "" {
		errs = append(errs, "alarmEmail is required on a protected stage: its alarms must reach someone "+
			"(set it in the stage's block of cdk.json or pass -c alarmEmail=oncall@example.com)")
	}
	if s.Protect && s.DBMinCapacity < MinProtectedACU {
		errs = append(errs, fmt.Sprintf("dbMinCapacity %.1f: a protected stage needs at least %d ACU "+
			"(at 0.5 ACU the instance has 1 GiB of memory and scales up slowly; a money API's bursts need a warm buffer cache)",
			s.DBMinCapacity, MinProtectedACU))
	}
	if s.WafRateLimit < 10 || s.WafUsersRateLimit < 10 || s.WafUsersRateLimit > s.WafRateLimit {
		errs = append(errs, "wafRateLimit and wafUsersRateLimit must be at least 10 (AWS WAF's minimum), the /users/* limit no higher than the overall one")
	}
	if s.RouteConcurrency < 1 || s.AuthorizerConcurrency < 1 {
		errs = append(errs, "routeConcurrency and authorizerConcurrency must be at least 1")
	}
	if s.AccountConcurrency < 100 {
		errs = append(errs, "accountConcurrency must be at least 100")
	}
	if !slices.Contains([]int{1, 5, 10, 15, 30, 60}, s.CanaryMinutes) {
		errs = append(errs, "canaryMinutes must be one of 1, 5, 10, 15, 30, 60")
	}
	if _, ok := DeploymentConfigs[s.DeploymentConfig]; !ok {
		errs = append(errs, fmt.Sprintf("deploymentConfig %q: use one of %v", s.DeploymentConfig, sortedKeys(DeploymentConfigs)))
	}
	if s.NatGateways < 1 {
		errs = append(errs, "natGateways must be at least 1: the functions reach Sentry and Secrets Manager through NAT")
	}
	if s.DBMinCapacity < 0.5 || s.DBMaxCapacity < s.DBMinCapacity || s.DBMaxCapacity > 256 {
		errs = append(errs, fmt.Sprintf("dbMinCapacity %.1f / dbMaxCapacity %.1f: need 0.5 <= min <= max <= 256 (RDS Proxy keeps connections open, so the cluster never pauses at 0)", s.DBMinCapacity, s.DBMaxCapacity))
	}
	if s.DBReaders < 1 || s.DBReaders > 15 {
		errs = append(errs, "dbReaders must be between 1 and 15")
	}
	if s.BackupRetentionDays < 7 || s.BackupRetentionDays > 35 {
		errs = append(errs, "backupRetentionDays must be between 7 and 35")
	}
	if s.AuthorizerCacheTTL < 0 || s.AuthorizerCacheTTL > 3600 {
		errs = append(errs, "authorizerCacheTtlSeconds must be between 0 and 3600")
	}
	if s.ThrottleRate <= 0 || s.ThrottleBurst <= 0 {
		errs = append(errs, "throttleRateLimit and throttleBurstLimit must be positive")
	}
	if _, ok := retentionDays[s.LogRetentionDays]; !ok {
		errs = append(errs, fmt.Sprintf("logRetentionDays %d: use one of %v", s.LogRetentionDays, allowedRetentions()))
	}
	if s.GithubRepo != "" && !githubRepo.MatchString(s.GithubRepo) {
		errs = append(errs, fmt.Sprintf("githubRepo %q: want owner/name", s.GithubRepo))
	}
	if !regexp.MustCompile(`^[a-z0-9]{1,10}$`).MatchString(s.CdkQualifier) {
		errs = append(errs, fmt.Sprintf("cdkQualifier %q: 1-10 lower-case letters or digits (the default wlt<stage> needs a stage name of at most 7 characters; "+
			"set cdkQualifier in the stage's block of cdk.json and bootstrap with it)", s.CdkQualifier))
	}
	if len(errs) > 0 {
		return fmt.Errorf("stage %s: %s", s.Stage, strings.Join(errs, "; "))
	}
	return nil
}

// Retention is the log retention of every log group.
func (s Settings) Retention() awslogs.RetentionDays { return retentionDays[s.LogRetentionDays] }

// LogRemoval is what happens to a log group when its stack is deleted: a
// protected stage keeps its logs (they expire with their retention), a
// disposable one deletes them.
func (s Settings) LogRemoval() awscdk.RemovalPolicy {
	if s.Protect {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Name prefixes a physical resource name with the service and stage.
func (s Settings) Name(parts ...string) string {
	return strings.Join(append([]string{"wallets", s.Stage}, parts...), "-")
}

var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
}

func allowedRetentions() []int {
	out := make([]int, 0, len(retentionDays))
	for d := range retentionDays {
		out = append(out, d)
	}
	sort.Ints(out)
	return out
}

// reader looks a key up on the command line, then in the stage block.
// Command-line context values arrive as strings; cdk.json values as JSON.
type reader struct {
	node  constructs.Node
	stage map[string]any
	err   error
}

func (r *reader) raw(key string) (any, bool) {
	if v := r.node.TryGetContext(jsii.String(key)); v != nil {
		return v, true
	}
	v, ok := r.stage[key]
	return v, ok && v != nil
}

func (r *reader) fail(key string, v any, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("context %s=%v: want %s", key, v, want)
	}
}

func (r *reader) str(key, def string) string {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		r.fail(key, v, "a string")
		return def
	}
	return s
}

func (r *reader) number(key string, def float64) float64 {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err == nil {
			return f
		}
	}
	r.fail(key, v, "a number")
	return def
}

func (r *reader) integer(key string, def int) int {
	f := r.number(key, float64(def))
	if f != float64(int(f)) {
		r.fail(key, f, "a whole number")
		return def
	}
	return int(f)
}

func (r *reader) boolean(key string, def bool) bool {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, err := strconv.ParseBool(x)
		if err == nil {
			return b
		}
	}
	r.fail(key, v, "true or false")
	return def
}
