package route

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"wallets/internal/apperr"
)

// codeConsts returns the names of the constants of type apperr.Code declared
// in the non-test Go files of dir (qualified is how the files spell the
// type: "Code" in package apperr, "apperr.Code" elsewhere).
func codeConsts(t *testing.T, dir, qualified string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				if vs.Type == nil || typeName(vs.Type) != qualified {
					continue
				}
				for _, n := range vs.Names {
					names = append(names, n.Name)
				}
			}
		}
	}
	return names
}

func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			return x.Name + "." + e.Sel.Name
		}
	}
	return ""
}

// TestEveryCodeHasAStatus: every code declared (apperr's, and the edge's
// own here) has a status in the one table, and the table has no other
// entries. Adding a code means adding its status to statusOf.
func TestEveryCodeHasAStatus(t *testing.T) {
	declared := len(codeConsts(t, "../apperr", "Code")) + len(codeConsts(t, ".", "apperr.Code"))
	if declared == 0 {
		t.Fatal("found no Code constants")
	}
	if declared != len(statusOf) {
		t.Errorf("%d codes declared, statusOf has %d entries", declared, len(statusOf))
	}
	for code, status := range statusOf {
		if status < 400 || status > 599 {
			t.Errorf("code %q: status %d, want a 4xx or 5xx", code, status)
		}
	}
	if _, known := StatusOf("no_such_code"); known {
		t.Error("an unknown code has a status")
	}
}

// TestGatewayResponseStatuses pins the status of every gateway response:
// deriving them from statusOf changed none.
func TestGatewayResponseStatuses(t *testing.T) {
	want := map[string]int{
		"ACCESS_DENIED":                  http.StatusUnauthorized,
		"UNAUTHORIZED":                   http.StatusUnauthorized,
		"AUTHORIZER_FAILURE":             http.StatusServiceUnavailable,
		"AUTHORIZER_CONFIGURATION_ERROR": http.StatusServiceUnavailable,
		"MISSING_AUTHENTICATION_TOKEN":   http.StatusNotFound,
		"RESOURCE_NOT_FOUND":             http.StatusNotFound,
		"REQUEST_TOO_LARGE":              http.StatusRequestEntityTooLarge,
		"UNSUPPORTED_MEDIA_TYPE":         http.StatusUnsupportedMediaType,
		"THROTTLED":                      http.StatusTooManyRequests,
		"QUOTA_EXCEEDED":                 http.StatusTooManyRequests,
		"INTEGRATION_TIMEOUT":            http.StatusGatewayTimeout,
		"INTEGRATION_FAILURE":            http.StatusBadGateway,
		"DEFAULT_5XX":                    http.StatusBadGateway,
		"DEFAULT_4XX":                    0, // API Gateway's own
	}
	got := GatewayResponses()
	if len(got) != len(want) {
		t.Errorf("%d gateway responses, want %d", len(got), len(want))
	}
	for _, g := range got {
		if s, ok := want[g.Type]; !ok || g.Status != s {
			t.Errorf("%s: status %d, want %d (listed %v)", g.Type, g.Status, s, ok)
		}
	}
}

// The edge's own refusals keep their messages and codes' strings.
func TestEdgeRefusals(t *testing.T) {
	cases := []struct {
		name string
		err  *apperr.Error
		want string
	}{
		{"unsupported media", UnsupportedMedia("text/xml"), `unsupported: Unsupported media type "text/xml" in request.`},
		{"method not allowed", MethodNotAllowedFor("PATCH"), `method_not_allowed: Method "PATCH" not allowed.`},
		{"too large", ErrBodyTooLarge, "too_large: Request body is larger than 64 KiB."},
		{"gateway media", ErrUnsupportedMediaGateway, "unsupported: Unsupported media type in request."},
		{"gateway throttle", ErrThrottledGateway, "throttled: Request was throttled."},
		{"gateway timeout", ErrUpstreamTimeout, "timeout: The server took too long to answer."},
		{"gateway failure", ErrUpstreamFailed, "bad_gateway: A server error occurred."},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%s: Error() = %q, want %q", c.name, got, c.want)
		}
	}
	if ErrUpstreamFailed.Detail != apperr.ErrFault.Detail {
		t.Errorf("ErrUpstreamFailed detail %q; want the fault's %q (no internals)", ErrUpstreamFailed.Detail, apperr.ErrFault.Detail)
	}
}
