package obs

import (
	"log/slog"
	"net/url"
	"regexp"
	"strings"

	"github.com/getsentry/sentry-go"
)

const filtered = "[Filtered]"

// sensitiveWords mark a field, header, tag or parameter name whose value must
// never leave the process.
var sensitiveWords = []string{
	"password", "passwd", "token", "secret", "jwt",
	"authorization", "cookie", "api_key", "api-key", "apikey", "credential",
}

// sensitiveKey reports whether a field named key may hold a secret.
func sensitiveKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range sensitiveWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// secretPatterns catch secrets inside free text such as error messages.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// A JWT: three base64url segments, the first two JSON objects ("eyJ").
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`), filtered},
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`), "$1 " + filtered},
	{regexp.MustCompile(`(?i)\b([a-z_]*(?:password|passwd|secret|token|jwt)[a-z_]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|\[[^\]]*\]|[^\s,;&"'()\[\]{}]+)`), "$1$2" + filtered},
}

// redactText replaces secrets found in free text.
func redactText(s string) string {
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}

// redactAttr is the slog ReplaceAttr hook: attributes named like secrets are
// replaced, whatever their value.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindGroup && sensitiveKey(a.Key) {
		return slog.String(a.Key, filtered)
	}
	return a
}

// scrubEvent is Sentry's BeforeSend: it removes request bodies, cookies,
// credentials and any field named like a secret from every event, whatever
// put them there (this package never does, but sentry-go integrations or a
// stray scope.SetRequest could).
func scrubEvent(event *sentry.Event, _ *sentry.EventHint) *sentry.Event {
	if event == nil {
		return nil
	}
	if r := event.Request; r != nil {
		r.Data = ""
		r.Cookies = ""
		r.Env = nil
		for k := range r.Headers {
			if sensitiveKey(k) || strings.EqualFold(k, "Set-Cookie") {
				delete(r.Headers, k)
			}
		}
		r.QueryString = scrubQuery(r.QueryString)
		r.URL = scrubURL(r.URL)
	}
	for k := range event.Tags {
		if sensitiveKey(k) {
			event.Tags[k] = filtered
		}
	}
	for name, c := range event.Contexts {
		event.Contexts[name] = scrubMap(c)
	}
	for _, b := range event.Breadcrumbs {
		if b == nil {
			continue
		}
		b.Message = redactText(b.Message)
		b.Data = scrubMap(b.Data)
	}
	event.User.IPAddress = ""
	event.User.Email = ""
	for k := range event.User.Data {
		if sensitiveKey(k) {
			event.User.Data[k] = filtered
		}
	}
	event.Message = redactText(event.Message)
	for i := range event.Exception {
		event.Exception[i].Value = redactText(event.Exception[i].Value)
	}
	// Local variables are never collected by sentry-go, but frame vars may be
	// set by hand; drop them all.
	for i := range event.Exception {
		if st := event.Exception[i].Stacktrace; st != nil {
			for j := range st.Frames {
				st.Frames[j].Vars = nil
			}
		}
	}
	return event
}

// scrubMap returns m with values under secret-like keys replaced, recursing
// into nested maps and slices.
func scrubMap(m map[string]any) map[string]any {
	for k, v := range m {
		if sensitiveKey(k) {
			m[k] = filtered
			continue
		}
		m[k] = scrubValue(v)
	}
	return m
}

func scrubValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return scrubMap(v)
	case []any:
		for i := range v {
			v[i] = scrubValue(v[i])
		}
		return v
	case string:
		return redactText(v)
	default:
		return v
	}
}

// scrubQuery filters the values of secret-like query parameters.
func scrubQuery(q string) string {
	if q == "" {
		return ""
	}
	vals, err := url.ParseQuery(q)
	if err != nil {
		return filtered
	}
	for k := range vals {
		if sensitiveKey(k) {
			vals[k] = []string{filtered}
		}
	}
	return vals.Encode()
}

// scrubURL filters user info and secret-like query parameters from a URL.
func scrubURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return redactText(raw)
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = scrubQuery(u.RawQuery)
	}
	return u.String()
}
