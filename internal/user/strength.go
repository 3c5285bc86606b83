package user

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// maxSimilarity is the quick-ratio above which a password is too like one of
// the user's attributes (Django's UserAttributeSimilarityValidator default).
const maxSimilarity = 0.7

// Attribute is a user attribute a password must not resemble.
type Attribute struct {
	Name  string // as shown in the message: "username", "email address", ...
	Value string
}

//go:embed common-passwords.txt.gz
var commonGz []byte

var (
	commonOnce sync.Once
	common     map[string]struct{}
)

func commonPasswords() map[string]struct{} {
	commonOnce.Do(func() {
		common = make(map[string]struct{}, 20000)
		zr, err := gzip.NewReader(bytes.NewReader(commonGz))
		if err != nil {
			panic(fmt.Sprintf("user: embedded password list: %v", err))
		}
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			if w := strings.TrimSpace(sc.Text()); w != "" {
				common[strings.ToLower(w)] = struct{}{}
			}
		}
		if err := sc.Err(); err != nil {
			panic(fmt.Sprintf("user: embedded password list: %v", err))
		}
	})
	return common
}

// CheckStrength returns the reasons password is weak, in the words of the
// original service's validators, or nil when it is acceptable: too short,
// too similar to one of attrs, too common, entirely numeric.
func CheckStrength(password string, attrs ...Attribute) []string {
	var problems []string
	if n := len([]rune(password)); n < MinPasswordLength {
		problems = append(problems, fmt.Sprintf("This password is too short. It must contain at least %d characters.", MinPasswordLength))
	}
	if a, ok := similarTo(password, attrs); ok {
		problems = append(problems, fmt.Sprintf("The password is too similar to the %s.", a))
	}
	if _, ok := commonPasswords()[strings.ToLower(strings.TrimSpace(password))]; ok {
		problems = append(problems, "This password is too common.")
	}
	if password != "" && isNumeric(password) {
		problems = append(problems, "This password is entirely numeric.")
	}
	return problems
}

func isNumeric(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

var nonWord = regexp.MustCompile(`\W+`)

func similarTo(password string, attrs []Attribute) (string, bool) {
	pw := strings.ToLower(password)
	for _, a := range attrs {
		if a.Value == "" {
			continue
		}
		parts := append(nonWord.Split(a.Value, -1), a.Value)
		for _, part := range parts {
			if part == "" {
				continue
			}
			if quickRatio(pw, strings.ToLower(part)) >= maxSimilarity {
				return a.Name, true
			}
		}
	}
	return "", false
}

// quickRatio is difflib.SequenceMatcher.quick_ratio: twice the number of
// characters the two strings share (as multisets) over their total length.
func quickRatio(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra)+len(rb) == 0 {
		return 1
	}
	avail := map[rune]int{}
	for _, r := range rb {
		avail[r]++
	}
	matches := 0
	for _, r := range ra {
		if avail[r] > 0 {
			avail[r]--
			matches++
		}
	}
	return 2 * float64(matches) / float64(len(ra)+len(rb))
}
