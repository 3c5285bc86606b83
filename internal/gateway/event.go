package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

var errTooLarge = errors.New("request body too large")

// readBody reads the whole body, up to MaxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBodyBytes {
		return nil, errTooLarge
	}
	return b, nil
}

// proxyEvent builds the event API Gateway sends a Lambda proxy integration
// for r on route c.route.
func (g *gateway) proxyEvent(r *http.Request, c *call, params map[string]string, body []byte) events.APIGatewayProxyRequest {
	single, multi := g.headers(r, c)
	qs, mqs := query(r.URL.RawQuery)
	if len(params) == 0 {
		params = nil
	}
	ev := events.APIGatewayProxyRequest{
		Resource:                        c.route.Path,
		Path:                            r.URL.Path,
		HTTPMethod:                      r.Method,
		Headers:                         single,
		MultiValueHeaders:               multi,
		QueryStringParameters:           qs,
		MultiValueQueryStringParameters: mqs,
		PathParameters:                  params,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:         AccountID,
			APIID:             APIID,
			ResourceID:        resourceID(c.route.Path),
			Stage:             g.opts.Stage,
			DomainName:        r.Host,
			DomainPrefix:      domainPrefix(r.Host),
			RequestID:         c.requestID,
			ExtendedRequestID: c.extendedID,
			Protocol:          r.Proto,
			ResourcePath:      c.route.Path,
			// With the execute-api domain this would be /<stage><path>;
			// locally there is no stage prefix.
			Path:             r.URL.Path,
			HTTPMethod:       r.Method,
			RequestTime:      c.start.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			RequestTimeEpoch: c.start.UnixMilli(),
			Identity: events.APIGatewayRequestIdentity{
				SourceIP:  sourceIP(r),
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if utf8.Valid(body) && !g.binary(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// headers returns the request's headers as API Gateway passes them: the
// last value of each in the first map, all of them in the second, with Host
// and the X-Forwarded-* and X-Amzn-Trace-Id headers API Gateway adds.
func (g *gateway) headers(r *http.Request, c *call) (map[string]string, map[string][]string) {
	multi := make(map[string][]string, len(r.Header)+5)
	for k, vs := range r.Header {
		multi[k] = append([]string(nil), vs...)
	}
	multi["Host"] = []string{r.Host}
	ip := sourceIP(r)
	if prev := r.Header.Values("X-Forwarded-For"); len(prev) > 0 {
		multi["X-Forwarded-For"] = []string{strings.Join(prev, ", ") + ", " + ip}
	} else {
		multi["X-Forwarded-For"] = []string{ip}
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	multi["X-Forwarded-Proto"] = []string{proto}
	multi["X-Forwarded-Port"] = []string{localPort(r, proto)}
	multi["X-Amzn-Trace-Id"] = []string{c.traceID}

	single := make(map[string]string, len(multi))
	for k, vs := range multi {
		if len(vs) > 0 {
			single[k] = vs[len(vs)-1]
		}
	}
	return single, multi
}

// query parses the raw query string into API Gateway's two maps (the last
// value of each parameter, and all of them), both nil when there is none.
func query(raw string) (map[string]string, map[string][]string) {
	if raw == "" {
		return nil, nil
	}
	// A malformed pair is skipped; the rest are kept.
	vals, _ := url.ParseQuery(raw)
	if len(vals) == 0 {
		return nil, nil
	}
	single := make(map[string]string, len(vals))
	for k, vs := range vals {
		single[k] = vs[len(vs)-1]
	}
	return single, map[string][]string(vals)
}

// binary reports whether contentType is one of the binary media types.
func (g *gateway) binary(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	for _, b := range g.opts.BinaryMediaTypes {
		b = strings.ToLower(b)
		if b == "*/*" || b == mt {
			return true
		}
		if prefix, ok := strings.CutSuffix(b, "/*"); ok && strings.HasPrefix(mt, prefix+"/") {
			return true
		}
	}
	return false
}

// sourceIP is the client's address without its port.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localPort is the port the request came in on.
func localPort(r *http.Request, proto string) string {
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(addr.String()); err == nil {
			return port
		}
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return port
	}
	if proto == "https" {
		return "443"
	}
	return "80"
}

// domainPrefix is the first label of the host name, as in
// requestContext.domainPrefix.
func domainPrefix(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	prefix, _, _ := strings.Cut(host, ".")
	return prefix
}

// resourceID is a stable short id per resource path, like API Gateway's
// resource ids.
func resourceID(path string) string {
	sum := sha256.Sum256([]byte(path))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:])[:6])
}

// extendedRequestID looks like API Gateway's extended request ids.
func extendedRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)[:15] + "="
}

// traceID keeps the client's X-Amzn-Trace-Id, or starts an X-Ray trace id.
func traceID(r *http.Request) string {
	if t := r.Header.Get("X-Amzn-Trace-Id"); t != "" {
		return t
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return fmt.Sprintf("Root=1-%s-%s", strconv.FormatInt(time.Now().Unix(), 16), hex.EncodeToString(b))
}
