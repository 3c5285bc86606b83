// Package cursor signs and reads the lists' page cursors. A cursor is
// "<kid>.<payload>.<mac>": kid names the version of the cursor key that
// signed it (the current one or, after a rotation, the previous one), the
// payload is the position as JSON, and the mac is the first 16 bytes of the
// payload's HMAC-SHA256 under that version, both base64url without padding.
//
// A cursor has one spelling. Anything else (malformed, altered, signed by
// a version the ring does not know, or handed out by a list in the other
// order) is ErrInvalid; the HTTP edge answers it as the contract's
// "Invalid cursor".
package cursor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"wallets/internal/keys"
	"wallets/internal/wallet"
)

// Order is how a list is ordered, and so what its cursors hold. The value
// is the cursor's "k" field.
type Order string

const (
	// ByTime lists newest first: created, then uuid, descending.
	ByTime Order = "t"
	// ByID lists by id ascending (the business directory).
	ByID Order = "i"
)

// ErrInvalid is a cursor that does not decode.
var ErrInvalid = errors.New("invalid cursor")

// payload is the signed content of a cursor.
type payload struct {
	Order    Order  `json:"k"`
	Micros   int64  `json:"t,omitempty"`
	UUID     string `json:"u,omitempty"`
	ID       int64  `json:"i,omitempty"`
	Backward bool   `json:"b,omitempty"`
}

// Encode returns the cursor of position c in a list in order o, signed with
// ring's current version.
func Encode(ctx context.Context, ring *keys.Ring, o Order, c wallet.Cursor) string {
	p := payload{Order: o, Backward: c.Backward, ID: c.ID}
	if o == ByTime {
		p.Micros, p.UUID = c.Created.UnixMicro(), c.UUID.String()
	}
	body, _ := json.Marshal(p)
	kid, key := ring.Signing(ctx)
	enc := base64.RawURLEncoding
	return kid + "." + enc.EncodeToString(body) + "." + enc.EncodeToString(mac(key, body))
}

// Decode reads cursor s of a list in order o. A version of the key that
// ring does not know yet makes it re-read the key.
func Decode(ctx context.Context, ring *keys.Ring, s string, o Order) (*wallet.Cursor, error) {
	// Strict: altered padding bits are forgery.
	enc := base64.RawURLEncoding.Strict()
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, ErrInvalid
	}
	body, err1 := enc.DecodeString(parts[1])
	got, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return nil, ErrInvalid
	}
	key, known := ring.Verifying(ctx, parts[0])
	if !known || !hmac.Equal(got, mac(key, body)) {
		return nil, ErrInvalid
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil || p.Order != o {
		return nil, ErrInvalid
	}
	c := &wallet.Cursor{Backward: p.Backward, ID: p.ID}
	if o == ByTime {
		id, err := uuid.Parse(p.UUID)
		if err != nil || p.Micros <= 0 {
			return nil, ErrInvalid
		}
		c.Created, c.UUID = time.UnixMicro(p.Micros).UTC(), id
	} else if p.ID <= 0 {
		return nil, ErrInvalid
	}
	return c, nil
}

// mac authenticates a cursor's payload with a version of the cursor key.
func mac(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)[:16]
}
