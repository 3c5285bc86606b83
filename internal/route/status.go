package route

import (
	"net/http"

	"wallets/internal/apperr"
)

// statusOf maps each application error code to its HTTP status: the one
// place where refusals become status codes. The handlers' edge
// (internal/api) and the gateway responses (GatewayResponses, which the CDK
// app and the local gateway read) both answer with it.
var statusOf = map[apperr.Code]int{
	// The domain's codes.
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.Unprocessable:   http.StatusUnprocessableEntity,
	apperr.Throttled:       http.StatusTooManyRequests,
	apperr.Internal:        http.StatusInternalServerError,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	// The edge's own (refusals.go).
	MethodNotAllowed:     http.StatusMethodNotAllowed,
	BodyTooLarge:         http.StatusRequestEntityTooLarge,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	UpstreamFailed:       http.StatusBadGateway,
	UpstreamTimeout:      http.StatusGatewayTimeout,
}

// StatusOf returns the HTTP status that answers code, and whether code is
// known (an unknown code is a fault: the caller answers 500).
func StatusOf(code apperr.Code) (int, bool) {
	status, known := statusOf[code]
	return status, known
}
