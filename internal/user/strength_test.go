package user

import (
	"strings"
	"testing"
)

func TestCheckStrength(t *testing.T) {
	user := []Attribute{{"username", "pablo"}, {"first name", "Pablo"}, {"last name", "Moreno"}, {"email address", "pablo.moreno@mail.com"}}
	tests := []struct {
		password string
		want     []string // substrings of the expected problems, in order; nil = strong
	}{
		{"Xk9#mQ2!vL", nil},
		{"short1!", []string{"too short"}},
		{"12345678901", []string{"too common", "entirely numeric"}},
		{"84736251947", []string{"entirely numeric"}},
		{"password", []string{"too common"}},
		{"PassWord", []string{"too common"}}, // case-insensitive
		{"Welcome", []string{"too short", "too common"}},
		{"pablomoreno", []string{"too similar to the last name"}},
		{"pablo.moreno@mail", []string{"too similar to the email address"}},
		{"pablo123", []string{"too similar to the username", "too common"}},
		{"morenos1", []string{"too similar to the last name"}},
	}
	for _, tt := range tests {
		got := CheckStrength(tt.password, user...)
		if len(got) != len(tt.want) {
			t.Errorf("CheckStrength(%q) = %q, want %d problems like %q", tt.password, got, len(tt.want), tt.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tt.want[i]) {
				t.Errorf("CheckStrength(%q)[%d] = %q, want it to mention %q", tt.password, i, got[i], tt.want[i])
			}
		}
	}
}

func TestQuickRatio(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"abcd", "bcde", 0.75},
		{"", "", 1},
		{"abc", "", 0},
		{"aab", "abb", 2.0 * 2 / 6},
	}
	for _, tt := range tests {
		if got := quickRatio(tt.a, tt.b); got != tt.want {
			t.Errorf("quickRatio(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
