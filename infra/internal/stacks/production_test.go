package stacks

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/api"
	"wallets/infra/internal/data"
	"wallets/infra/internal/functions"
	"wallets/infra/internal/monitoring"
	"wallets/infra/internal/pipeline"
	"wallets/infra/internal/settings"
	"wallets/internal/route"
)

// Point 1: a protected stage without an alarm subscriber does not synth,
// and says why.
func TestProdRefusesToSynthWithoutAlarmSubscriber(t *testing.T) {
	_, err := settings.Load(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"stage": "prod", "dbMinCapacity": 2}}))
	if err == nil || !strings.Contains(err.Error(), "alarmEmail is required on a protected stage") {
		t.Fatalf("prod without alarmEmail: error %v", err)
	}
	// dev may go without.
	if _, err := settings.Load(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"stage": "dev"}})); err != nil {
		t.Errorf("dev without alarmEmail: %v", err)
	}
	d := prodDeployment(t)
	subs := d.monJSON.resources("AWS::SNS::Subscription")
	if len(subs) != 1 || subs[0].Props["Endpoint"] != testAlarmEmail || refOf(subs[0].Props["TopicArn"]) != d.monJSON.resources("AWS::SNS::Topic")[0].ID {
		t.Errorf("prod subscriptions %s", jsonString(subs))
	}
}

// Points 2 and 3: the connections threshold follows the capacity range
// (max_connections is capped at 2,000 below 1 ACU minimum), and a protected
// stage's minimum capacity is at least settings.MinProtectedACU.
func TestThresholdsFromCapacity(t *testing.T) {
	for _, c := range []struct {
		min, max float64
		want     int
	}{{0.5, 16, 2000}, {0.5, 2, 450}, {2, 16, 3604}, {2, 64, 5000}} {
		if got := data.AuroraMaxConnections(c.min, c.max); got != c.want {
			t.Errorf("AuroraMaxConnections(%v, %v) = %d, want %d", c.min, c.max, got, c.want)
		}
	}
	for _, d := range []*synthesized{prodDeployment(t), devDeployment(t)} {
		s := d.w.Settings
		alarms := alarmsByName(d)
		want := math.Floor(0.8 * float64(data.AuroraMaxConnections(s.DBMinCapacity, s.DBMaxCapacity)))
		for _, role := range []string{"writer", "reader"} {
			a := alarms[s.Name("db-"+role+"-connections")]
			if a.Props["Threshold"] != want {
				t.Errorf("%s db-%s-connections threshold %v, want %v", s.Stage, role, a.Props["Threshold"], want)
			}
			if c := alarms[s.Name("db-"+role+"-capacity-max")]; c.Props["Threshold"] != s.DBMaxCapacity {
				t.Errorf("%s capacity-max threshold %v, want %v", s.Stage, c.Props["Threshold"], s.DBMaxCapacity)
			}
		}
	}
	prod := prodDeployment(t)
	if prod.w.Settings.DBMinCapacity < settings.MinProtectedACU {
		t.Errorf("prod dbMinCapacity %v", prod.w.Settings.DBMinCapacity)
	}
	for _, c := range prod.dataJSON.resources("AWS::RDS::DBCluster") {
		if got := get(c.Props, "ServerlessV2ScalingConfiguration", "MinCapacity"); got != float64(settings.MinProtectedACU) {
			t.Errorf("prod cluster MinCapacity %v", got)
		}
	}
	_, err := settings.Load(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"stage": "prod", "alarmEmail": "a@example.com", "dbMinCapacity": 0.5}}))
	if err == nil || !strings.Contains(err.Error(), "dbMinCapacity") {
		t.Errorf("prod at 0.5 ACU: error %v", err)
	}
}

