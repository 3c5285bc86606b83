package docs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"wallets/internal/apitest"
	"wallets/internal/docs"
	"wallets/internal/pgtest"
	"wallets/internal/route"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// moduleDir is the module's root: the tests run in internal/docs.
func moduleDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return dir
}

// TestBundleIsPinned: the embedded bundle is byte for byte the one of the
// Redoc package.json pins, as `npm ci` installs it (make test runs npm ci
// first; run `make node_modules` before go test). Upgrading Redoc means:
// npm install --save-dev --save-exact redoc@X, copy
// node_modules/redoc/bundles/redoc.standalone.js{,.LICENSE.txt} here and
// set RedocVersion.
func TestBundleIsPinned(t *testing.T) {
	root := moduleDir(t)
	pkg, err := os.ReadFile(filepath.Join(root, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%q: %q", "redoc", docs.RedocVersion); !bytes.Contains(pkg, []byte(want)) {
		t.Errorf("package.json does not pin %s (devDependencies, exact)", want)
	}
	for _, name := range []string{"redoc.standalone.js", "redoc.standalone.js.LICENSE.txt"} {
		installed, err := os.ReadFile(filepath.Join(root, "node_modules", "redoc", "bundles", name))
		if err != nil {
			t.Fatalf("%v: run `make node_modules` (npm ci) first", err)
		}
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(installed, committed) {
			t.Errorf("internal/docs/%s differs from node_modules/redoc/bundles/%s: copy it over", name, name)
		}
	}
	lock, err := os.ReadFile(filepath.Join(root, "node_modules", "redoc", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%q: %q", "version", docs.RedocVersion); !bytes.Contains(lock, []byte(want)) {
		t.Errorf("node_modules/redoc is not version %s", docs.RedocVersion)
	}
}

// TestPage: the page holds exactly two scripts, both named by the policy's
// hashes, and the policy lets the page reach nothing but its own origin.
func TestPage(t *testing.T) {
	html, csp := docs.Page()
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(html, -1)
	if len(scripts) != 2 {
		t.Fatalf("page has %d inline scripts, want 2 (the bundle and its init)", len(scripts))
	}
	if want := docs.CSP(scripts[0][1], scripts[1][1]); csp != want {
		t.Errorf("CSP %q\nwant %q", csp, want)
	}
	outside := html
	for _, sc := range scripts {
		outside = strings.Replace(outside, sc[1], "", 1)
	}
	if strings.Count(outside, "<script") != 2 || strings.Contains(outside, "http") {
		t.Errorf("page has other scripts, or names a URL: %s", outside)
	}
	for _, d := range []string{"default-src 'none'", "connect-src 'self'", "base-uri 'none'", "form-action 'none'",
		"frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP lacks %q: %s", d, csp)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
		t.Errorf("CSP allows eval or another origin: %s", csp)
	}
}

// chromium finds Debian's chromium (CHROMIUM=/path picks another).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: install Debian's chromium package (apt-get install chromium; .ci/run does), " +
		"or set CHROMIUM=/path/to/chrome")
	return ""
}

// TestDocsInBrowser opens GET /api/v1/docs of the whole stack in headless
// Chromium, under the page's own Content-Security-Policy: the page renders
// every operation of the route table, logs no error (a CSP violation, an
// exception, a failed fetch, a console.error), and leaves a screenshot in
// build/docs.png.
func TestDocsInBrowser(t *testing.T) {
	bin := chromium(t)
	stack := apitest.New(t)
	// The exchange as the contract sees it: a documented text/html 200.
	res := stack.Do(t, http.MethodGet, "/docs", nil).Check(t, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if res.Header.Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy")
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 1600),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var mu sync.Mutex
	var problems []string
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	chromedp.ListenTarget(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeWarning || ev.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range ev.Args {
					if a.Value != nil {
						args = append(args, string(a.Value))
					} else {
						args = append(args, a.Description)
					}
				}
				report("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			report("exception: %s", msg)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.LevelError || ev.Entry.Level == log.LevelWarning {
				report("log %s (%s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
	})

	pageURL := stack.URL + route.Prefix + "/docs"
	var text string
	var shot []byte
	err := chromedp.Run(bctx,
		log.Enable(),
		runtime.Enable(),
		chromedp.Navigate(pageURL),
		// Redoc has rendered the document once its operations are there.
		chromedp.WaitVisible(`[id^="operation/"]`, chromedp.ByQuery),
		chromedp.Sleep(500*time.Millisecond), // let late errors arrive
		chromedp.Text("body", &text, chromedp.ByQuery),
	)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the page did not render within a minute: %v (problems so far: %q)", err, problems)
		}
		t.Fatalf("chromedp: %v", err)
	}

	dir := filepath.Join(moduleDir(t), "build")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(dir, "docs.png")
	// FullScreenshot at quality 100 is PNG; below it, JPEG. Keep a PNG.
	if err := chromedp.Run(bctx, chromedp.FullScreenshot(&shot, 100)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(png, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", png)

	for _, rt := range route.Routes() {
		if !strings.Contains(text, rt.Summary) {
			t.Errorf("the page does not show %s (%s %s): %q", rt.Function, rt.Methods, rt.Path, rt.Summary)
		}
		path := strings.TrimPrefix(rt.Path, route.Prefix)
		if !strings.Contains(text, path) {
			t.Errorf("the page does not show the path %s of %s", path, rt.Function)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("the page logged: %s", p)
	}
}
