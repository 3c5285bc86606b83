package api

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/settings"
	"wallets/internal/apperr"
	"wallets/internal/route"
)

// wafWindowSeconds is the window of the rate-based rules.
const wafWindowSeconds = 300

// usersPathPrefix is what the tighter rate rule matches in the URI path
// (the stage name precedes it on the execute-api host).
var usersPathPrefix = route.Prefix + "/users/"

// ManagedRuleGroups are the AWS managed rule groups of a stage with
// wafManagedRules.
var ManagedRuleGroups = []string{"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}

// A managed rule group's own Block answers WAF's bare 403, and neither the
// group's override action nor anything else can give it a body. So the
// groups run in Count (their rules still label what they match), and the
// rule ManagedBlockRule, after them, blocks what they labelled with the
// contract's 403. These are the labels it blocks on, per group.
const (
	labelIPList    = "awswaf:managed:aws:amazon-ip-list:"
	labelCore      = "awswaf:managed:aws:core-rule-set:"
	labelBadInputs = "awswaf:managed:aws:known-bad-inputs:"
	// Labels of rules that only count: the IP DDoS list (Count in the
	// group's definition) and the core rule set's 8 KB body limit (counted
	// here: the handlers answer an oversized body with the contract's 413).
	labelIPDDoS   = labelIPList + "AWSManagedIPDDoSList"
	labelCoreBody = labelCore + "SizeRestrictions_Body"
)

// ManagedBlockRule is the name of the rule that blocks what the managed
// groups labelled.
const ManagedBlockRule = "managed-block"

// ManagedBlockLabels are what ManagedBlockRule reads: the label namespaces
// of the managed groups, the full labels of their blocking rules (matched
// by name), and the counted labels it spares.
func ManagedBlockLabels() (namespaces, blocking, counted []string) {
	namespaces = []string{labelIPList, labelCore, labelBadInputs}
	for _, l := range blockingIPListLabels {
		blocking = append(blocking, labelIPList+l)
	}
	for _, l := range blockingCoreLabels {
		blocking = append(blocking, labelCore+l)
	}
	return namespaces, blocking, []string{labelIPDDoS, labelCoreBody}
}

// blockedBody is the body of every 403 WAF answers: the contract's 403.
var blockedBody = `{"detail": "` + apperr.ErrForbidden.Detail + `"}`

// wafResponseHeaders are the headers of a WAF custom response: the
// contract's security headers plus extra, sorted (WAF sends them as named;
// only headers WAF inserts into a forwarded request get the x-amzn-waf-
// prefix).
func wafResponseHeaders(extra map[string]string) []any {
	h := route.SecurityHeaders()
	for k, v := range extra {
		h[k] = v
	}
	var out []any
	for _, k := range slices.Sorted(maps.Keys(h)) {
		out = append(out, &awswafv2.CfnWebACL_CustomHTTPHeaderProperty{Name: jsii.String(k), Value: jsii.String(h[k])})
	}
	return out
}

func labelMatch(scope, key string) *awswafv2.CfnWebACL_StatementProperty {
	return &awswafv2.CfnWebACL_StatementProperty{LabelMatchStatement: &awswafv2.CfnWebACL_LabelMatchStatementProperty{
		Scope: jsii.String(scope), Key: jsii.String(key)}}
}

// Labels of the blocking rules of the IP reputation list and of the core
// rule set (all but the counted body limit), as AWS documents them
// (aws-managed-rule-groups-ip-rep, aws-managed-rule-groups-baseline). A
// request over 8 KB carries labelCoreBody, so a namespace match that
// spares it would spare every other finding on that request too: these
// name each rule; the namespace matches catch the rules AWS adds later.
var (
	blockingIPListLabels = []string{"AWSManagedIPReputationList", "AWSManagedReconnaissanceList"}
	blockingCoreLabels   = []string{
		"NoUserAgent_Header", "BadBots_Header",
		"SizeRestrictions_QueryString", "SizeRestrictions_Cookie_Header", "SizeRestrictions_URIPath",
		"EC2MetaDataSSRF_Body", "EC2MetaDataSSRF_Cookie", "EC2MetaDataSSRF_URIPath", "EC2MetaDataSSRF_QueryArguments",
		"GenericLFI_QueryArguments", "GenericLFI_URIPath", "GenericLFI_Body",
		"RestrictedExtensions_URIPath", "RestrictedExtensions_QueryArguments",
		"GenericRFI_QueryArguments", "GenericRFI_Body", "GenericRFI_URIPath",
		"CrossSiteScripting_Cookie", "CrossSiteScripting_QueryArguments", "CrossSiteScripting_Body", "CrossSiteScripting_URIPath",
	}
)

// managedBlockStatement matches a request that a managed group's blocking
// rule labelled: each blocking rule's label by name; any other label of the
// IP list and core rule set namespaces when the request lacks the counted
// label (a rule AWS added since); any label of known bad inputs (whose
// rules all block).
func managedBlockStatement() *awswafv2.CfnWebACL_StatementProperty {
	but := func(namespace, label string) *awswafv2.CfnWebACL_StatementProperty {
		return &awswafv2.CfnWebACL_StatementProperty{AndStatement: &awswafv2.CfnWebACL_AndStatementProperty{Statements: []any{
			labelMatch("NAMESPACE", namespace),
			&awswafv2.CfnWebACL_StatementProperty{NotStatement: &awswafv2.CfnWebACL_NotStatementProperty{Statement: labelMatch("LABEL", label)}},
		}}}
	}
	var stmts []any
	for _, l := range blockingIPListLabels {
		stmts = append(stmts, labelMatch("LABEL", labelIPList+l))
	}
	stmts = append(stmts, but(labelIPList, labelIPDDoS))
	for _, l := range blockingCoreLabels {
		stmts = append(stmts, labelMatch("LABEL", labelCore+l))
	}
	stmts = append(stmts, but(labelCore, labelCoreBody), labelMatch("NAMESPACE", labelBadInputs))
	return &awswafv2.CfnWebACL_StatementProperty{OrStatement: &awswafv2.CfnWebACL_OrStatementProperty{Statements: stmts}}
}

// WebACL is the stage's AWS WAF web ACL: per-client (per source IP) rate
// limits, tighter on /users/* (sign-up and login run argon2; credential
// stuffing spread over many usernames escapes the per-username throttle),
// and AWS's managed rule groups where the stage asks for them. Whatever it
// blocks gets an answer in the contract's shape: the rate rules the 429 of
// the stage throttle (with Retry-After), the managed groups (through
// ManagedBlockRule) a 403, both JSON with the security headers.
type WebACL struct {
	Acl         awswafv2.CfnWebACL
	Association awswafv2.CfnWebACLAssociation
	Logs        awslogs.LogGroup
}

// NewWebACL builds the web ACL and associates it with the API's stage.
func NewWebACL(scope constructs.Construct, id string, s settings.Settings, api awsapigateway.RestApi) *WebACL {
	c := constructs.NewConstruct(scope, jsii.String(id))
	rules, bodies := rateRules(s)
	if s.WafManagedRules {
		rules = append(rules, managedRules(s)...)
		bodies["blocked"] = &awswafv2.CfnWebACL_CustomResponseBodyProperty{
			ContentType: jsii.String("APPLICATION_JSON"), Content: jsii.String(blockedBody)}
	}
	acl := awswafv2.NewCfnWebACL(c, jsii.String("Acl"), &awswafv2.CfnWebACLProps{
		Name:                 jsii.String(s.Name()),
		Description:          jsii.String("Wallets " + s.Stage + ": per-client rate limits and AWS managed rules"),
		Scope:                jsii.String("REGIONAL"),
		DefaultAction:        &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		CustomResponseBodies: bodies,
		Rules:                rules,
		VisibilityConfig:     visibility(s, "waf"),
	})
	assoc := awswafv2.NewCfnWebACLAssociation(c, jsii.String("Association"), &awswafv2.CfnWebACLAssociationProps{
		ResourceArn: api.DeploymentStage().StageArn(),
		WebAclArn:   acl.AttrArn(),
	})
	assoc.Node().AddDependency(api.DeploymentStage())
	logs := wafLogging(c, s, acl)
	return &WebACL{Acl: acl, Association: assoc, Logs: logs}
}

// visibility is a rule's (or the ACL's) metrics and sampled requests,
// under the metric wallets-<stage>-<name>.
func visibility(s settings.Settings, name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
	return &awswafv2.CfnWebACL_VisibilityConfigProperty{
		CloudWatchMetricsEnabled: jsii.Bool(true),
		MetricName:               jsii.String(s.Name(name)),
		SampledRequestsEnabled:   jsii.Bool(true),
	}
}

// rateRules are the per-IP rate limits, the one on /users/* first, and the
// custom response bodies with the throttled one: a blocked client gets the
// contract's 429, like the stage throttle's.
func rateRules(s settings.Settings) (rules []any, bodies map[string]any) {
	throttledBody := ""
	for _, g := range route.GatewayResponses() {
		if g.Type == "THROTTLED" {
			throttledBody = g.Body()
		}
	}
	block429 := &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{
		CustomResponse: &awswafv2.CfnWebACL_CustomResponseProperty{
			ResponseCode:          jsii.Number(429),
			CustomResponseBodyKey: jsii.String("throttled"),
			ResponseHeaders:       wafResponseHeaders(map[string]string{"Retry-After": "60"}),
		},
	}}
	rules = []any{
		&awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String("rate-users"),
			Priority: jsii.Number(0),
			Action:   block429,
			Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
				AggregateKeyType:    jsii.String("IP"),
				Limit:               jsii.Number(float64(s.WafUsersRateLimit)),
				EvaluationWindowSec: jsii.Number(wafWindowSeconds),
				ScopeDownStatement:  usersPathStatement(),
			}},
			VisibilityConfig: visibility(s, "waf-rate-users"),
		},
		&awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String("rate-all"),
			Priority: jsii.Number(1),
			Action:   block429,
			Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
				AggregateKeyType:    jsii.String("IP"),
				Limit:               jsii.Number(float64(s.WafRateLimit)),
				EvaluationWindowSec: jsii.Number(wafWindowSeconds),
			}},
			VisibilityConfig: visibility(s, "waf-rate-all"),
		},
	}
	bodies = map[string]any{"throttled": &awswafv2.CfnWebACL_CustomResponseBodyProperty{
		ContentType: jsii.String("APPLICATION_JSON"), Content: jsii.String(throttledBody)}}
	return rules, bodies
}

