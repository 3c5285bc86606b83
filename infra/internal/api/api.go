// Package api is what faces clients: the REST API over the functions, the
// AWS WAF web ACL on its stage, and the synthetic canary that calls it.
package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/cfn"
	"wallets/infra/internal/functions"
	"wallets/infra/internal/settings"
	"wallets/internal/route"
)

// Api is the REST API: one resource tree from the route paths, each method
// proxied to its own function, the REQUEST authorizer on the routes that need
// it, 405 answers for the other methods of a known path, and the gateway's
// own answers in the contract's JSON.
type Api struct {
	constructs.Construct
	RestApi    awsapigateway.RestApi
	Authorizer awsapigateway.RequestAuthorizer
	AccessLogs awslogs.LogGroup
	StageName  string
	// Methods counts the methods proxied to functions and answered 405.
	Methods, MethodsNotAllowed int
	// PublicMethods are the methods of routes without the authorizer,
	// NotAllowedMethods the 405 ANY methods (both for cdk-nag's record).
	PublicMethods, NotAllowedMethods []awsapigateway.Method
	// InvokeRole is the role API Gateway invokes the route functions'
	// aliases with (see invoke).
	InvokeRole      awsiam.Role
	invokeStatement awsiam.PolicyStatement
}

// NotAllowedTemplate is the 405 body; API Gateway fills in the method.
const NotAllowedTemplate = `{"detail": "Method \"$context.httpMethod\" not allowed."}`

// TLSSecurityPolicy is the REST API's security policy: TLS 1.3 and 1.2
// with forward-secret cipher suites, nothing older.
const TLSSecurityPolicy = "SecurityPolicy_TLS13_1_2_2021_06"

// accessLogFormat is one JSON object per request. It carries no header
// values, so no token or cookie reaches the log.
func accessLogFormat() string {
	fields := [][2]string{
		{"requestId", "$context.requestId"},
		{"extendedRequestId", "$context.extendedRequestId"},
		{"requestTime", "$context.requestTime"},
		{"ip", "$context.identity.sourceIp"},
		{"userAgent", "$context.identity.userAgent"},
		{"method", "$context.httpMethod"},
		{"resource", "$context.resourcePath"},
		{"path", "$context.path"},
		{"protocol", "$context.protocol"},
		{"status", "$context.status"},
		{"responseLength", "$context.responseLength"},
		{"latencyMs", "$context.responseLatency"},
		{"integrationLatencyMs", "$context.integrationLatency"},
		{"integrationStatus", "$context.integrationStatus"},
		{"integrationError", "$context.integrationErrorMessage"},
		{"errorType", "$context.error.responseType"},
		{"error", "$context.error.message"},
		{"authorizerStatus", "$context.authorizer.status"},
		{"authorizerLatencyMs", "$context.authorizer.latency"},
		{"authorizerError", "$context.authorizer.error"},
		{"userId", "$context.authorizer.principalId"},
		{"xrayTraceId", "$context.xrayTraceId"},
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = strconv.Quote(f[0]) + ":" + strconv.Quote(f[1])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// New builds the REST API over the functions.
func New(scope constructs.Construct, id string, s settings.Settings, fns *functions.Functions) *Api {
	c := constructs.NewConstruct(scope, jsii.String(id))
	accessLogs := awslogs.NewLogGroup(c, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     s.Retention(),
		RemovalPolicy: s.LogRemoval(),
	})
	rest := newRestApi(c, s, accessLogs)
	authz := newAuthorizer(c, s, fns)
	a := &Api{Construct: c, RestApi: rest, Authorizer: authz, AccessLogs: accessLogs, StageName: s.Stage}
	routes := functions.RouteTable()
	paths, served := a.addRoutes(routes, fns)
	a.addNotAllowed(routes, paths, served)
	addGatewayResponses(rest)
	return a
}

// newRestApi is the regional REST API and its stage (throttled, access
// logged as JSON to accessLogs, errors to its execution log group), TLS
// 1.2 and 1.3 only.
func newRestApi(c constructs.Construct, s settings.Settings, accessLogs awslogs.LogGroup) awsapigateway.RestApi {
	rest := awsapigateway.NewRestApi(c, jsii.String("RestApi"), &awsapigateway.RestApiProps{
		RestApiName:   jsii.String(s.Name()),
		Description:   jsii.String("Wallets " + s.Stage + ": wallets and payments API"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// The bodies the handlers (and the local gateway) take base64-encoded.
		BinaryMediaTypes: jsii.Strings(route.BinaryMediaTypes()...),
		// The account-level role API Gateway logs with (access and
		// execution logs need it).
		CloudWatchRole:              jsii.Bool(true),
		CloudWatchRoleRemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		Deploy:                      jsii.Bool(true),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(s.Stage),
			Description:          jsii.String("Wallets " + s.Stage),
			ThrottlingRateLimit:  jsii.Number(s.ThrottleRate),
			ThrottlingBurstLimit: jsii.Number(s.ThrottleBurst),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat())),
			// Execution logs of errors only (authorizer and integration
			// failures); never request or response bodies.
			LoggingLevel:     awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled: jsii.Bool(false),
			// Per-method metrics cost per metric; the API-wide ones are free.
			MetricsEnabled: jsii.Bool(false),
			// No cache: responses carry one user's data.
			CachingEnabled: jsii.Bool(false),
			TracingEnabled: jsii.Bool(s.Tracing),
		},
	})
	// TLS 1.2 or 1.3 only, with the enhanced policy's cipher suites (an
	// enhanced policy needs an endpoint access mode; BASIC keeps the
	// execute-api host working).
	cfn.Override(rest.Node().DefaultChild(), "SecurityPolicy", TLSSecurityPolicy)
	cfn.Override(rest.Node().DefaultChild(), "EndpointAccessMode", "BASIC")

	// API Gateway would create the execution log group itself, without a
	// retention; create it first.
	execLogs := awslogs.NewLogGroup(c, jsii.String("ExecutionLogs"), &awslogs.LogGroupProps{
		LogGroupName:  awscdk.Fn_Join(jsii.String(""), jsii.Strings("API-Gateway-Execution-Logs_", *rest.RestApiId(), "/", s.Stage)),
		Retention:     s.Retention(),
		RemovalPolicy: s.LogRemoval(),
	})
	rest.DeploymentStage().Node().AddDependency(execLogs)
	return rest
}

