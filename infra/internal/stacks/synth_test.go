package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"wallets/infra/internal/data"
	"wallets/infra/internal/functions"
	"wallets/infra/internal/settings"
)

// The synth tests share one synthesized prod deployment (each jsii start and
// synth costs seconds): prodDeployment() builds it on first use. The dev
// deployment, synthesized in the same jsii process, is built only by the
// test that needs it.

var (
	tmpRoot string // removed by TestMain

	prodOnce sync.Once
	prodSyn  *synthesized
	prodErr  error

	devOnce sync.Once
	devSyn  *synthesized
	devErr  error
)

// repoRoot is the repository's root, from this package's directory
// (infra/internal/stacks).
const repoRoot = "../../.."

// testGithubRepo is the repository the deploy roles trust.
const testGithubRepo = "example/wallets"

// testAlarmEmail is subscribed to the alarm topic in the prod synth.
const testAlarmEmail = "oncall@example.com"

func TestMain(m *testing.M) {
	var err error
	if tmpRoot, err = os.MkdirTemp("", "wallets-infra-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	jsii.Close()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// synthesized is one stage's deployment: the constructs, the templates as
// assertions objects and as plain JSON.
type synthesized struct {
	w                 *Wallets
	data, api, mon    assertions.Template
	dataJSON, apiJSON template
	monJSON           template // the Monitoring stack
	deployJSON        template // nil without githubRepo
	took              time.Duration
}

func prodDeployment(t *testing.T) *synthesized {
	t.Helper()
	prodOnce.Do(func() {
		prodSyn, prodErr = synthStage("prod", map[string]any{"alarmEmail": testAlarmEmail, "githubRepo": testGithubRepo})
	})
	if prodErr != nil {
		t.Fatalf("synth prod: %v", prodErr)
	}
	return prodSyn
}

func devDeployment(t *testing.T) *synthesized {
	t.Helper()
	devOnce.Do(func() { devSyn, devErr = synthStage("dev", map[string]any{"githubRepo": testGithubRepo}) })
	if devErr != nil {
		t.Fatalf("synth dev: %v", devErr)
	}
	return devSyn
}

// functionNames are every function folder the deployment needs.
func functionNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range functions.RouteTable() {
		if !seen[r.Function] {
			seen[r.Function] = true
			names = append(names, r.Function)
		}
	}
	return append(names, functions.AuthorizerFunction, functions.MigrateFunction,
		functions.EventsRelayFunction, functions.WebhooksDeliverFunction)
}

// synthStage synthesizes the stage with cdk.json's context, placeholder
// bootstraps instead of `make build`'s, and the extra context given.
func synthStage(stage string, extra map[string]any) (syn *synthesized, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
			// CDK's own template validation writes its findings to a file.
			if m := regexp.MustCompile(`\S+validation-report\.json`).FindString(fmt.Sprint(r)); m != "" {
				if b, rerr := os.ReadFile(m); rerr == nil {
					err = fmt.Errorf("%w: %.4000s", err, b)
				}
			}
		}
	}()
	start := time.Now()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "cdk.json"))
	if err != nil {
		return nil, err
	}
	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cdkJSON); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	assets := filepath.Join(tmpRoot, stage, "build")
	for _, fn := range append(functionNames(), data.RotateKeyFunction) {
		dir := filepath.Join(assets, fn)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n# placeholder for "+fn+"\n"), 0o755); err != nil {
			return nil, err
		}
	}
	ctx := cdkJSON.Context
	ctx["stage"] = stage
	ctx["assetRoot"] = assets
	for k, v := range extra {
		ctx[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(filepath.Join(tmpRoot, stage, "cdk.out"))})
	s, err := settings.Load(app)
	if err != nil {
		return nil, err
	}
	w, err := NewWallets(app, s)
	if err != nil {
		return nil, err
	}
	syn = &synthesized{w: w}
	syn.data = assertions.Template_FromStack(w.Data.Stack, nil)
	syn.api = assertions.Template_FromStack(w.Api.Stack, nil)
	syn.dataJSON = template(*syn.data.ToJSON())
	syn.apiJSON = template(*syn.api.ToJSON())
	syn.mon = assertions.Template_FromStack(w.Monitoring.Stack, nil)
	syn.monJSON = template(*syn.mon.ToJSON())
	if w.Deploy != nil {
		syn.deployJSON = template(*assertions.Template_FromStack(w.Deploy.Stack, nil).ToJSON())
	}
	syn.took = time.Since(start)
	fmt.Fprintf(os.Stderr, "synthesized %s in %s (Data %d, Monitoring %d, Api %d resources)\n", stage, syn.took.Round(time.Millisecond),
		len(syn.dataJSON.resources("")), len(syn.monJSON.resources("")), len(syn.apiJSON.resources("")))
	return syn, nil
}