// usersPathStatement matches the requests to /users/*.
func usersPathStatement() *awswafv2.CfnWebACL_StatementProperty {
	return &awswafv2.CfnWebACL_StatementProperty{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
		FieldToMatch:         &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}},
		PositionalConstraint: jsii.String("CONTAINS"),
		SearchString:         jsii.String(usersPathPrefix),
		// Neither case nor percent-encoding (/api/v1/%55sers/,
		// /API/V1/USERS/) slips past the tighter limit.
		TextTransformations: []any{
			&awswafv2.CfnWebACL_TextTransformationProperty{Priority: jsii.Number(0), Type: jsii.String("URL_DECODE")},
			&awswafv2.CfnWebACL_TextTransformationProperty{Priority: jsii.Number(1), Type: jsii.String("LOWERCASE")},
		},
	}}
}

// managedRules are the ManagedRuleGroups, in Count (they label), then
// ManagedBlockRule, which blocks what they labelled with the contract's 403.
func managedRules(s settings.Settings) []any {
	var rules []any
	for i, name := range ManagedRuleGroups {
		group := &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{VendorName: jsii.String("AWS"), Name: jsii.String(name)}
		if name == "AWSManagedRulesCommonRuleSet" {
			// The handlers answer an oversized body with the contract's
			// 413; the rule set's 8 KB body limit only counts.
			group.RuleActionOverrides = []any{&awswafv2.CfnWebACL_RuleActionOverrideProperty{
				Name:        jsii.String("SizeRestrictions_BODY"),
				ActionToUse: &awswafv2.CfnWebACL_RuleActionProperty{Count: map[string]any{}},
			}}
		}
		// Count: the group labels, ManagedBlockRule blocks.
		rules = append(rules, &awswafv2.CfnWebACL_RuleProperty{
			Name:             jsii.String(name),
			Priority:         jsii.Number(float64(10 + i)),
			OverrideAction:   &awswafv2.CfnWebACL_OverrideActionProperty{Count: map[string]any{}},
			Statement:        &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: group},
			VisibilityConfig: visibility(s, "waf-"+name),
		})
	}
	return append(rules, &awswafv2.CfnWebACL_RuleProperty{
		Name:     jsii.String(ManagedBlockRule),
		Priority: jsii.Number(20),
		Action: &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{
			CustomResponse: &awswafv2.CfnWebACL_CustomResponseProperty{
				ResponseCode:          jsii.Number(403),
				CustomResponseBodyKey: jsii.String("blocked"),
				ResponseHeaders:       wafResponseHeaders(nil),
			},
		}},
		Statement:        managedBlockStatement(),
		VisibilityConfig: visibility(s, "waf-"+ManagedBlockRule),
	})
}

