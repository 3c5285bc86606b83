package stacks

import (
	"os/exec"
	"strings"
	"testing"

	"wallets/internal/lambdatest"
)

// TestLinks: the CDK app imports only dependency-free packages of the
// service (internal/route, internal/obs/metricname, internal/sentrydsn…):
// each imports the standard library and other such packages only, so the
// app links none of the service's runtime (aws-lambda-go among them).
func TestLinks(t *testing.T) {
	t.Parallel()
	// One line per package outside the standard library: its path, then
	// its imports.
	out, err := exec.Command(lambdatest.GoTool(t), "list", "-deps",
		"-f", `{{if not .Standard}}{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{end}}`, "../..").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if strings.HasPrefix(pkg, "github.com/aws/aws-lambda-go/") {
			t.Errorf("the CDK app links %s", pkg)
		}
		if !strings.HasPrefix(pkg, "wallets/internal/") {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if std := !strings.Contains(strings.Split(imp, "/")[0], "."); !std && !strings.HasPrefix(imp, "wallets/internal/") {
				t.Errorf("%s, which the CDK app links, imports %s", pkg, imp)
			}
		}
	}
}
