package route

import "wallets/internal/apperr"

// Keys of the context the authorizer passes to API Gateway; the handlers
// read them from requestContext.authorizer.
const (
	CtxUserID       = "user_id"
	CtxUserType     = "user_type"
	CtxTokenVersion = "token_version"
	// CtxDetail carries the 401 message of a refusal into the ACCESS_DENIED
	// gateway response.
	CtxDetail = "detail"
)

// WWWAuthenticate is sent with every 401.
const WWWAuthenticate = `JWT realm="api"`

// SecurityHeaders are sent with every answer, the handlers' and the
// gateway's own: browsers must not sniff a JSON body into something they
// would run, and nothing (a shared cache, the browser's history) may keep
// an answer that may carry a balance or a token.
func SecurityHeaders() map[string]string {
	return map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	}
}

// withSecurity returns headers plus SecurityHeaders.
func withSecurity(headers map[string]string) map[string]string {
	out := SecurityHeaders()
	for k, v := range headers {
		out[k] = v
	}
	return out
}

// GatewayResponse is an answer API Gateway gives itself, before or instead
// of a handler: refusals of the authorizer, unknown routes, throttling. The
// CDK app configures each as a gateway response and the local gateway
// imitates them, so both answer in the contract's shape.
type GatewayResponse struct {
	// Type is API Gateway's response type (ACCESS_DENIED, ...).
	Type string
	// Status is the answer's status; 0 keeps the one API Gateway chose.
	Status int
	// Template is the body as an API Gateway mapping template; Detail is the
	// same message without template variables, for the local gateway.
	Template string
	Detail   string
	Headers  map[string]string
}

// gatewayAnswer is the gateway response of type typ answering e: its
// message, with the status of its code (StatusOf).
func gatewayAnswer(typ string, e *apperr.Error, headers map[string]string) GatewayResponse {
	return GatewayResponse{Type: typ, Status: mustStatus(e.Code), Detail: e.Detail, Headers: withSecurity(headers)}
}

// mustStatus is StatusOf of a code the gateway responses answer with; every
// one has a status (TestEveryCodeHasAStatus).
func mustStatus(code apperr.Code) int {
	status, known := StatusOf(code)
	if !known {
		panic("route: no status for code " + string(code))
	}
	return status
}

// GatewayResponses lists the gateway responses the API configures.
func GatewayResponses() []GatewayResponse {
	wwwAuth := map[string]string{"WWW-Authenticate": WWWAuthenticate}
	return []GatewayResponse{
		// The authorizer denied: the context carries the 401 detail.
		{Type: "ACCESS_DENIED", Status: mustStatus(apperr.Unauthenticated), Template: `{"detail": "$context.authorizer.` + CtxDetail + `"}`, Headers: withSecurity(wwwAuth)},
		// The authorizer was not invoked because the identity source was
		// missing (only with a result cache): no credentials.
		gatewayAnswer("UNAUTHORIZED", apperr.ErrNoCredentials, wwwAuth),
		// The authorizer failed (the database unreachable).
		gatewayAnswer("AUTHORIZER_FAILURE", apperr.ErrUnavailable, nil),
		gatewayAnswer("AUTHORIZER_CONFIGURATION_ERROR", apperr.ErrUnavailable, nil),
		// REST APIs answer an unknown path this way.
		gatewayAnswer("MISSING_AUTHENTICATION_TOKEN", apperr.ErrNotFound, nil),
		gatewayAnswer("RESOURCE_NOT_FOUND", apperr.ErrNotFound, nil),
		gatewayAnswer("REQUEST_TOO_LARGE", ErrBodyTooLarge, nil),
		gatewayAnswer("UNSUPPORTED_MEDIA_TYPE", ErrUnsupportedMediaGateway, nil),
		gatewayAnswer("THROTTLED", ErrThrottledGateway, nil),
		gatewayAnswer("QUOTA_EXCEEDED", ErrThrottledGateway, nil),
		gatewayAnswer("INTEGRATION_TIMEOUT", ErrUpstreamTimeout, nil),
		gatewayAnswer("INTEGRATION_FAILURE", ErrUpstreamFailed, nil),
		gatewayAnswer("DEFAULT_5XX", ErrUpstreamFailed, nil),
		// Any other refusal of the gateway keeps its status and message,
		// in the contract's shape.
		{Type: "DEFAULT_4XX", Template: `{"detail": $context.error.messageString}`, Headers: SecurityHeaders()},
	}
}

// Body returns the response body API Gateway sends: the template with its
// variables, or the fixed detail.
func (g GatewayResponse) Body() string {
	if g.Template != "" {
		return g.Template
	}
	return `{"detail": "` + g.Detail + `"}`
}

// GatewayResponseOf returns the gateway response of type typ.
func GatewayResponseOf(typ string) GatewayResponse {
	for _, g := range GatewayResponses() {
		if g.Type == typ {
			return g
		}
	}
	return gatewayAnswer(typ, apperr.ErrFault, nil)
}
