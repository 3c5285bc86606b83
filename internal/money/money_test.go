package money

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Amount
		err  error
	}{
		{"200", 20000, nil},
		{"200.00", 20000, nil},
		{"0.01", 1, nil},
		{"-150.5", -15050, nil},
		{"+3.10", 310, nil},
		{" 7.25 ", 725, nil},
		{"007.5", 750, nil},
		{".5", 50, nil},
		{"5.", 500, nil},
		{"0", 0, nil},
		{"999999999.99", Max, nil},
		{"-999999999.99", -Max, nil},
		{"1.230", 0, ErrPlaces}, // trailing zeros count as places, as in the original
		{"10.100", 0, ErrPlaces},
		{"0.00", 0, nil},
		{"000000000000001.5", 150, nil},
		{"1.234", 0, ErrPlaces},
		{"0.001", 0, ErrPlaces},
		{"1000000000", 0, ErrWholePart},
		{"123456789012", 0, ErrDigits},
		{"1234567890.12", 0, ErrDigits},
		{"", 0, ErrInvalid},
		{".", 0, ErrInvalid},
		{"-", 0, ErrInvalid},
		{"abc", 0, ErrInvalid},
		{"1e3", 0, ErrInvalid},
		{"NaN", 0, ErrInvalid},
		{"Infinity", 0, ErrInvalid},
		{"-inf", 0, ErrInvalid},
		{"1,5", 0, ErrInvalid},
		{"1 000", 0, ErrInvalid},
		{"0x10", 0, ErrInvalid},
		{"--1", 0, ErrInvalid},
		{"1.2.3", 0, ErrInvalid},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if !errors.Is(err, tt.err) || (err == nil && got != tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Amount
		ok   bool
	}{
		{`"10.10"`, 1010, true},
		{`10.1`, 1010, true},
		{`-5`, -500, true},
		{`0.1`, 10, true},
		{`1e2`, 0, false},
		{`1E-2`, 0, false},
		{`"1e2"`, 0, false},
		{`null`, 0, false},
		{`true`, 0, false},
		{`[1]`, 0, false},
		{`{"a":1}`, 0, false},
		{`"NaN"`, 0, false},
		{`"Infinity"`, 0, false},
		{`10.123`, 0, false},
	}
	for _, tt := range tests {
		got, err := ParseJSON(json.RawMessage(tt.in))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseJSON(%s) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestString(t *testing.T) {
	tests := map[Amount]string{
		0: "0.00", 1: "0.01", 10: "0.10", 20000: "200.00", -15000: "-150.00", -1: "-0.01", Max: "999999999.99",
		Amount(-9223372036854775808): "-92233720368547758.08",
	}
	for a, want := range tests {
		if got := a.String(); got != want {
			t.Errorf("Amount(%d).String() = %q, want %q", int64(a), got, want)
		}
		b, _ := json.Marshal(a)
		if string(b) != `"`+want+`"` {
			t.Errorf("json.Marshal(%d) = %s", int64(a), b)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, s := range []string{"0.00", "0.05", "12.34", "-12.34", "999999999.99"} {
		a, err := Parse(s)
		if err != nil || a.String() != s {
			t.Errorf("round trip %q: %v %v", s, a, err)
		}
	}
}

func TestScan(t *testing.T) {
	for _, a := range []Amount{0, 1, -1, 12345, Max, -Max} {
		var back Amount
		if err := back.Scan(a.String()); err != nil || back != a {
			t.Errorf("scan round trip %v: got %v, %v", a, back, err)
		}
	}
	tests := []struct {
		src  any
		want Amount
		ok   bool
	}{
		{"12.5", 1250, true},
		{"12.500", 1250, true},
		{[]byte("7"), 700, true},
		{int64(3), 300, true},
		{int64(-3), -300, true},
		{int64(Max) + 1, 0, false}, // an integer column's value that cannot be cents without overflow risk
		{-int64(Max) - 1, 0, false},
		{"0.001", 0, false},
		{"NaN", 0, false},
		{"Infinity", 0, false},
		{"", 0, false},
		{"1e5", 0, false},
		{"99999999999999999999", 0, false},
		{nil, 0, false},
		{1.5, 0, false},
	}
	for _, tt := range tests {
		var a Amount
		err := a.Scan(tt.src)
		if (err == nil) != tt.ok || (tt.ok && a != tt.want) {
			t.Errorf("Scan(%#v) = %v, %v; want %v, ok=%v", tt.src, a, err, tt.want, tt.ok)
		}
	}
}