// Point 4: a WAF web ACL on the stage: per-IP rate limits, tighter on
// /users/*, answering the contract's 429; AWS managed groups on prod only
// (wafManagedRules).
func TestWebACL(t *testing.T) {
	for _, d := range []*synthesized{prodDeployment(t), devDeployment(t)} {
		s := d.w.Settings
		acls := d.apiJSON.resources("AWS::WAFv2::WebACL")
		if len(acls) != 1 {
			t.Fatalf("%s: %d web ACLs", s.Stage, len(acls))
		}
		acl := acls[0]
		if acl.Props["Scope"] != "REGIONAL" || get(acl.Props, "DefaultAction", "Allow") == nil {
			t.Errorf("%s: web ACL %s", s.Stage, jsonString(acl.Props))
		}
		rules := map[string]any{}
		for _, r := range asList(acl.Props["Rules"]) {
			rules[get(r, "Name").(string)] = r
		}
		users, all := rules["rate-users"], rules["rate-all"]
		if get(users, "Statement", "RateBasedStatement", "Limit") != float64(s.WafUsersRateLimit) ||
			get(users, "Statement", "RateBasedStatement", "AggregateKeyType") != "IP" ||
			get(users, "Statement", "RateBasedStatement", "ScopeDownStatement", "ByteMatchStatement", "SearchString") != "/api/v1/users/" {
			t.Errorf("%s: rate-users %s", s.Stage, jsonString(users))
		}
		if get(all, "Statement", "RateBasedStatement", "Limit") != float64(s.WafRateLimit) || s.WafUsersRateLimit >= s.WafRateLimit {
			t.Errorf("%s: rate-all %s", s.Stage, jsonString(all))
		}
		if get(users, "Action", "Block", "CustomResponse", "ResponseCode") != float64(429) ||
			!strings.Contains(fmt.Sprint(get(acl.Props, "CustomResponseBodies", "throttled", "Content")), "detail") {
			t.Errorf("%s: a rate-limited client does not get the contract's 429", s.Stage)
		}
		// Neither case nor percent-encoding escapes the /users/ limit.
		if got := jsonString(get(users, "Statement", "RateBasedStatement", "ScopeDownStatement", "ByteMatchStatement", "TextTransformations")); got != `[{"Priority":0,"Type":"URL_DECODE"},{"Priority":1,"Type":"LOWERCASE"}]` {
			t.Errorf("%s: rate-users transformations %s, want URL_DECODE then LOWERCASE", s.Stage, got)
		}
		// Every Block answers in the contract's shape: a JSON body with
		// {"detail": ...} and the security headers.
		bodies, _ := acl.Props["CustomResponseBodies"].(map[string]any)
		for _, r := range asList(acl.Props["Rules"]) {
			name := get(r, "Name").(string)
			block := get(r, "Action", "Block")
			if block == nil {
				continue
			}
			resp := get(block, "CustomResponse")
			key, _ := get(resp, "CustomResponseBodyKey").(string)
			var body map[string]string
			if err := json.Unmarshal([]byte(fmt.Sprint(get(bodies[key], "Content"))), &body); err != nil || body["detail"] == "" ||
				get(bodies[key], "ContentType") != "APPLICATION_JSON" {
				t.Errorf("%s: rule %s blocks with body %q (%v): %s", s.Stage, name, key, err, jsonString(bodies[key]))
			}
			headers := map[string]any{}
			for _, h := range asList(get(resp, "ResponseHeaders")) {
				headers[get(h, "Name").(string)] = get(h, "Value")
			}
			if headers["X-Content-Type-Options"] != "nosniff" || headers["Cache-Control"] != "no-store" {
				t.Errorf("%s: rule %s blocks with headers %v", s.Stage, name, headers)
			}
		}
		for _, g := range api.ManagedRuleGroups {
			_, has := rules[g]
			if has != s.WafManagedRules {
				t.Errorf("%s: managed group %s present %v, wafManagedRules %v", s.Stage, g, has, s.WafManagedRules)
			}
			// A group's own Block would answer WAF's bare 403: the groups
			// count (and label), managed-block blocks.
			if has && (get(rules[g], "OverrideAction", "Count") == nil || get(rules[g], "OverrideAction", "None") != nil) {
				t.Errorf("%s: managed group %s override %s, want Count", s.Stage, g, jsonString(get(rules[g], "OverrideAction")))
			}
		}
		mb, has := rules[api.ManagedBlockRule]
		if has != s.WafManagedRules {
			t.Fatalf("%s: %s present %v, wafManagedRules %v", s.Stage, api.ManagedBlockRule, has, s.WafManagedRules)
		}
		if has {
			if get(mb, "Action", "Block", "CustomResponse", "ResponseCode") != float64(403) ||
				get(mb, "Action", "Block", "CustomResponse", "CustomResponseBodyKey") != "blocked" ||
				get(bodies["blocked"], "Content") != `{"detail": "You do not have permission to perform this action."}` {
				t.Errorf("%s: %s does not answer the contract's 403: %s", s.Stage, api.ManagedBlockRule, jsonString(mb))
			}
			for _, g := range api.ManagedRuleGroups {
				if get(mb, "Priority").(float64) <= get(rules[g], "Priority").(float64) {
					t.Errorf("%s: %s runs before %s, whose labels it reads", s.Stage, api.ManagedBlockRule, g)
				}
			}
			stmt := jsonString(get(mb, "Statement"))
			namespaces, blocking, counted := api.ManagedBlockLabels()
			for _, ns := range namespaces {
				if !strings.Contains(stmt, `"Key":"`+ns+`","Scope":"NAMESPACE"`) {
					t.Errorf("%s: %s does not block on the labels of %s: %s", s.Stage, api.ManagedBlockRule, ns, stmt)
				}
			}
			// Each blocking rule by name: a request over 8 KB carries the
			// counted body label, which the namespace matches spare.
			for _, l := range blocking {
				if !strings.Contains(stmt, `{"LabelMatchStatement":{"Key":"`+l+`","Scope":"LABEL"}}`) || slices.Contains(counted, l) {
					t.Errorf("%s: %s does not block on %s by name", s.Stage, api.ManagedBlockRule, l)
				}
			}
			// What only counts stays counted.
			for _, l := range counted {
				if !strings.Contains(stmt, `{"NotStatement":{"Statement":{"LabelMatchStatement":{"Key":"`+l+`","Scope":"LABEL"}}}}`) {
					t.Errorf("%s: %s blocks the counted %s: %s", s.Stage, api.ManagedBlockRule, l, stmt)
				}
			}
		}
		logging := d.apiJSON.resources("AWS::WAFv2::LoggingConfiguration")
		if len(logging) != 1 || refOf(logging[0].Props["ResourceArn"]) != acl.ID ||
			!strings.Contains(jsonString(logging[0].Props["LogDestinationConfigs"]), "log-group:aws-waf-logs-"+s.Name()) ||
			!strings.Contains(jsonString(logging[0].Props["RedactedFields"]), `"authorization"`) ||
			!strings.Contains(jsonString(logging[0].Props["RedactedFields"]), `"cookie"`) {
			t.Errorf("%s: WAF logging %s", s.Stage, jsonString(logging))
		}
		assoc := d.apiJSON.resources("AWS::WAFv2::WebACLAssociation")
		stage := d.apiJSON.resources("AWS::ApiGateway::Stage")[0]
		if len(assoc) != 1 || refOf(assoc[0].Props["WebACLArn"]) != acl.ID || !strings.Contains(jsonString(assoc[0].Props["ResourceArn"]), stage.ID) {
			t.Errorf("%s: association %s", s.Stage, jsonString(assoc))
		}
	}
	if !prodDeployment(t).w.Settings.WafManagedRules || devDeployment(t).w.Settings.WafManagedRules {
		t.Error("managed rule groups: want them on prod, off on dev by default")
	}
}

