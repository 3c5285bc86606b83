package cursor

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"wallets/internal/keys"
	"wallets/internal/wallet"
)

var bg = context.Background()

func ring(t testing.TB, set keys.Set) *keys.Ring {
	t.Helper()
	r, err := keys.StaticRing("cursor", set)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var fuzzKey = keys.Set{Current: []byte("fuzz-signing-key-0123456789abcdef")}

// TestDecodeRefuses: what a client could hand back that is not a cursor
// this service signed for this list is ErrInvalid.
func TestDecodeRefuses(t *testing.T) {
	r := ring(t, fuzzKey)
	other := ring(t, keys.Set{Current: []byte("another-key-0123456789abcdef-0123")})
	id := uuid.MustParse("e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10")
	good := Encode(bg, r, ByTime, wallet.Cursor{Created: time.UnixMicro(1_618_912_594_583_945), UUID: id})
	flipped := []byte(good)
	flipped[len(flipped)-1] ^= 1
	for name, c := range map[string]string{
		"empty":                "",
		"two parts":            "a.b",
		"not base64":           "k.%%%.%%%",
		"a byte flipped":       string(flipped),
		"another key":          Encode(bg, other, ByTime, wallet.Cursor{Created: time.UnixMicro(1), UUID: id}),
		"the other order":      Encode(bg, r, ByID, wallet.Cursor{ID: 4}),
		"id cursor with no id": Encode(bg, r, ByID, wallet.Cursor{}),
	} {
		o := ByTime
		if name == "id cursor with no id" {
			o = ByID
		}
		if got, err := Decode(bg, r, c, o); err != ErrInvalid {
			t.Errorf("%s: Decode(%q) = %+v, %v; want ErrInvalid", name, c, got, err)
		}
	}
	if got, err := Decode(bg, r, good, ByTime); err != nil || got.UUID != id {
		t.Errorf("the good cursor: %+v, %v", got, err)
	}
}

// TestRotation: a cursor signed before a rotation still reads after it,
// while the previous version is kept.
func TestRotation(t *testing.T) {
	old := []byte("old-key-0123456789abcdef-01234567")
	before := ring(t, keys.Set{Current: old})
	c := Encode(bg, before, ByID, wallet.Cursor{ID: 9})
	after := ring(t, keys.Set{Current: []byte("new-key-0123456789abcdef-01234567"), Previous: old})
	if got, err := Decode(bg, after, c, ByID); err != nil || got.ID != 9 {
		t.Errorf("after the rotation: %+v, %v", got, err)
	}
}

// FuzzDecode: decoding any text as a cursor never panics; what decodes
// encodes back to the same text (a cursor has one spelling).
func FuzzDecode(f *testing.F) {
	r := ring(f, fuzzKey)
	id := uuid.MustParse("e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10")
	f.Add(Encode(bg, r, ByTime, wallet.Cursor{Created: time.UnixMicro(1_618_912_594_583_945), UUID: id}))
	f.Add(Encode(bg, r, ByTime, wallet.Cursor{Created: time.UnixMicro(1), UUID: id, Backward: true}))
	f.Add(Encode(bg, r, ByID, wallet.Cursor{ID: 4}))
	f.Add(Encode(bg, r, ByID, wallet.Cursor{ID: 4, Backward: true}))
	for _, c := range []string{"", ".", "abc", "eyJrIjoidCJ9.AAAA", "e30.e30", "..", "%%%.%%%"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		for _, o := range []Order{ByTime, ByID} {
			cur, err := Decode(bg, r, c, o)
			if err != nil {
				if err != ErrInvalid {
					t.Fatalf("Decode(%q): %v, want ErrInvalid", c, err)
				}
				continue
			}
			if again := Encode(bg, r, o, *cur); again != c {
				t.Fatalf("Decode(%q) = %+v, which encodes as %q", c, cur, again)
			}
		}
	})
}

// FuzzRoundTrip: Decode∘Encode is the identity on every position a list
// can hand out, and a cursor of one order is refused by the other.
func FuzzRoundTrip(f *testing.F) {
	r := ring(f, fuzzKey)
	f.Add(int64(1_618_912_594_583_945), []byte("0123456789abcdef"), int64(0), false)
	f.Add(int64(1), []byte{}, int64(9), true)
	f.Fuzz(func(t *testing.T, micros int64, id []byte, n int64, backward bool) {
		var u uuid.UUID
		copy(u[:], id)
		if micros > 0 {
			in := wallet.Cursor{Created: time.UnixMicro(micros).UTC(), UUID: u, Backward: backward}
			got, err := Decode(bg, r, Encode(bg, r, ByTime, in), ByTime)
			if err != nil || !got.Created.Equal(in.Created) || got.UUID != in.UUID || got.Backward != backward {
				t.Fatalf("time cursor %+v came back as %+v, %v", in, got, err)
			}
			if _, err := Decode(bg, r, Encode(bg, r, ByTime, in), ByID); err == nil {
				t.Fatal("a time cursor decodes as an id cursor")
			}
		}
		if n > 0 {
			in := wallet.Cursor{ID: n, Backward: backward}
			got, err := Decode(bg, r, Encode(bg, r, ByID, in), ByID)
			if err != nil || *got != in {
				t.Fatalf("id cursor %+v came back as %+v, %v", in, got, err)
			}
		}
	})
}
