package obs

import (
	"log/slog"
	"regexp"
	"strings"
	"sync"
)

// Filtered replaces a redacted value.
const Filtered = "[Filtered]"

// sensitiveWords mark a field, header, tag or parameter name whose value must
// never leave the process.
var sensitiveWords = []string{
	"password", "passwd", "token", "secret", "jwt",
	"authorization", "cookie", "api_key", "api-key", "apikey", "credential",
}

// SensitiveKey reports whether a field (log attribute, header, tag, query
// parameter) named key may hold a secret. Reporters use it to scrub reports.
func SensitiveKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range sensitiveWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// secretPatterns catch secrets inside free text such as error messages.
// They are compiled at the first use (an error's text), not at every cold
// start.
var secretPatterns = sync.OnceValue(func() []secretPattern {
	return []secretPattern{
		// A JWT: three base64url segments, the first two JSON objects ("eyJ").
		{regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`), Filtered},
		{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`), "$1 " + Filtered},
		{regexp.MustCompile(`(?i)\b([a-z_]*(?:password|passwd|secret|token|jwt)[a-z_]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|\[[^\]]*\]|[^\s,;&"'()\[\]{}]+)`), "$1$2" + Filtered},
	}
})

type secretPattern struct {
	re   *regexp.Regexp
	repl string
}

// RedactText replaces secrets found in free text (JWTs, bearer and basic
// credentials, "password=..." and the like). The log line's error goes
// through it; Reporters use it on messages and exception values.
func RedactText(s string) string {
	for _, p := range secretPatterns() {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}

// redactAttr is the slog ReplaceAttr hook: attributes named like secrets are
// replaced, whatever their value.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindGroup && SensitiveKey(a.Key) {
		return slog.String(a.Key, Filtered)
	}
	return a
}
