// Package money is the fixed-point amount type used everywhere money moves.
//
// An Amount is a whole number of cents. It is parsed from and printed as a
// decimal string with exactly two decimals ("200.00", "-150.00"); a binary
// float never takes part.
package money

//lint:file-ignore ST1005 the error messages are the contract's, shown to clients as they are

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Amount is a quantity of money in cents.
type Amount int64

// MaxDigits and Places describe the column every amount is stored in:
// numeric(11,2).
const (
	MaxDigits = 11
	Places    = 2
)

// Max is the largest amount numeric(11,2) can hold: 999,999,999.99.
const Max Amount = 99_999_999_999

// Validation messages, worded as the original service's serializer worded them.
var (
	ErrInvalid   = errors.New("A valid number is required.")
	ErrDigits    = fmt.Errorf("Ensure that there are no more than %d digits in total.", MaxDigits)
	ErrPlaces    = fmt.Errorf("Ensure that there are no more than %d decimal places.", Places)
	ErrWholePart = fmt.Errorf("Ensure that there are no more than %d digits before the decimal point.", MaxDigits-Places)
)

// Parse reads a plain decimal: an optional sign, digits, and an optional
// fraction of at most two digits. Exponents, NaN, Infinity, blanks inside the
// number and anything non-numeric are refused with one of the Err values.
func Parse(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrInvalid
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if (whole == "" && frac == "") || (hasPoint && frac == "" && whole == "") {
		return 0, ErrInvalid
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, ErrInvalid
	}
	// Leading zeros are not significant; trailing zeros of the fraction
	// are (as Python's Decimal counts them: "1.230" has three places).
	whole = strings.TrimLeft(whole, "0")
	switch {
	case len(whole)+len(frac) > MaxDigits:
		return 0, ErrDigits
	case len(frac) > Places:
		return 0, ErrPlaces
	case len(whole) > MaxDigits-Places:
		return 0, ErrWholePart
	}
	frac += strings.Repeat("0", Places-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, ErrInvalid
	}
	if neg {
		n = -n
	}
	return Amount(n), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseJSON reads an amount given as a JSON string or a JSON number. A number
// is taken from its literal text, so 10.1 stays exactly ten euros ten.
func ParseJSON(raw json.RawMessage) (Amount, error) {
	text := strings.TrimSpace(string(raw))
	if strings.HasPrefix(text, `"`) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, ErrInvalid
		}
		return Parse(s)
	}
	if text == "" || text[0] == '{' || text[0] == '[' || text == "true" || text == "false" || text == "null" {
		return 0, ErrInvalid
	}
	// JSON numbers may carry exponents; the contract refuses them.
	if strings.ContainsAny(text, "eE") {
		return 0, ErrInvalid
	}
	return Parse(text)
}

// String prints the amount with exactly two decimals.
func (a Amount) String() string {
	n := int64(a)
	sign := ""
	var u uint64
	if n < 0 {
		sign = "-"
		u = uint64(-(n + 1)) + 1 // safe for math.MinInt64
	} else {
		u = uint64(n)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// MarshalJSON prints the amount as a JSON string: "200.00".
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(`"` + a.String() + `"`), nil
}

// UnmarshalJSON accepts a JSON string or number, as ParseJSON does.
func (a *Amount) UnmarshalJSON(b []byte) error {
	v, err := ParseJSON(b)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Value encodes the amount for PostgreSQL as the exact decimal text.
func (a Amount) Value() (driver.Value, error) { return a.String(), nil }

// Scan decodes a PostgreSQL numeric, which the driver hands over as its
// decimal text (database/sql.Scanner), refusing NULL, NaN, infinities and
// values that are not whole cents (which numeric(11,2) never holds). Zeros
// past the second decimal are fine ("12.500" is 1250 cents).
func (a *Amount) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case int64:
		if v > int64(Max) || v < -int64(Max) {
			return fmt.Errorf("money: %d out of range", v)
		}
		*a = Amount(v * 100)
		return nil
	default:
		return fmt.Errorf("money: cannot scan %T into Amount", src)
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) {
		return fmt.Errorf("money: cannot scan %q into Amount", s)
	}
	if len(frac) > Places {
		if strings.Trim(frac[Places:], "0") != "" {
			return fmt.Errorf("money: %s is not a whole number of cents", s)
		}
		frac = frac[:Places]
	}
	frac += strings.Repeat("0", Places-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return fmt.Errorf("money: %s out of range", s)
	}
	if neg {
		n = -n
	}
	*a = Amount(n)
	return nil
}
