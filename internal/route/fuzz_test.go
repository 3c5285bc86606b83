package route

import (
	"slices"
	"strings"
	"testing"
)

// FuzzMatch: Match never panics, and what it answers is consistent: a
// matched route serves the method and its template, filled with the path
// parameters, is the path; a 405 lists the methods of the path and not the
// one asked; a literal segment wins over a {param}.
func FuzzMatch(f *testing.F) {
	for _, rt := range Routes() {
		for _, m := range rt.Methods {
			f.Add(m, strings.ReplaceAll(strings.ReplaceAll(rt.Path, "{uuid}", "e58bc9dc-5c3c-4c3e-9d55-2f0d1d1b7a10"),
				"{business_id}", "4"))
		}
	}
	for _, p := range []string{"", "/", "//", Prefix, Prefix + "/users/me/", Prefix + "/wallets/business/wallet",
		Prefix + "/wallets/business/x/customers/transactions", Prefix + "//users/me", "/api/v1/users/me%2F"} {
		f.Add("GET", p)
		f.Add("DELETE", p)
	}
	routes := Routes()
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, params, allowed, ok := Match(routes, method, path)
		if !ok {
			if rt.Function != "" || params != nil {
				t.Fatalf("no match but route %q params %v", rt.Function, params)
			}
			if slices.Contains(allowed, method) {
				t.Fatalf("%s %s: 405 allowing %v", method, path, allowed)
			}
			return
		}
		if !HasMethod(rt, method) {
			t.Fatalf("%s %s matched %s, which does not serve it", method, path, rt.Function)
		}
		if !slices.Contains(allowed, method) {
			t.Fatalf("%s %s: allowed %v lacks the method", method, path, allowed)
		}
		filled := rt.Path
		for k, v := range params {
			if v == "" || strings.Contains(v, "/") {
				t.Fatalf("%s %s: parameter %s = %q", method, path, k, v)
			}
			filled = strings.Replace(filled, "{"+k+"}", v, 1)
		}
		if strings.Trim(filled, "/") != strings.Trim(path, "/") {
			t.Fatalf("%s %s matched %s (%s) with %v", method, path, rt.Function, rt.Path, params)
		}
		// A literal wins: no other route of this method matches the path
		// with a literal where the chosen one has a {param}.
		segs := splitPath(path)
		_, best, _ := matchPath(splitPath(rt.Path), segs)
		for _, other := range routes {
			if other.Path == rt.Path || !HasMethod(other, method) {
				continue
			}
			if _, score, m := matchPath(splitPath(other.Path), segs); m && betterScore(score, best) {
				t.Fatalf("%s %s matched %s, but %s is more literal", method, path, rt.Path, other.Path)
			}
		}
	})
}
