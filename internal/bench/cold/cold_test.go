// Package cold is `make bench-cold`: the Init Duration of a hello-world
// aws-lambda-go bootstrap and of the project's health function, each
// started cold several times under the Lambda Runtime Interface Emulator
// in the same run. It is a benchmark so that it can use internal/lambdatest
// and `go test` does not run it: `make bench-cold` does.
package cold

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"wallets/internal/lambdatest"
	"wallets/internal/localpg"
)

// runs is how many cold starts each bootstrap gets.
const runs = 5

var initDuration = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)

func BenchmarkColdStart(b *testing.B) {
	var t testing.TB = b
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rie, err := lambdatest.FindRIE(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	moduleDir, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	bins := lambdatest.BuildHost(ctx, t, moduleDir, "health")
	bins["hello"] = buildHello(ctx, t, moduleDir)

	// The health function's init opens its pool (lazily: no connection at
	// init) over a real database; its secrets come from the environment.
	pg, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	env := map[string]string{
		"DATABASE_URL": pg.URL,
		"JWT_SECRET":   "bench-cold-jwt-signing-key-0123456789abcdef",
	}

	inits, firsts := map[string][]float64{}, map[string][]float64{}
	for i := range runs {
		for _, name := range []string{"hello", "health"} {
			d, first, err := coldStart(ctx, t, rie, bins[name], env)
			if err != nil {
				t.Fatalf("%s, run %d: %v", name, i+1, err)
			}
			inits[name] = append(inits[name], d)
			firsts[name] = append(firsts[name], first)
		}
	}
	report("Init Duration reported by the emulator", inits)
	report("first invocation, wall clock from the invoke request to its answer (process start + init + one call)", firsts)
}

func buildHello(ctx context.Context, t testing.TB, moduleDir string) string {
	dst := filepath.Join(t.TempDir(), "hello", "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", lambdatest.BuildTags, "-o", dst, "./internal/bench/cold/hello")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build hello: %v\n%s", err, out)
	}
	return dst
}

// coldStart starts an emulator for bootstrap, invokes it once (its cold
// start) and returns the Init Duration of the emulator's REPORT line and
// the wall-clock time of that first invocation, both in ms.
func coldStart(ctx context.Context, t testing.TB, rie, bootstrap string, env map[string]string) (initMS, firstMS float64, err error) {
	fn := lambdatest.Start(ctx, t, lambdatest.Config{RIE: rie, Bootstrap: bootstrap, Env: env})
	ev := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/api/v1/health", Resource: "/api/v1/health"}
	start := time.Now()
	if _, err := fn.Invoke(ctx, lambdatest.NewID("lambda-"), ev); err != nil {
		return 0, 0, fmt.Errorf("invoke: %w\n%s", err, fn.Logs())
	}
	firstMS = float64(time.Since(start)) / float64(time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := initDuration.FindStringSubmatch(fn.Logs()); m != nil {
			initMS, err = strconv.ParseFloat(m[1], 64)
			return initMS, firstMS, err
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("no Init Duration in the emulator's output:\n%s", fn.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func report(what string, results map[string][]float64) {
	med := func(xs []float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[len(s)/2]
	}
	hello, health := med(results["hello"]), med(results["health"])
	fmt.Printf("\n%s, under the Lambda Runtime Interface Emulator, %d cold starts each (ms):\n", what, runs)
	for _, name := range []string{"hello", "health"} {
		fmt.Printf("  %-8s median %7.2f  runs %.2f\n", name, med(results[name]), results[name])
	}
	verdict := "yes"
	if health > 1.5*hello {
		verdict = "NO"
	}
	fmt.Printf("  health / hello = %.2f× (target ≤ 1.5×): met? %s\n", health/hello, verdict)
}