// Point 5: the REST API accepts TLS 1.2+ only.
func TestTLSPolicy(t *testing.T) {
	restApi := prodDeployment(t).apiJSON.resources("AWS::ApiGateway::RestApi")[0]
	if restApi.Props["SecurityPolicy"] != api.TLSSecurityPolicy || restApi.Props["EndpointAccessMode"] != "BASIC" {
		t.Errorf("RestApi SecurityPolicy %v EndpointAccessMode %v", restApi.Props["SecurityPolicy"], restApi.Props["EndpointAccessMode"])
	}
}

func alarmsByName(d *synthesized) map[string]resource {
	out := map[string]resource{}
	for _, a := range d.monJSON.resources("AWS::CloudWatch::Alarm") {
		out[a.Props["AlarmName"].(string)] = a
	}
	return out
}

// Point 8: the recommended alarms exist, and missing data is breaching
// exactly where the metric is always published (silence means its source
// is gone).
func TestRecommendedAlarmsAndMissingData(t *testing.T) {
	d := prodDeployment(t)
	alarms := alarmsByName(d)
	breaching := []string{"db-writer-cpu", "db-reader-cpu", "db-writer-memory", "db-reader-memory",
		"db-writer-local-storage", "db-reader-local-storage", "db-transaction-ids", "canary", "outbox-age"}
	for name, a := range alarms {
		want := "notBreaching"
		if slices.Contains(breaching, strings.TrimPrefix(name, "wallets-prod-")) {
			want = "breaching"
		}
		if a.Props["TreatMissingData"] != want {
			t.Errorf("%s: TreatMissingData %v, want %s", name, a.Props["TreatMissingData"], want)
		}
	}
	checks := map[string]struct {
		metric    string
		threshold float64
	}{
		"db-transaction-ids":         {"MaximumUsedTransactionIDs", 1e9},
		"db-load-1":                  {"DBLoad", monitoring.VCPUs(d.w.Settings.DBMaxCapacity)},
		"db-writer-capacity-max":     {"ServerlessDatabaseCapacity", d.w.Settings.DBMaxCapacity},
		"db-writer-local-storage":    {"FreeLocalStorage", math.Floor(0.1 * monitoring.LocalStorageBytes(d.w.Settings.DBMinCapacity))},
		"lambda-account-concurrency": {"ConcurrentExecutions", 0.8 * float64(d.w.Settings.AccountConcurrency)},
		"canary":                     {"SuccessPercent", 100},
	}
	for name, c := range checks {
		a := alarms["wallets-prod-"+name].Props
		if a["MetricName"] != c.metric || a["Threshold"] != c.threshold {
			t.Errorf("%s: %v > %v, want %s at %v", name, a["MetricName"], a["Threshold"], c.metric, c.threshold)
		}
	}
	rules := d.monJSON.resources("AWS::Events::Rule")
	found := false
	for _, r := range rules {
		if strings.Contains(jsonString(r.Props["EventPattern"]), "RotationFailed") {
			found = true
			targets := asList(r.Props["Targets"])
			if len(targets) != 1 || refOf(get(targets[0], "Arn")) != d.monJSON.resources("AWS::SNS::Topic")[0].ID {
				t.Errorf("rotation failures go to %s, want the alarm topic", jsonString(targets))
			}
		}
	}
	if !found {
		t.Error("no rule for secret rotation failures")
	}
}

