package gateway

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/api"
	"wallets/internal/route"
)

// gatewayReply renders gateway response gr: its body template with the
// authorizer's context and the request's $context variables, its status and
// headers.
func gatewayReply(gr route.GatewayResponse, authCtx map[string]string, c *call, note string) reply {
	body := gr.Body()
	if gr.Template != "" {
		body = renderTemplate(gr.Template, func(name string) string {
			if key, ok := strings.CutPrefix(name, "authorizer."); ok {
				return authCtx[key]
			}
			switch name {
			case "requestId":
				return c.requestID
			case "extendedRequestId":
				return c.extendedID
			case "resourcePath":
				return c.route.Path
			case "error.responseType":
				return gr.Type
			}
			return ""
		})
	}
	rep := fromEvent(api.JSONResponse(gr.Status, json.RawMessage(body), gr.Headers), gr.Type)
	rep.note = note
	return rep
}

var contextVar = regexp.MustCompile(`\$(?:\{context\.([A-Za-z0-9_.]+)\}|context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*))`)

// renderTemplate substitutes $context.x.y (or ${context.x.y}) in a mapping
// template by lookup's value, escaped for a JSON string (the templates put
// them between quotes).
func renderTemplate(tmpl string, lookup func(name string) string) string {
	return contextVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		sub := contextVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		b, _ := json.Marshal(lookup(name))
		return string(b[1 : len(b)-1])
	})
}

// fromEvent turns a response the gateway built itself into a reply.
func fromEvent(ev events.APIGatewayProxyResponse, typ string) reply {
	rep, err := proxyReply(ev)
	if err != nil {
		// Only responses of this package come here, always well formed.
		panic("gateway: " + err.Error())
	}
	rep.gatewayType = typ
	return rep
}

// Response headers that the gateway computes itself, never copied from a
// handler's response.
var hopHeaders = map[string]bool{
	"Content-Length":    true,
	"Transfer-Encoding": true,
	"Connection":        true,
}

// proxyReply checks a Lambda proxy response and turns it into a reply:
// headers, then multi-value headers (which win for the same name, as in API
// Gateway), the body base64-decoded if so marked.
func proxyReply(ev events.APIGatewayProxyResponse) (reply, error) {
	if ev.StatusCode < 200 || ev.StatusCode > 599 {
		return reply{}, fmt.Errorf("status code %d", ev.StatusCode)
	}
	h := http.Header{}
	for k, v := range ev.Headers {
		if !hopHeaders[http.CanonicalHeaderKey(k)] {
			h.Set(k, v)
		}
	}
	for k, vs := range ev.MultiValueHeaders {
		if hopHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return reply{}, fmt.Errorf("body is not base64: %w", err)
		}
	}
	return reply{status: ev.StatusCode, header: h, body: body}, nil
}
