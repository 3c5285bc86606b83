package money

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// Native fuzz targets: `go test` replays the seeds and testdata/fuzz;
// `make fuzz` explores.

// FuzzParse: Parse never panics, reads exactly the decimal it is given
// (checked against math/big), stays within ±Max, and its result survives
// String, ParseJSON, JSON and Scan round trips.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "200.00", "-150.00", "+1.5", ".5", "5.", " 12.34 ", "999999999.99",
		"1000000000", "0999999999.99", "1.001", "1e3", "NaN", "-", ".", "", "1.2.3", "٣", "\u00a012"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if a != 0 {
				t.Fatalf("Parse(%q) = %d with error %v", s, a, err)
			}
			return
		}
		if a > Max || a < -Max {
			t.Fatalf("Parse(%q) = %d, beyond ±Max", s, a)
		}
		// The oracle: the trimmed text as an exact rational, in cents.
		want, ok := new(big.Rat).SetString(strings.TrimFunc(s, unicode.IsSpace))
		if !ok {
			t.Fatalf("Parse(%q) = %d, but it is not a decimal", s, a)
		}
		want.Mul(want, big.NewRat(100, 1))
		if !want.IsInt() || want.Num().Cmp(big.NewInt(int64(a))) != 0 {
			t.Fatalf("Parse(%q) = %d cents, want %s", s, a, want.RatString())
		}
		roundTrip(t, a)
	})
}

// roundTrip checks every encoding of a.
func roundTrip(t *testing.T, a Amount) {
	t.Helper()
	str := a.String()
	if b, err := Parse(str); err != nil || b != a {
		t.Fatalf("Parse(%q) = %d, %v; want %d", str, b, err, a)
	}
	j, _ := json.Marshal(a)
	var b Amount
	if err := json.Unmarshal(j, &b); err != nil || b != a {
		t.Fatalf("JSON %s = %d, %v; want %d", j, b, err, a)
	}
	if b, err := ParseJSON(json.RawMessage(str)); err != nil || b != a {
		t.Fatalf("ParseJSON(%s) = %d, %v; want %d", str, b, err, a)
	}
	var c Amount
	if err := c.Scan(str); err != nil || c != a {
		t.Fatalf("Scan(%q) = %d, %v; want %d", str, c, err, a)
	}
	if v, _ := a.Value(); v != str {
		t.Fatalf("Value() = %v, want %q", v, str)
	}
}

// FuzzParseJSON: ParseJSON never panics; what it accepts is a JSON string
// or number whose text Parse accepts alike.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`"200.00"`, `15.5`, `-1`, `1e3`, `"1e3"`, `null`, `true`, `{}`, `[]`, `"\u0031.5"`,
		` 7 `, `"`, `1E2`, `"NaN"`, strings.Repeat("9", 40)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := ParseJSON(raw)
		if err != nil {
			return
		}
		if a > Max || a < -Max {
			t.Fatalf("ParseJSON(%s) = %d, beyond ±Max", raw, a)
		}
		var text string
		if json.Unmarshal(raw, &text) != nil {
			text = strings.TrimSpace(string(raw))
		}
		if b, err := Parse(text); err != nil || b != a {
			t.Fatalf("ParseJSON(%s) = %d but Parse(%q) = %d, %v", raw, a, text, b, err)
		}
		roundTrip(t, a)
	})
}

// FuzzScan: Scan never panics and reads what PostgreSQL's numeric prints.
func FuzzScan(f *testing.F) {
	for _, s := range []string{"0", "0.00", "12.500", "-3.10", "99999999999", "1.001", "NaN", "-", ".5", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var a Amount
		if err := a.Scan(s); err != nil {
			return
		}
		var b Amount
		if err := b.Scan([]byte(s)); err != nil || b != a {
			t.Fatalf("Scan([]byte(%q)) = %d, %v; want %d", s, b, err, a)
		}
		want, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("Scan(%q) = %d, but it is not a decimal", s, a)
		}
		want.Mul(want, big.NewRat(100, 1))
		if !want.IsInt() || want.Num().Cmp(big.NewInt(int64(a))) != 0 {
			t.Fatalf("Scan(%q) = %d cents, want %s", s, a, want.RatString())
		}
		if c, err := Parse(a.String()); err == nil && c != a {
			t.Fatalf("Scan(%q) = %d, printed %s, parsed %d", s, a, a, c)
		}
	})
}

// FuzzString: every amount within ±Max prints as a decimal that reads back.
func FuzzString(f *testing.F) {
	for _, n := range []int64{0, 1, -1, 99, 100, -150_00, int64(Max), -int64(Max)} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		a := Amount(n)
		s := a.String()
		if want := strconv.FormatInt(n/100, 10); n > -100 && n < 0 {
			if !strings.HasPrefix(s, "-0.") {
				t.Fatalf("%d prints %q", n, s)
			}
		} else if !strings.HasPrefix(s, want+".") {
			t.Fatalf("%d prints %q", n, s)
		}
		if a > Max || a < -Max {
			return
		}
		roundTrip(t, a)
	})
}