// Point 8: the canary calls /health and a read route on the deployed URL.
func TestSyntheticCanary(t *testing.T) {
	d := prodDeployment(t)
	canaries := d.apiJSON.resources("AWS::Synthetics::Canary")
	if len(canaries) != 1 {
		t.Fatalf("%d canaries", len(canaries))
	}
	c := canaries[0].Props
	code := fmt.Sprint(get(c, "Code", "Script"))
	for _, p := range api.CanaryPaths {
		if !strings.Contains(code, p) {
			t.Errorf("canary script does not call %s", p)
		}
	}
	if get(c, "Schedule", "Expression") != fmt.Sprintf("rate(%d minutes)", d.w.Settings.CanaryMinutes) || get(c, "StartCanaryAfterCreation") != true {
		t.Errorf("canary schedule %s", jsonString(get(c, "Schedule")))
	}
	if get(c, "RunConfig", "EnvironmentVariables", "API_URL") == nil {
		t.Error("canary has no API_URL")
	}
}

// Point 9: protected stages keep their logs and the master secret; every
// log group, the rotation function's and the proxy's included, has the
// stage's retention (TestLogRetention).
func TestLogsAndSecretsPerStage(t *testing.T) {
	for _, d := range []*synthesized{prodDeployment(t), devDeployment(t)} {
		want := "Delete"
		if d.w.Settings.Protect {
			want = "Retain"
		}
		names := map[string]bool{}
		for _, tp := range []template{d.dataJSON, d.monJSON, d.apiJSON} {
			for _, lg := range tp.resources("AWS::Logs::LogGroup") {
				if lg.Raw["DeletionPolicy"] != want {
					t.Errorf("%s: log group %s DeletionPolicy %v, want %s", d.w.Settings.Stage, lg.ID, lg.Raw["DeletionPolicy"], want)
				}
				if n, ok := lg.Props["LogGroupName"].(string); ok {
					names[n] = true
				}
				if lg.Props["RetentionInDays"] != float64(d.w.Settings.LogRetentionDays) {
					t.Errorf("%s: log group %s keeps logs %v days", d.w.Settings.Stage, lg.ID, lg.Props["RetentionInDays"])
				}
			}
		}
		if !names["/aws/rds/proxy/"+d.w.Data.Database.ProxyName] {
			t.Errorf("%s: no log group for the proxy", d.w.Settings.Stage)
		}
		rotation := false
		for n := range names {
			rotation = rotation || strings.HasPrefix(n, "/aws/lambda/") && strings.Contains(strings.ToLower(n), "rotation")
		}
		if !rotation {
			t.Errorf("%s: no log group for the rotation function (%v)", d.w.Settings.Stage, names)
		}
		for _, sec := range d.dataJSON.resources("AWS::SecretsManager::Secret") {
			if sec.Raw["DeletionPolicy"] != want {
				t.Errorf("%s: secret %s DeletionPolicy %v, want %s", d.w.Settings.Stage, sec.ID, sec.Raw["DeletionPolicy"], want)
			}
		}
	}
}

