package sentryreport

import (
	"net/url"
	"strings"

	"github.com/getsentry/sentry-go"

	"wallets/internal/obs"
)

// scrubEvent is Sentry's BeforeSend: it removes request bodies, cookies,
// credentials and any field named like a secret from every event, whatever
// put them there (obs and this package never do, but sentry-go integrations or a
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
			if obs.SensitiveKey(k) || strings.EqualFold(k, "Set-Cookie") {
				delete(r.Headers, k)
			}
		}
		r.QueryString = scrubQuery(r.QueryString)
		r.URL = scrubURL(r.URL)
	}
	for k := range event.Tags {
		if obs.SensitiveKey(k) {
			event.Tags[k] = obs.Filtered
		}
	}
	for name, c := range event.Contexts {
		event.Contexts[name] = scrubMap(c)
	}
	for _, b := range event.Breadcrumbs {
		if b == nil {
			continue
		}
		b.Message = obs.RedactText(b.Message)
		b.Data = scrubMap(b.Data)
	}
	event.User.IPAddress = ""
	event.User.Email = ""
	for k := range event.User.Data {
		if obs.SensitiveKey(k) {
			event.User.Data[k] = obs.Filtered
		}
	}
	event.Message = obs.RedactText(event.Message)
	for i := range event.Exception {
		event.Exception[i].Value = obs.RedactText(event.Exception[i].Value)
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
		if obs.SensitiveKey(k) {
			m[k] = obs.Filtered
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
		return obs.RedactText(v)
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
		return obs.Filtered
	}
	for k := range vals {
		if obs.SensitiveKey(k) {
			vals[k] = []string{obs.Filtered}
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
		return obs.RedactText(raw)
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = scrubQuery(u.RawQuery)
	}
	return u.String()
}
