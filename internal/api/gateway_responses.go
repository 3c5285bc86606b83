package api

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

// GatewayResponses lists the gateway responses the API configures.
func GatewayResponses() []GatewayResponse {
	wwwAuth := map[string]string{"WWW-Authenticate": WWWAuthenticate}
	return []GatewayResponse{
		// The authorizer denied: the context carries the 401 detail.
		{Type: "ACCESS_DENIED", Status: 401, Template: `{"detail": "$context.authorizer.detail"}`, Headers: wwwAuth},
		// The authorizer was not invoked because the identity source was
		// missing (only with a result cache): no credentials.
		{Type: "UNAUTHORIZED", Status: 401, Detail: "Authentication credentials were not provided.", Headers: wwwAuth},
		// The authorizer failed (the database unreachable).
		{Type: "AUTHORIZER_FAILURE", Status: 503, Detail: "Service temporarily unavailable, try again later."},
		{Type: "AUTHORIZER_CONFIGURATION_ERROR", Status: 503, Detail: "Service temporarily unavailable, try again later."},
		// REST APIs answer an unknown path this way.
		{Type: "MISSING_AUTHENTICATION_TOKEN", Status: 404, Detail: "Not found."},
		{Type: "RESOURCE_NOT_FOUND", Status: 404, Detail: "Not found."},
		{Type: "REQUEST_TOO_LARGE", Status: 413, Detail: "Request body is larger than 64 KiB."},
		{Type: "UNSUPPORTED_MEDIA_TYPE", Status: 415, Detail: "Unsupported media type in request."},
		{Type: "THROTTLED", Status: 429, Detail: "Request was throttled."},
		{Type: "QUOTA_EXCEEDED", Status: 429, Detail: "Request was throttled."},
		{Type: "INTEGRATION_TIMEOUT", Status: 504, Detail: "The server took too long to answer."},
		{Type: "INTEGRATION_FAILURE", Status: 502, Detail: ServerFault},
		{Type: "DEFAULT_5XX", Status: 502, Detail: ServerFault},
		// Any other refusal of the gateway keeps its status and message,
		// in the contract's shape.
		{Type: "DEFAULT_4XX", Template: `{"detail": $context.error.messageString}`},
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
	return GatewayResponse{Type: typ, Status: 500, Detail: ServerFault}
}