// Point 10: every function has reserved concurrency, and the capacity rule
// holds at synth time and refuses a configuration that breaks it.
func TestReservedConcurrencyAndCapacityRule(t *testing.T) {
	for _, d := range []*synthesized{prodDeployment(t), devDeployment(t)} {
		s := d.w.Settings
		for name, fn := range functionsByName(d.apiJSON) {
			if !strings.HasPrefix(name, s.Name()) {
				continue
			}
			if rc, ok := fn.Props["ReservedConcurrentExecutions"].(float64); !ok || rc < 1 {
				t.Errorf("%s: ReservedConcurrentExecutions %v", name, fn.Props["ReservedConcurrentExecutions"])
			}
		}
		used, limit := functions.ConnectionBudget(s, d.w.Api.Functions)
		if used > limit || used == 0 {
			t.Errorf("%s: functions may open %d connections, proxy limit %d", s.Stage, used, limit)
		}
		t.Logf("%s: %d of %d proxy connections reserved", s.Stage, used, limit)
	}
	// Too much concurrency for the capacity: a clear error naming the rule.
	_, err := synthStage("dev", map[string]any{"routeConcurrency": 200, "accountConcurrency": 10000})
	if err == nil || !strings.Contains(err.Error(), "capacity rule") || !strings.Contains(err.Error(), "routeConcurrency") {
		t.Errorf("routeConcurrency 200 on dev: error %v", err)
	}
	// The events functions count at their worst case: the relay at its
	// reserved 2, the delivery worker at its reserved 10 (= the queue
	// mapping's maximum concurrency), one pool of PoolSize each.
	for _, part := range []string{
		fmt.Sprintf("%s %d×1×%d", functions.EventsRelayFunction, functions.RelayConcurrency, functions.PoolSize),
		fmt.Sprintf("%s %d×1×%d", functions.WebhooksDeliverFunction, functions.DeliveryConcurrency, functions.PoolSize),
	} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("capacity rule error %v does not count %s", err, part)
		}
	}
}