// wafLogging logs the requests WAF blocked or counted (allowed ones are in
// the access log), without the credentials they carry, to its log group.
func wafLogging(c constructs.Construct, s settings.Settings, acl awswafv2.CfnWebACL) awslogs.LogGroup {
	logName := "aws-waf-logs-" + s.Name() // WAF's required prefix
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(logName),
		Retention:     s.Retention(),
		RemovalPolicy: s.LogRemoval(),
	})
	// LoggingFilter and SingleHeader are plain JSON to CDK (its typed
	// structs would render lower-case keys): CloudFormation's own spelling.
	header := func(name string) any {
		return &awswafv2.CfnLoggingConfiguration_FieldToMatchProperty{SingleHeader: map[string]any{"Name": name}}
	}
	action := func(a string) any { return map[string]any{"ActionCondition": map[string]any{"Action": a}} }
	logging := awswafv2.NewCfnLoggingConfiguration(c, jsii.String("Logging"), &awswafv2.CfnLoggingConfigurationProps{
		ResourceArn: acl.AttrArn(),
		// WAF wants the log group's ARN without the ":*" suffix.
		LogDestinationConfigs: &[]any{awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"+logName), nil)},
		RedactedFields:        []any{header("authorization"), header("cookie")},
		LoggingFilter: map[string]any{
			"DefaultBehavior": "DROP",
			"Filters": []any{map[string]any{
				"Behavior": "KEEP", "Requirement": "MEETS_ANY",
				"Conditions": []any{action("BLOCK"), action("COUNT")},
			}},
		},
	})
	logging.Node().AddDependency(logs)
	return logs
}