// newAuthorizer is the REQUEST authorizer, the authorizer function's live
// alias.
//
// With a result cache, API Gateway needs an identity source and answers
// UNAUTHORIZED itself when it is missing, so cookie-only clients must
// then also send the Authorization header. Without one (TTL 0) the
// authorizer sees every request, cookie included.
func newAuthorizer(c constructs.Construct, s settings.Settings, fns *functions.Functions) awsapigateway.RequestAuthorizer {
	identity := []*string{}
	if s.AuthorizerCacheTTL > 0 {
		identity = append(identity, awsapigateway.IdentitySource_Header(jsii.String("Authorization")))
	}
	authz := awsapigateway.NewRequestAuthorizer(c, jsii.String("Authorizer"), &awsapigateway.RequestAuthorizerProps{
		AuthorizerName:  jsii.String(s.Name("jwt")),
		Handler:         fns.Authorizer.Alias,
		IdentitySources: &identity,
		ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(float64(s.AuthorizerCacheTTL))),
	})
	if len(identity) == 0 {
		// CDK renders no sources as IdentitySource ""; leave the property
		// out, as API Gateway documents for an uncached authorizer.
		cfn.DeleteProperty(authz.Node().DefaultChild(), "IdentitySource")
	}
	return authz
}

// addRoutes adds one resource per path, each served method to its
// function, and returns the paths in route-table order with the methods
// served on each.
func (a *Api) addRoutes(routes []route.Route, fns *functions.Functions) (paths []string, served map[string][]string) {
	served = map[string][]string{}
	for _, r := range routes {
		if _, seen := served[r.Path]; !seen {
			paths = append(paths, r.Path)
		}
		served[r.Path] = append(served[r.Path], r.Methods...)
		res := a.RestApi.Root().ResourceForPath(jsii.String(r.Path))
		// The alias: CodeDeploy moves it to a new version gradually.
		integration := a.invoke(fns.Routes[r.Function].Alias)
		for _, m := range r.Methods {
			opts := &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_NONE}
			if r.Access.Authorized() {
				opts = &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_CUSTOM, Authorizer: a.Authorizer}
			}
			method := res.AddMethod(jsii.String(m), integration, opts)
			if !r.Access.Authorized() {
				a.PublicMethods = append(a.PublicMethods, method)
			}
			a.Methods++
		}
	}
	return paths, served
}

// invoke is a Lambda proxy integration of alias that API Gateway calls with
// the API's invoke role (InvokeRole) instead of a resource-based permission
// on the function: one role and one policy for every route rather than a
// Lambda::Permission per function, which keeps the Api stack under
// CloudFormation's 500 resources as routes are added. It is what
// LambdaIntegration renders, less the permission.
func (a *Api) invoke(alias awslambda.Alias) awsapigateway.Integration {
	if a.InvokeRole == nil {
		// The trust policy has no aws:SourceArn or aws:SourceAccount
		// condition, on purpose: API Gateway has been seen not to set
		// aws:SourceAccount when it assumes an integration's credentials
		// role (a test-invoke-method answering "API Gateway does not have
		// permission to assume the provided role", every route a 500), and
		// no AWS page says it sets either. The role can do one thing,
		// invoke this stage's route aliases; a deputy tricked into
		// assuming it could do no more than the API itself does.
		a.InvokeRole = awsiam.NewRole(a.Construct, jsii.String("InvokeRole"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
			Description: jsii.String("API Gateway invokes the live alias of each route function"),
		})
		a.invokeStatement = awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("lambda:InvokeFunction"),
			Resources: &[]*string{},
		})
		a.InvokeRole.AddToPolicy(a.invokeStatement)
	}
	a.invokeStatement.AddResources(alias.FunctionArn())
	return awsapigateway.NewAwsIntegration(&awsapigateway.AwsIntegrationProps{
		Proxy:                 jsii.Bool(true),
		Service:               jsii.String("lambda"),
		Path:                  jsii.String("2015-03-31/functions/" + *alias.FunctionArn() + "/invocations"),
		IntegrationHttpMethod: jsii.String("POST"),
		Options:               &awsapigateway.IntegrationOptions{CredentialsRole: a.InvokeRole},
	})
}