// Point 6: every function but the migrations serves through its live
// alias, shifted by CodeDeploy with automatic rollback on its alarms.
func TestSafeDeployments(t *testing.T) {
	for _, d := range []*synthesized{prodDeployment(t), devDeployment(t)} {
		s := d.w.Settings
		aliases := map[string]resource{} // function logical id → alias
		for _, a := range d.apiJSON.resources("AWS::Lambda::Alias") {
			aliases[refOf(a.Props["FunctionName"])] = a
			if get(a.Raw, "UpdatePolicy", "CodeDeployLambdaAliasUpdate") == nil {
				t.Errorf("%s: alias %s is not updated through CodeDeploy", s.Stage, a.ID)
			}
		}
		for _, v := range d.apiJSON.resources("AWS::Lambda::Version") {
			if v.Raw["DeletionPolicy"] != "Delete" {
				t.Errorf("%s: version %s DeletionPolicy %v: replaced versions would pile up", s.Stage, v.ID, v.Raw["DeletionPolicy"])
			}
		}
		groups := d.apiJSON.resources("AWS::CodeDeploy::DeploymentGroup")
		for name, fn := range functionsByName(d.apiJSON) {
			if !strings.HasPrefix(name, s.Name()) {
				continue
			}
			_, has := aliases[fn.ID]
			if has == (name == s.Name(functions.MigrateFunction)) {
				t.Errorf("%s: alias %v", name, has)
			}
		}
		if len(groups) != len(aliases) {
			t.Errorf("%s: %d deployment groups for %d aliases", s.Stage, len(groups), len(aliases))
		}
		wantConfig := "CodeDeployDefault.Lambda" + s.DeploymentConfig
		for _, g := range groups {
			if !strings.Contains(jsonString(g.Props["DeploymentConfigName"]), wantConfig) {
				t.Errorf("%s: group %s config %s, want %s", s.Stage, g.ID, jsonString(g.Props["DeploymentConfigName"]), wantConfig)
			}
			if get(g.Props, "AutoRollbackConfiguration", "Enabled") != true ||
				!strings.Contains(jsonString(get(g.Props, "AutoRollbackConfiguration", "Events")), "DEPLOYMENT_STOP_ON_ALARM") {
				t.Errorf("%s: group %s rollback %s", s.Stage, g.ID, jsonString(g.Props["AutoRollbackConfiguration"]))
			}
			if n := len(asList(get(g.Props, "AlarmConfiguration", "Alarms"))); n < 1 || get(g.Props, "AlarmConfiguration", "Enabled") != true {
				t.Errorf("%s: group %s alarms %s", s.Stage, g.ID, jsonString(g.Props["AlarmConfiguration"]))
			}
		}
		auth := d.apiJSON.resources("AWS::ApiGateway::Authorizer")[0]
		if a, _ := d.apiJSON.resource(firstRef(auth.Props["AuthorizerUri"])); a.Type != "AWS::Lambda::Alias" {
			t.Errorf("%s: the authorizer invokes %s, want its alias", s.Stage, jsonString(auth.Props["AuthorizerUri"]))
		}
	}
	if prodDeployment(t).w.Settings.DeploymentConfig != "Canary10Percent5Minutes" {
		t.Error("prod does not deploy by canary")
	}
	_ = jsii.String
}

