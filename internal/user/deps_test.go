package user

import (
	"os/exec"
	"strings"
	"testing"

	"wallets/internal/lambdatest"
)

// TestLinks: the accounts domain links no token library: the account type
// lives here, and internal/auth, which signs and verifies JWTs, uses it.
func TestLinks(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(lambdatest.GoTool(t), "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(pkg, "github.com/golang-jwt/") || pkg == "wallets/internal/auth" {
			t.Errorf("internal/user links %s", pkg)
		}
	}
}
