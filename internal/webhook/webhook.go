// Package webhook signs and sends one webhook delivery safely: the endpoint
// URL policy (https to public addresses only, checked at creation and again
// at every connection, so that DNS rebinding cannot reach the VPC or the
// metadata service), the signature, one attempt, and the retry schedule.
//
// A delivery is a POST of the event's JSON with the headers
//
//	Content-Type: application/json
//	User-Agent: Wallets-Webhooks/1
//	Wallets-Event-Id: <event id>
//	Wallets-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
//
// keyed with the endpoint's secret (the whole "whsec_…" string, as shown to
// the client). Any 2xx answer within the timeout (10 s) delivers it; anything
// else is a failed attempt, retried on a Schedule, then dead-lettered.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The delivery's headers.
const (
	HeaderEventID   = "Wallets-Event-Id"
	HeaderSignature = "Wallets-Signature"
	UserAgent       = "Wallets-Webhooks/1"
)

// SecretPrefix begins every signing secret.
const SecretPrefix = "whsec_"

// NewSecret returns a new signing secret: SecretPrefix and 32 random bytes
// in unpadded base64url (49 characters in all).
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Sign returns the Wallets-Signature header of body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with secret>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// DefaultTolerance is how far a signature's timestamp may be from now when
// Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Verify's refusals.
var (
	ErrSignatureMalformed = errors.New("webhook: malformed Wallets-Signature header")
	ErrSignatureMismatch  = errors.New("webhook: no signature matches the body")
	ErrSignatureExpired   = errors.New("webhook: signature timestamp outside the tolerance")
)

// Verify checks a Wallets-Signature header against body, as a receiver
// should: some v1 signature (there may be several; unknown keys are ignored)
// must be body's under secret, compared in constant time, and the timestamp
// must be within tolerance of now, either way (tolerance ≤ 0 is
// DefaultTolerance), which bounds replays.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureMalformed
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrSignatureMalformed
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return ErrSignatureMalformed
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return ErrSignatureMalformed
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec < 0 || strconv.FormatInt(sec, 10) != ts {
		return ErrSignatureMalformed
	}
	want := mac(secret, ts, body)
	match := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			match = true
		}
	}
	if !match {
		return ErrSignatureMismatch
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}