// Point 12: the deploy role trusts GitHub's OIDC tokens of the repository's
// stage environment only, and may only assume the CDK bootstrap roles of the
// stage's own qualifier; dev's pull-request role trusts pull requests only
// and may only assume dev's lookup role.
func TestDeployRole(t *testing.T) {
	for _, d := range []*synthesized{prodDeployment(t), devDeployment(t)} {
		s := d.w.Settings
		if d.deployJSON == nil {
			t.Fatalf("%s: no deploy stack", s.Stage)
		}
		wantRoles := 1
		if s.Stage == "dev" {
			wantRoles = 2
		}
		roles := d.deployJSON.resources("AWS::IAM::Role")
		if len(roles) != wantRoles {
			t.Fatalf("%s: %d roles, want %d", s.Stage, len(roles), wantRoles)
		}
		deploy, ok := d.deployJSON.resource(*d.w.Deploy.Stack.GetLogicalId(d.w.Deploy.Role.Node().DefaultChild().(awscdk.CfnElement)))
		if !ok {
			t.Fatalf("%s: no deploy role", s.Stage)
		}
		env := "repo:" + testGithubRepo + ":environment:" + s.Stage
		if subs := trustSubjects(deploy); len(subs) != 1 || subs[0] != env {
			t.Errorf("%s: deploy role trusts subjects %v, want only %s", s.Stage, subs, env)
		}
		trust := jsonString(deploy.Props["AssumeRolePolicyDocument"])
		for _, w := range []string{"sts:AssumeRoleWithWebIdentity", `"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"`} {
			if !strings.Contains(trust, w) {
				t.Errorf("%s: trust policy lacks %s: %s", s.Stage, w, trust)
			}
		}
		if strings.Contains(trust, "pull_request") || strings.Contains(trust, "StringLike") {
			t.Errorf("%s: the deploy role trusts pull requests or a pattern: %s", s.Stage, trust)
		}
		if deploy.Props["MaxSessionDuration"] != float64(3600) || deploy.Props["ManagedPolicyArns"] != nil {
			t.Errorf("%s: deploy role %s", s.Stage, jsonString(deploy.Props))
		}
		stmts := rolePolicyStatements(d.deployJSON, deploy.ID)
		if len(stmts) != 1 || jsonString(get(stmts[0], "Action")) != `["sts:AssumeRole","sts:TagSession"]` {
			t.Fatalf("%s: statements %s", s.Stage, jsonString(stmts))
		}
		res := jsonString(get(stmts[0], "Resource"))
		for _, r := range pipeline.CdkBootstrapRoles {
			if !strings.Contains(res, "role/cdk-"+s.CdkQualifier+"-"+r+"-${AWS::AccountId}-${AWS::Region}") {
				t.Errorf("%s: may not assume %s: %s", s.Stage, r, res)
			}
		}
		if strings.Contains(res, "*") || strings.Contains(res, "hnb659fds") || len(asList(get(stmts[0], "Resource"))) != len(pipeline.CdkBootstrapRoles) {
			t.Errorf("%s: resources %s", s.Stage, res)
		}
		if n := len(d.deployJSON.resources("AWS::IAM::OIDCProvider")); n != 1 {
			t.Errorf("%s: %d OIDC providers", s.Stage, n)
		}

		// Every role that trusts pull requests (dev's PR role, nothing on
		// prod) may do nothing but assume the stage's CDK lookup role.
		prRoles := 0
		for _, r := range roles {
			subs := trustSubjects(r)
			if !strings.Contains(jsonString(r.Props["AssumeRolePolicyDocument"]), "pull_request") {
				continue
			}
			prRoles++
			if len(subs) != 1 || subs[0] != "repo:"+testGithubRepo+":pull_request" {
				t.Errorf("%s: role %s trusts %v", s.Stage, r.ID, subs)
			}
			if r.Props["ManagedPolicyArns"] != nil || r.Props["Policies"] != nil {
				t.Errorf("%s: pull-request role %s has more policies: %s", s.Stage, r.ID, jsonString(r.Props))
			}
			st := rolePolicyStatements(d.deployJSON, r.ID)
			lookup := jsonString(map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-" + s.CdkQualifier + "-lookup-role-${AWS::AccountId}-${AWS::Region}"})
			if len(st) != 1 || get(st[0], "Effect") != "Allow" || jsonString(get(st[0], "Action")) != `"sts:AssumeRole"` ||
				jsonString(get(st[0], "Resource")) != lookup {
				t.Errorf("%s: pull-request role %s may %s, want only sts:AssumeRole on %s", s.Stage, r.ID, jsonString(st), lookup)
			}
		}
		wantPR := 0
		if s.Stage == "dev" {
			wantPR = 1
		}
		if prRoles != wantPR || (d.w.Deploy.PullRequestRole != nil) != (wantPR == 1) {
			t.Errorf("%s: %d roles trust pull requests, want %d", s.Stage, prRoles, wantPR)
		}
		if (d.deployJSON["Outputs"].(map[string]any)["PullRequestRoleArn"] != nil) != (wantPR == 1) {
			t.Errorf("%s: PullRequestRoleArn output %v", s.Stage, d.deployJSON["Outputs"])
		}
	}
}

// trustSubjects are the GitHub OIDC subjects a role's trust policy names.
func trustSubjects(r resource) []string {
	var out []string
	for _, st := range asList(get(r.Props, "AssumeRolePolicyDocument", "Statement")) {
		for _, op := range []string{"StringEquals", "StringLike"} {
			switch v := get(st, "Condition", op, "token.actions.githubusercontent.com:sub").(type) {
			case string:
				out = append(out, v)
			case []any:
				for _, e := range v {
					out = append(out, fmt.Sprint(e))
				}
			}
		}
	}
	return out
}

// rolePolicyStatements are the statements of every AWS::IAM::Policy attached to
// the role with logical id role.
func rolePolicyStatements(tp template, role string) []any {
	var out []any
	for _, p := range tp.resources("AWS::IAM::Policy") {
		for _, r := range asList(p.Props["Roles"]) {
			if refOf(r) == role {
				out = append(out, asList(get(p.Props, "PolicyDocument", "Statement"))...)
			}
		}
	}
	return out
}

// Each stage synthesizes with a CDK bootstrap qualifier of its own (so that
// stages sharing an account use separate bootstrap roles), and no two
// stages of cdk.json may share one.
func TestBootstrapQualifiers(t *testing.T) {
	prod, dev := prodDeployment(t), devDeployment(t)
	pq, dq := prod.w.Settings.CdkQualifier, dev.w.Settings.CdkQualifier
	if pq == dq || pq == "" || dq == "" {
		t.Fatalf("qualifiers prod %q, dev %q: want two different ones", pq, dq)
	}
	for _, d := range []*synthesized{prod, dev} {
		q := d.w.Settings.CdkQualifier
		for name, tp := range map[string]template{"Data": d.dataJSON, "Monitoring": d.monJSON, "Api": d.apiJSON, "Deploy": d.deployJSON} {
			if got := get(map[string]any(tp), "Parameters", "BootstrapVersion", "Default"); got != "/cdk-bootstrap/"+q+"/version" {
				t.Errorf("%s %s: bootstrap version parameter %v, want qualifier %s", d.w.Settings.Stage, name, got, q)
			}
			other := pq
			if q == pq {
				other = dq
			}
			if strings.Contains(jsonString(tp), "cdk-"+other+"-") || strings.Contains(jsonString(tp), "hnb659fds") {
				t.Errorf("%s %s: names another qualifier's bootstrap resources", d.w.Settings.Stage, name)
			}
		}
	}
	// Two stages of cdk.json on one qualifier, and a stage name too long
	// for the default, do not synth.
	for wantErr, ctx := range map[string]map[string]any{
		"is also stage dev's": {"stage": "prod", "alarmEmail": "a@example.com", "cdkQualifier": "shared",
			settings.StagesContextKey: map[string]any{"dev": map[string]any{"cdkQualifier": "shared"}, "prod": map[string]any{}}},
		"cdkQualifier \"\"": {"stage": "integration"},
	} {
		c := ctx
		_, err := settings.Load(awscdk.NewApp(&awscdk.AppProps{Context: &c}))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%v: error %v, want %q", ctx, err, wantErr)
		}
	}
}

