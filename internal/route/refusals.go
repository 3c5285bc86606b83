package route

import (
	"fmt"

	"wallets/internal/apperr"
)

// The HTTP edge's own codes: refusals only the edge (the handlers' admission
// of a request, the gateway's own answers) gives, never the domain. Their
// strings are the ones apperr declared them with before, kept for whatever
// reads Error().
const (
	// MethodNotAllowed: the path does not serve the method.
	MethodNotAllowed apperr.Code = "method_not_allowed"
	// BodyTooLarge: the body is over the API's limit (64 KiB).
	BodyTooLarge apperr.Code = "too_large"
	// UnsupportedMediaType: the body is of a media type the API cannot read.
	UnsupportedMediaType apperr.Code = "unsupported"
	// UpstreamFailed: the handler failed or answered something that is not a
	// proxy response (the gateway's answer).
	UpstreamFailed apperr.Code = "bad_gateway"
	// UpstreamTimeout: the handler ran out of time (the gateway's answer).
	UpstreamTimeout apperr.Code = "timeout"
)

// The edge's own answers. Treat them as constants: never modify one.
var (
	// ErrBodyTooLarge refuses a body over 64 KiB.
	ErrBodyTooLarge = apperr.New(BodyTooLarge, "Request body is larger than 64 KiB.")
	// ErrUnsupportedMediaGateway is the gateway's own refusal of a media
	// type.
	ErrUnsupportedMediaGateway = apperr.New(UnsupportedMediaType, "Unsupported media type in request.")
	// ErrThrottledGateway is the gateway's own throttle.
	ErrThrottledGateway = apperr.New(apperr.Throttled, "Request was throttled.")
	// ErrUpstreamTimeout is the gateway's answer to a handler out of time.
	ErrUpstreamTimeout = apperr.New(UpstreamTimeout, "The server took too long to answer.")
	// ErrUpstreamFailed is the gateway's answer to a handler that failed:
	// the fault's words, no internals.
	ErrUpstreamFailed = apperr.New(UpstreamFailed, apperr.ErrFault.Detail)
)

// UnsupportedMedia refuses a body of a media type the API cannot read.
func UnsupportedMedia(mediaType string) *apperr.Error {
	return apperr.New(UnsupportedMediaType, fmt.Sprintf("Unsupported media type %q in request.", mediaType))
}

// MethodNotAllowedFor refuses a method the path does not serve.
func MethodNotAllowedFor(method string) *apperr.Error {
	return apperr.New(MethodNotAllowed, "Method \""+method+"\" not allowed.")
}