// check runs a CDK assertion, turning its failure (a panic out of jsii)
// into a test error.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

// template is a CloudFormation template as JSON.
type template map[string]any

type resource struct {
	ID    string
	Type  string
	Props map[string]any
	Raw   map[string]any
}

// resources of type typ ("" for all).
func (tp template) resources(typ string) []resource {
	res, _ := tp["Resources"].(map[string]any)
	var out []resource
	for id, r := range res {
		m := r.(map[string]any)
		if typ != "" && m["Type"] != typ {
			continue
		}
		props, _ := m["Properties"].(map[string]any)
		out = append(out, resource{ID: id, Type: m["Type"].(string), Props: props, Raw: m})
	}
	return out
}

func (tp template) resource(id string) (resource, bool) {
	for _, r := range tp.resources("") {
		if r.ID == id {
			return r, true
		}
	}
	return resource{}, false
}

// get walks a path of map keys.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// refOf returns the logical id of {"Ref": id} or {"Fn::GetAtt": [id, ...]}.
func refOf(v any) string {
	if s, ok := get(v, "Ref").(string); ok {
		return s
	}
	if a, ok := get(v, "Fn::GetAtt").([]any); ok && len(a) > 0 {
		s, _ := a[0].(string)
		return s
	}
	return ""
}

func dependsOn(r resource) []string {
	switch d := r.Raw["DependsOn"].(type) {
	case string:
		return []string{d}
	case []any:
		out := make([]string, len(d))
		for i, e := range d {
			out[i], _ = e.(string)
		}
		return out
	}
	return nil
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// functionsByName maps FunctionName to the function resource.
func functionsByName(tp template) map[string]resource {
	out := map[string]resource{}
	for _, r := range tp.resources("AWS::Lambda::Function") {
		if name, ok := r.Props["FunctionName"].(string); ok {
			out[name] = r
		}
	}
	return out
}

// resourcePaths maps each API Gateway resource's logical id to its path.
func resourcePaths(tp template) map[string]string {
	parents := map[string]string{}
	parts := map[string]string{}
	for _, r := range tp.resources("AWS::ApiGateway::Resource") {
		parts[r.ID] = r.Props["PathPart"].(string)
		if get(r.Props["ParentId"], "Ref") != nil {
			parents[r.ID] = refOf(r.Props["ParentId"])
		}
	}
	var path func(id string) string
	path = func(id string) string {
		if p, ok := parents[id]; ok {
			return path(p) + "/" + parts[id]
		}
		return "/" + parts[id]
	}
	out := map[string]string{}
	for id := range parts {
		out[id] = path(id)
	}
	return out
}

// firstRef is the logical id of the first {"Ref": id} under v.
func firstRef(v any) string {
	switch x := v.(type) {
	case map[string]any:
		if r, ok := x["Ref"].(string); ok && !strings.HasPrefix(r, "AWS::") {
			return r
		}
		for _, e := range x {
			if r := firstRef(e); r != "" {
				return r
			}
		}
	case []any:
		for _, e := range x {
			if r := firstRef(e); r != "" {
				return r
			}
		}
	}
	return ""
}