// Point 11: every stack keeps room under CloudFormation's 500 resources for
// 20 more routes, each on a path of its own (a function with its log group,
// version, alias, deployment group and three alarms; a resource, a method
// and a 405 ANY method; no invoke permission: the API's invoke role covers
// it).
func TestRoomFor20MoreRoutes(t *testing.T) {
	const more, limit = 20, 500
	p := prodDeployment(t) // before the route table grows
	base := functions.RouteTable
	t.Cleanup(func() { functions.RouteTable = base })
	functions.RouteTable = func() []route.Route {
		rs := base()
		for i := range more {
			rs = append(rs, route.Route{Function: fmt.Sprintf("extra-%d", i), Methods: []string{"GET"},
				Path: fmt.Sprintf("%s/extra/r%d/{uuid}", route.Prefix, i), Access: route.Customer,
				Summary: "headroom", Replica: i%4 == 0})
		}
		return rs
	}
	d, err := synthStage("headroom", map[string]any{"alarmEmail": testAlarmEmail, "dbMaxCapacity": 16, "cdkQualifier": "wlthead"})
	if err != nil {
		t.Fatal(err)
	}
	grown := map[string]int{}
	for name, tp := range map[string]template{"Data": d.dataJSON, "Monitoring": d.monJSON, "Api": d.apiJSON} {
		n := len(tp.resources(""))
		grown[name] = n
		if n > limit {
			t.Errorf("with %d more routes the %s stack has %d resources, over CloudFormation's %d", more, name, n, limit)
		}
	}
	if fns := len(functionsByName(d.apiJSON)); fns != len(functionNames()) {
		t.Errorf("%d functions, want %d", fns, len(functionNames()))
	}
	t.Logf("resources today (prod) → with %d more routes: Data %d → %d, Monitoring %d → %d, Api %d → %d (limit %d)", more,
		len(p.dataJSON.resources("")), grown["Data"], len(p.monJSON.resources("")), grown["Monitoring"],
		len(p.apiJSON.resources("")), grown["Api"], limit)
}
