package route

import "strings"

// Match finds the route for a method and path the way API Gateway resolves
// resources: a literal segment wins over a {param} at the same depth, and a
// trailing slash is ignored. It returns the route and its path parameters;
// when the path is known but the method is not, it returns ok=false and the
// methods the path allows (a 405); when nothing matches, allowed is empty (a
// 404).
func Match(routes []Route, method, path string) (route Route, params map[string]string, allowed []string, ok bool) {
	segs := splitPath(path)
	best := -1
	var bestParams map[string]string
	var bestScore []bool
	for i, r := range routes {
		p, score, matched := matchPath(splitPath(r.Path), segs)
		if !matched {
			continue
		}
		if best >= 0 && !betterScore(score, bestScore) {
			if sameScore(score, bestScore) {
				// Same resource, another method set.
				if HasMethod(r, method) {
					best, bestParams = i, p
				}
				allowed = append(allowed, r.Methods...)
			}
			continue
		}
		best, bestParams, bestScore = i, p, score
		allowed = append([]string(nil), r.Methods...)
	}
	if best < 0 {
		return Route{}, nil, nil, false
	}
	if !HasMethod(routes[best], method) {
		return Route{}, nil, allowed, false
	}
	return routes[best], bestParams, allowed, true
}

// HasMethod reports whether r serves method.
func HasMethod(r Route, method string) bool {
	for _, m := range r.Methods {
		if m == method {
			return true
		}
	}
	return false
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// matchPath matches a template against path segments; score[i] is true where
// segment i matched a literal.
func matchPath(tmpl, segs []string) (map[string]string, []bool, bool) {
	if len(tmpl) != len(segs) {
		return nil, nil, false
	}
	params := map[string]string{}
	score := make([]bool, len(tmpl))
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if segs[i] == "" {
				return nil, nil, false
			}
			params[t[1:len(t)-1]] = segs[i]
			continue
		}
		if t != segs[i] {
			return nil, nil, false
		}
		score[i] = true
	}
	return params, score, true
}

// betterScore reports whether a beats b: the first segment where they differ
// is a literal in a.
func betterScore(a, b []bool) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i]
		}
	}
	return false
}

func sameScore(a, b []bool) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
