package user

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinks: the accounts domain links no token library: the account type
// lives here, and internal/auth, which signs and verifies JWTs, uses it.
func TestLinks(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command on PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(pkg, "github.com/golang-jwt/") || pkg == "wallets/internal/auth" {
			t.Errorf("internal/user links %s", pkg)
		}
	}
}