// addNotAllowed makes the other methods of a known path answer 405 like
// the handlers do: one ANY method per path (API Gateway prefers a
// resource's own methods and sends every other method, OPTIONS and HEAD
// included, to ANY), naming the method from the request context.
func (a *Api) addNotAllowed(routes []route.Route, paths []string, served map[string][]string) {
	for _, p := range paths {
		res := a.RestApi.Root().ResourceForPath(jsii.String(p))
		_, _, allowed, _ := route.Match(routes, http.MethodOptions, p) // no route serves OPTIONS
		if len(allowed) == 0 {
			allowed = served[p]
		}
		method := res.AddMethod(jsii.String("ANY"), methodNotAllowed(allowed), &awsapigateway.MethodOptions{
			AuthorizationType: awsapigateway.AuthorizationType_NONE,
			MethodResponses: &[]*awsapigateway.MethodResponse{{
				StatusCode:         jsii.String("405"),
				ResponseParameters: notAllowedMethodHeaders(),
			}},
		})
		a.NotAllowedMethods = append(a.NotAllowedMethods, method)
		a.MethodsNotAllowed++
	}
}

// addGatewayResponses gives the gateway's own answers (authorizer
// refusals, unknown paths, throttling, integration failures) the
// contract's JSON.
func addGatewayResponses(rest awsapigateway.RestApi) {
	for _, g := range route.GatewayResponses() {
		headers := map[string]*string{}
		for k, v := range g.Headers {
			headers[k] = jsii.String("'" + strings.ReplaceAll(v, "'", "") + "'")
		}
		opts := &awsapigateway.GatewayResponseOptions{
			Type:            awsapigateway.ResponseType_Of(jsii.String(g.Type)),
			Templates:       &map[string]*string{"application/json": jsii.String(g.Body())},
			ResponseHeaders: &headers,
		}
		if g.Status != 0 { // 0 keeps API Gateway's own status
			opts.StatusCode = jsii.String(strconv.Itoa(g.Status))
		}
		rest.AddGatewayResponse(jsii.String("Gateway"+functions.ConstructID(strings.ToLower(strings.ReplaceAll(g.Type, "_", "-")))), opts)
	}
}

// methodNotAllowed is a MOCK integration answering 405 with the contract's
// body (naming the request's method) and the Allow header.
func methodNotAllowed(allowed []string) awsapigateway.MockIntegration {
	// A request template for the content types a client is likely to send;
	// NEVER passes nothing else through (an exotic type gets the 415
	// gateway response).
	req := jsii.String(`{"statusCode": 405}`)
	templates := map[string]*string{}
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"} {
		templates[ct] = req
	}
	body := NotAllowedTemplate
	return awsapigateway.NewMockIntegration(&awsapigateway.IntegrationOptions{
		PassthroughBehavior: awsapigateway.PassthroughBehavior_NEVER,
		// A binary body (multipart/form-data is one of BinaryMediaTypes)
		// reaches the template as text; the template reads none of it.
		ContentHandling:  awsapigateway.ContentHandling_CONVERT_TO_TEXT,
		RequestTemplates: &templates,
		IntegrationResponses: &[]*awsapigateway.IntegrationResponse{{
			StatusCode:         jsii.String("405"),
			ResponseTemplates:  &map[string]*string{"application/json": jsii.String(body)},
			ResponseParameters: notAllowedHeaders(allowed),
		}},
	})
}

// notAllowedHeaders maps the 405's headers: Allow and the security headers
// every answer carries.
func notAllowedHeaders(allowed []string) *map[string]*string {
	params := map[string]*string{"method.response.header.Allow": jsii.String("'" + strings.Join(allowed, ", ") + "'")}
	for k, v := range route.SecurityHeaders() {
		params["method.response.header."+k] = jsii.String("'" + v + "'")
	}
	return &params
}

// notAllowedMethodHeaders declares the headers notAllowedHeaders maps.
func notAllowedMethodHeaders() *map[string]*bool {
	params := map[string]*bool{}
	for k := range *notAllowedHeaders(nil) {
		params[k] = jsii.Bool(true)
	}
	return &params
}
