package obs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// fakeReporter records what obs asks of a Reporter.
type fakeReporter struct {
	mu        sync.Mutex
	begun     []Invocation
	sent      []sentReport
	errCalls  int // ReportScope.Error calls
	flushes   int // ReportScope.Flush calls
	installed bool
	closed    bool
}

// sentReport is a Report that was sent.
type sentReport struct {
	kind   string // "error", "panic" or "message"
	err    error
	value  any
	msg    string
	stack  string // of the goroutine that prepared it
	status int
	id     string
	inv    Invocation
	user   string // the scope's user when sent
}

type fakeScope struct {
	r   *fakeReporter
	inv Invocation

	mu   sync.Mutex
	user string
}

type fakeReport struct {
	s *fakeScope
	sentReport
}

func (r *fakeReporter) Begin(ctx context.Context, inv Invocation) (context.Context, ReportScope) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.begun = append(r.begun, inv)
	return ctx, &fakeScope{r: r, inv: inv, user: inv.UserID}
}

func (r *fakeReporter) Flush(time.Duration) bool { return true }
func (r *fakeReporter) Close(time.Duration)      { r.mu.Lock(); r.closed = true; r.mu.Unlock() }
func (r *fakeReporter) Install()                 { r.mu.Lock(); r.installed = true; r.mu.Unlock() }

func (r *fakeReporter) reports() []sentReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentReport(nil), r.sent...)
}

func (s *fakeScope) SetUser(id string) { s.mu.Lock(); s.user = id; s.mu.Unlock() }

func (s *fakeScope) Error(err error) Report {
	s.r.mu.Lock()
	s.r.errCalls++
	s.r.mu.Unlock()
	return &fakeReport{s, sentReport{kind: "error", err: err, stack: string(debug.Stack())}}
}

func (s *fakeScope) Panic(v any) Report {
	return &fakeReport{s, sentReport{kind: "panic", value: v, stack: string(debug.Stack())}}
}

func (s *fakeScope) Message(msg string) Report {
	return &fakeReport{s, sentReport{kind: "message", msg: msg}}
}

func (s *fakeScope) Flush(time.Duration) bool {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.flushes++
	return true
}

func (r *fakeReport) Send(status int) string {
	s := r.s
	s.mu.Lock()
	user := s.user
	s.mu.Unlock()
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	sr := r.sentReport
	sr.status, sr.inv, sr.user = status, s.inv, user
	sr.id = fmt.Sprintf("ev%d", len(s.r.sent)+1)
	s.r.sent = append(s.r.sent, sr)
	return sr.id
}

// newTestObs returns an Obs writing to a buffer, reporting to rep if non-nil.
func newTestObs(t *testing.T, rep *fakeReporter) (*Obs, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	cfg := Config{Function: "wallets-test", Output: &buf}
	if rep != nil {
		cfg.Reporter = rep
	}
	o := New(cfg)
	t.Cleanup(func() { o.Close(time.Second) })
	return o, &buf
}

// invoke runs h as an event source's adapter does: Begin, h under a deferred
// recover that calls Recovered, Finish. A handler error means a 500.
func invoke(o *Obs, inv Invocation, h func(ctx context.Context) (int, error)) (status int) {
	ctx, span := o.Begin(context.Background(), inv)
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				span.Recovered(r)
				status = 500
			}
		}()
		status, err = h(ctx)
	}()
	if err != nil {
		status = 500
	}
	span.Finish(ctx, status, err, "request")
	return status
}

// lines splits the output into log lines and EMF documents.
func lines(t *testing.T, buf *bytes.Buffer) (logs, emf []map[string]any) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, sc.Text())
		}
		// The invocation's log line is also its EMF document.
		if _, ok := m["_aws"]; ok {
			emf = append(emf, m)
		}
		if _, ok := m["msg"]; ok {
			logs = append(logs, m)
		}
	}
	return logs, emf
}

// requestLog returns the one log line with message msg.
func requestLog(t *testing.T, logs []map[string]any, msg string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range logs {
		if l["msg"] == msg {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %q log lines, want 1: %v", len(found), msg, logs)
	}
	return found[0]
}

// checkEMF asserts the EMF specification's shape of doc — each directive in
// the namespace, each of its dimensions a top-level string, each of its
// metrics a top-level number (or array of numbers) — and returns its
// directives' dimension sets ("Function", "Operation,Outcome") and every
// metric's unit ("" when left out).
func checkEMF(t *testing.T, doc map[string]any) (dims []string, metrics map[string]string) {
	t.Helper()
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("_aws is not an object: %v", doc)
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || ts < float64(time.Now().Add(-time.Hour).UnixMilli()) {
		t.Errorf("_aws.Timestamp = %v, want ms epoch", aws["Timestamp"])
	}
	cwm, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(cwm) == 0 {
		t.Fatalf("_aws.CloudWatchMetrics = %v", aws["CloudWatchMetrics"])
	}
	metrics = map[string]string{}
	for _, d := range cwm {
		dir := d.(map[string]any)
		if dir["Namespace"] != "Wallets" {
			t.Errorf("Namespace = %v", dir["Namespace"])
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok || len(sets) == 0 {
			t.Fatalf("Dimensions = %v", dir["Dimensions"])
		}
		for _, set := range sets {
			var keys []string
			for _, k := range set.([]any) {
				key := k.(string)
				if _, ok := doc[key].(string); !ok {
					t.Errorf("dimension %q has no top-level string value: %v", key, doc[key])
				}
				keys = append(keys, key)
			}
			dims = append(dims, strings.Join(keys, ","))
		}
		for _, m := range dir["Metrics"].([]any) {
			def := m.(map[string]any)
			name := def["Name"].(string)
			unit, _ := def["Unit"].(string)
			if _, dup := metrics[name]; dup {
				t.Errorf("metric %q in two directives", name)
			}
			metrics[name] = unit
			switch v := doc[name].(type) {
			case float64:
			case []any:
				for _, x := range v {
					if _, ok := x.(float64); !ok {
						t.Errorf("metric %q value %v is not numeric", name, x)
					}
				}
			default:
				t.Errorf("metric %q has no top-level numeric value: %v", name, doc[name])
			}
		}
	}
	return dims, metrics
}

// requestEMF returns the invocation's line, the document with the request
// metrics.
func requestEMF(t *testing.T, emf []map[string]any) map[string]any {
	t.Helper()
	for _, doc := range emf {
		if _, ok := doc[MetricRequests]; ok {
			checkEMF(t, doc)
			return doc
		}
	}
	t.Fatalf("no request EMF document in %v", emf)
	return nil
}

func depositInvocation() Invocation {
	return Invocation{
		Function:  "wallets-deposit",
		Route:     "/api/v1/wallets/customers/wallets/{uuid}",
		Method:    "POST",
		Path:      "/api/v1/wallets/customers/wallets/3f2a",
		RequestID: "req-123",
		UserID:    "42",
	}
}

func TestFaultIsLoggedReportedAndCounted(t *testing.T) {
	rep := &fakeReporter{}
	o, buf := newTestObs(t, rep)
	inv := depositInvocation()
	cause := errors.New("connection refused")
	fault := fmt.Errorf("deposit: lock wallet (token=abc123): %w", cause)
	invoke(o, inv, func(ctx context.Context) (int, error) { return 200, fault })

	if len(rep.begun) != 1 || rep.begun[0] != inv {
		t.Errorf("Reporter.Begin got %+v, want %+v", rep.begun, inv)
	}
	sent := rep.reports()
	if len(sent) != 1 {
		t.Fatalf("%d reports sent, want 1", len(sent))
	}
	r := sent[0]
	if r.kind != "error" || r.err != fault || r.status != 500 || r.user != "42" {
		t.Errorf("report = %s %v %d user %q", r.kind, r.err, r.status, r.user)
	}
	// The report was flushed before Finish returned.
	if rep.flushes != 1 {
		t.Errorf("%d scope flushes, want 1", rep.flushes)
	}

	logs, emf := lines(t, buf)
	l := requestLog(t, logs, "request")
	for k, want := range map[string]any{"request_id": "req-123", "Function": "wallets-deposit", "method": "POST",
		"path": inv.Path, "status": float64(500), "user_id": "42", "level": "ERROR", "sentry_event_id": r.id} {
		if l[k] != want {
			t.Errorf("log %s = %v, want %v", k, l[k], want)
		}
	}
	// Function and method name the route; CloudWatch timestamps the line.
	for _, k := range []string{"route", "function", "time"} {
		if v, ok := l[k]; ok {
			t.Errorf("log has %s (%v)", k, v)
		}
	}
	if _, ok := l[MetricLatency].(float64); !ok {
		t.Errorf("log Latency (the duration, in ms) = %v", l[MetricLatency])
	}
	if e, _ := l["error"].(string); !strings.Contains(e, "deposit: lock wallet") || !strings.Contains(e, "connection refused") || strings.Contains(e, "abc123") {
		t.Errorf("log error = %q", e)
	}
	if strings.Contains(buf.String(), "abc123") {
		t.Errorf("output contains the token:\n%s", buf)
	}

	if len(emf) != 1 {
		t.Fatalf("%d EMF documents, want the log line alone", len(emf))
	}
	doc := requestEMF(t, emf)
	dims, metrics := checkEMF(t, doc)
	if len(dims) != 1 || dims[0] != "Function" || doc["Function"] != "wallets-deposit" {
		t.Errorf("request EMF dimensions = %v (%v)", dims, doc["Function"])
	}
	// Counts are in None, EMF's default, so without a Unit; a 5xx has no 4xx.
	want := map[string]string{"Requests": "", "Latency": "Milliseconds", "5xx": ""}
	if fmt.Sprint(metrics) != fmt.Sprint(want) {
		t.Errorf("metrics = %v, want %v", metrics, want)
	}
	if doc["5xx"] != float64(1) || doc["Requests"] != float64(1) {
		t.Errorf("request EMF values: %v", doc)
	}
}

func TestPanicIsRecoveredAndReported(t *testing.T) {
	rep := &fakeReporter{}
	o, buf := newTestObs(t, rep)
	invoke(o, depositInvocation(), func(ctx context.Context) (int, error) {
		var m map[string]int
		//lint:ignore SA5000 the runtime panic is the point
		m["boom"]++
		return 200, nil
	})

	sent := rep.reports()
	if len(sent) != 1 {
		t.Fatalf("%d reports, want 1", len(sent))
	}
	r := sent[0]
	if r.kind != "panic" || r.status != 500 {
		t.Errorf("report = %s %d", r.kind, r.status)
	}
	if err, ok := r.value.(error); !ok || !strings.Contains(err.Error(), "nil map") {
		t.Errorf("panic value = %#v", r.value)
	}
	// Panic was called in the deferred function: the stack shows the panic.
	if !strings.Contains(r.stack, "TestPanicIsRecoveredAndReported") {
		t.Errorf("report stack does not show the panicking handler:\n%s", r.stack)
	}
	if rep.flushes != 1 {
		t.Errorf("%d scope flushes, want 1", rep.flushes)
	}

	logs, emf := lines(t, buf)
	l := requestLog(t, logs, "request")
	if l["status"] != float64(500) || l["panic"] != true || !strings.Contains(l["stack"].(string), "TestPanicIsRecoveredAndReported") {
		t.Errorf("log = %v", l)
	}
	if e, _ := l["error"].(string); !strings.Contains(e, "panic: ") || !strings.Contains(e, "nil map") {
		t.Errorf("log error = %q", e)
	}
	if l["sentry_event_id"] != r.id {
		t.Errorf("log sentry_event_id = %v, want %v", l["sentry_event_id"], r.id)
	}
	if doc := requestEMF(t, emf); doc["5xx"] != float64(1) {
		t.Errorf("5xx = %v", doc["5xx"])
	}

	// A non-error panic value; a status given to Finish after a panic does
	// not count, nor does a fault.
	buf.Reset()
	ctx, span := o.Begin(context.Background(), Invocation{Route: "/r"})
	func() {
		defer func() { span.Recovered(recover()) }()
		panic("invariant broken")
	}()
	span.Finish(ctx, 200, errors.New("ignored"), "request")
	sent = rep.reports()
	if len(sent) != 2 || sent[1].kind != "panic" || sent[1].value != "invariant broken" {
		t.Fatalf("reports = %+v", sent)
	}
	logs, _ = lines(t, buf)
	l = requestLog(t, logs, "request")
	if l["status"] != float64(500) || l["error"] != "panic: invariant broken" || l["level"] != "ERROR" {
		t.Errorf("log = %v", l)
	}
}

func TestRecordErrorAttachesCauseOf5xx(t *testing.T) {
	rep := &fakeReporter{}
	o, buf := newTestObs(t, rep)
	recorded := fmt.Errorf("charge: insert ledger row: %w", errors.New("deadlock detected"))
	inv := Invocation{Function: "wallets-charge", Route: "/r", Method: "POST", RequestID: "r1"}
	invoke(o, inv, func(ctx context.Context) (int, error) {
		RecordError(ctx, recorded)
		RecordError(ctx, errors.New("second"))
		return 503, nil
	})
	sent := rep.reports()
	if len(sent) != 1 {
		t.Fatalf("%d reports, want 1", len(sent))
	}
	r := sent[0]
	if r.kind != "error" || r.err != recorded || r.status != 503 {
		t.Errorf("report = %s %v %d", r.kind, r.err, r.status)
	}
	// The report was prepared in RecordError: its stack shows the handler.
	if !strings.Contains(r.stack, "TestRecordErrorAttachesCauseOf5xx") || !strings.Contains(r.stack, "obs.RecordError") {
		t.Errorf("report stack does not show the RecordError call:\n%s", r.stack)
	}
	if rep.errCalls != 1 {
		t.Errorf("%d reports prepared, want 1 (the first recorded error)", rep.errCalls)
	}
	logs, _ := lines(t, buf)
	if l := requestLog(t, logs, "request"); !strings.Contains(l["error"].(string), "deadlock detected") || !strings.Contains(l["error"].(string), "second") || l["status"] != float64(503) {
		t.Errorf("log = %v", l)
	}

	// A bare 5xx without a recorded error is still reported, as a message.
	invoke(o, inv, func(ctx context.Context) (int, error) { return 502, nil })
	if sent := rep.reports(); len(sent) != 2 || sent[1].kind != "message" || sent[1].msg != "POST /r answered 502" || sent[1].status != 502 {
		t.Errorf("reports = %+v", sent)
	}

	// A recorded error behind a 4xx is logged, not reported.
	buf.Reset()
	invoke(o, inv, func(ctx context.Context) (int, error) {
		RecordError(ctx, errors.New("odd but harmless"))
		return 409, nil
	})
	if sent := rep.reports(); len(sent) != 2 {
		t.Errorf("a 4xx was reported: %+v", sent[2:])
	}
	logs, _ = lines(t, buf)
	if l := requestLog(t, logs, "request"); l["error"] != "odd but harmless" || l["level"] != "INFO" {
		t.Errorf("log = %v", l)
	}
}

func TestClientErrorsAndSuccessAreNotReported(t *testing.T) {
	rep := &fakeReporter{}
	o, buf := newTestObs(t, rep)
	for _, status := range []int{404, 201} {
		invoke(o, Invocation{Route: "/r", Method: "GET"}, func(ctx context.Context) (int, error) { return status, nil })
	}
	if sent := rep.reports(); len(sent) != 0 || rep.flushes != 0 {
		t.Fatalf("reports = %v, flushes %d", sent, rep.flushes)
	}
	logs, emf := lines(t, buf)
	if len(logs) != 2 || len(emf) != 2 {
		t.Fatalf("%d logs, %d EMF docs, want 2 and 2", len(logs), len(emf))
	}
	if logs[0]["status"] != float64(404) || logs[0]["level"] != "INFO" || logs[1]["status"] != float64(201) {
		t.Errorf("logs = %v", logs)
	}
	if _, ok := logs[0]["sentry_event_id"]; ok {
		t.Errorf("event id without a report: %v", logs[0])
	}
	// 4xx and 5xx only where they happened: their Sum counts them.
	if emf[0]["4xx"] != float64(1) || emf[0]["5xx"] != nil || emf[1]["4xx"] != nil || emf[1]["5xx"] != nil {
		t.Errorf("emf = %v", emf)
	}
	// No request id from the event source: one is generated, and the
	// Reporter gets it.
	id, _ := logs[0]["request_id"].(string)
	if len(id) != 36 || id == logs[1]["request_id"] {
		t.Errorf("generated request ids %v, %v", logs[0]["request_id"], logs[1]["request_id"])
	}
	if rep.begun[0].RequestID != id || rep.begun[0].Function != "wallets-test" {
		t.Errorf("Reporter.Begin got %+v", rep.begun[0])
	}
	if _, ok := logs[0]["user_id"]; ok {
		t.Errorf("anonymous request logged a user_id: %v", logs[0])
	}
}

func TestNoReporterMeansNoReports(t *testing.T) {
	var buf bytes.Buffer
	o := New(Config{Function: "wallets-test", Output: &buf})
	if o.ReportingEnabled() {
		t.Fatal("reporting enabled without a Reporter")
	}
	invoke(o, Invocation{Route: "/r"}, func(ctx context.Context) (int, error) {
		RecordError(ctx, errors.New("recorded"))
		panic("boom")
	})
	if !o.Flush(time.Second) {
		t.Error("Flush without a Reporter timed out")
	}
	o.Close(time.Second)
	logs, _ := lines(t, &buf)
	l := requestLog(t, logs, "request")
	if l["Function"] != "wallets-test" || l["status"] != float64(500) || l["panic"] != true {
		t.Errorf("log = %v", l)
	}
	if e, _ := l["error"].(string); !strings.Contains(e, "boom") || !strings.Contains(e, "recorded") {
		t.Errorf("log error = %q", e)
	}
	if _, ok := l["sentry_event_id"]; ok {
		t.Errorf("sentry_event_id logged without a Reporter: %v", l)
	}

	rep := &fakeReporter{}
	o = New(Config{Reporter: rep, Output: &buf})
	if !o.ReportingEnabled() {
		t.Error("reporting disabled with a Reporter")
	}
	o.Close(time.Second)
	if !rep.closed {
		t.Error("Close did not close the Reporter")
	}
}

func TestBusinessMetrics(t *testing.T) {
	o, buf := newTestObs(t, nil)
	invoke(o, Invocation{Function: "wallets-deposit", Route: "/r"}, func(ctx context.Context) (int, error) {
		Metric(ctx, MetricAmountMoved, UnitNone, 10.5, nil)
		Metric(ctx, MetricAmountMoved, UnitNone, 2.25, nil)
		Count(ctx, MetricIdempotentReplays, 1)
		Count(ctx, "Movements", 1, "Operation", "deposit", "Outcome", "accepted")
		Metric(ctx, "Amount", UnitCount, 3, map[string]string{"Operation": "deposit"})
		return 200, nil
	})
	// One line: the metrics dimensioned by Function alone join the request
	// metrics' directive; each other dimension set is a directive of its
	// own, its dimension values members of the line.
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines, want 1:\n%s", n, buf)
	}
	logs, emf := lines(t, buf)
	if len(logs) != 1 || len(emf) != 1 || logs[0]["msg"] != "request" {
		t.Fatalf("logs %v, emf %v", logs, emf)
	}
	doc := emf[0]
	dims, metrics := checkEMF(t, doc)
	if fmt.Sprint(dims) != "[Function Operation,Outcome Operation]" {
		t.Errorf("dimension sets %v", dims)
	}
	if doc["Function"] != "wallets-deposit" || doc["Operation"] != "deposit" || doc["Outcome"] != "accepted" {
		t.Errorf("dimension values in %v", doc)
	}
	if fmt.Sprint(doc["AmountMoved"]) != "[10.5 2.25]" || doc["IdempotentReplays"] != float64(1) || doc["Movements"] != float64(1) || doc["Amount"] != float64(3) {
		t.Errorf("values in %v", doc)
	}
	if want := map[string]string{"Requests": "", "Latency": "Milliseconds", "AmountMoved": "", "IdempotentReplays": "", "Movements": "", "Amount": "Count"}; fmt.Sprint(metrics) != fmt.Sprint(want) {
		t.Errorf("metrics %v, want %v", metrics, want)
	}
	aws := doc["_aws"].(map[string]any)
	first := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if fmt.Sprint(first["Dimensions"]) != "[[Function]]" || len(first["Metrics"].([]any)) != 4 {
		t.Errorf("the request directive %v, want Requests, Latency, AmountMoved, IdempotentReplays by Function", first)
	}

	// Outside an invocation: no-ops, no panic.
	ctx := context.Background()
	Count(ctx, MetricLoginFailures, 1)
	Metric(ctx, MetricAmountMoved, UnitNone, 1, nil)
	SetUser(ctx, "1")
	if Logger(ctx) == nil || RequestID(ctx) != "" {
		t.Error("Logger/RequestID outside an invocation")
	}
}

// TestMetricsThatCannotJoinTheLine: a dimension the line already has with
// another value, or a metric or dimension named like one of its fields,
// cannot be a member of the line: such metrics are a document of their own.
func TestMetricsThatCannotJoinTheLine(t *testing.T) {
	o, buf := newTestObs(t, nil)
	invoke(o, Invocation{Function: "f", Route: "/r", Method: "GET", RequestID: "rid"}, func(ctx context.Context) (int, error) {
		Count(ctx, "Moves", 1, "Operation", "deposit")
		Count(ctx, "Moves", 1, "Operation", "charge") // Operation is deposit in the line
		Count(ctx, "Other", 1, "Function", "g")       // Function is f
		Count(ctx, "status", 1)                       // a field of the line
		Count(ctx, "Odd", 1, "method", "POST")        // method is GET
		Count(ctx, "Fine", 1, "method", "GET")        // the same value: joins
		return 200, nil
	})
	_, emf := lines(t, buf)
	if len(emf) != 5 {
		t.Fatalf("%d documents, want the line and 4 apart: %v", len(emf), emf)
	}
	line := requestEMF(t, emf)
	if line["Moves"] != float64(1) || line["Operation"] != "deposit" || line["Fine"] != float64(1) || line["status"] != float64(200) {
		t.Errorf("line %v", line)
	}
	for _, doc := range emf[1:] {
		checkEMF(t, doc)
		if doc["request_id"] != "rid" || doc["msg"] != nil {
			t.Errorf("document apart %v", doc)
		}
	}
	var apart []string
	for _, doc := range emf[1:] {
		for _, k := range []string{"Operation", "Function", "method"} {
			if v, ok := doc[k]; ok {
				apart = append(apart, fmt.Sprint(k, "=", v, " ", doc["Moves"], doc["Other"], doc["status"], doc["Odd"]))
			}
		}
	}
	sort.Strings(apart)
	if want := "[Function=f <nil> <nil> 1 <nil> Function=g <nil> 1 <nil> <nil> Operation=charge 1 <nil> <nil> <nil> method=POST <nil> <nil> <nil> 1]"; fmt.Sprint(apart) != want {
		t.Errorf("documents apart %v, want %v", apart, want)
	}
}

func TestFinishEndsTheInvocation(t *testing.T) {
	rep := &fakeReporter{}
	o, buf := newTestObs(t, rep)
	ctx, span := o.Begin(context.Background(), Invocation{Route: "/r", RequestID: "rid"})
	if RequestID(ctx) != "rid" {
		t.Errorf("RequestID = %q", RequestID(ctx))
	}
	span.Finish(ctx, 204, nil, "request")
	// Too late: neither recorded nor emitted.
	RecordError(ctx, errors.New("late"))
	Count(ctx, MetricLoginFailures, 1)
	span.Finish(ctx, 500, errors.New("again"), "request")
	logs, emf := lines(t, buf)
	if len(logs) != 1 || len(emf) != 1 || logs[0]["status"] != float64(204) {
		t.Errorf("logs = %v, emf = %v", logs, emf)
	}
	if len(rep.reports()) != 0 || rep.errCalls != 0 {
		t.Errorf("reports after Finish: %v", rep.reports())
	}
}

func TestAWSRequestIDFromLambdaContext(t *testing.T) {
	rep := &fakeReporter{}
	o, buf := newTestObs(t, rep)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-1"})
	ctx, span := o.Begin(ctx, Invocation{Route: "/r"})
	span.Finish(ctx, 200, nil, "request", slog.String("effect", "Allow"))
	if rep.begun[0].AWSRequestID != "aws-1" {
		t.Errorf("Reporter.Begin got %+v", rep.begun[0])
	}
	logs, _ := lines(t, buf)
	if logs[0]["aws_request_id"] != "aws-1" || logs[0]["effect"] != "Allow" {
		t.Errorf("log = %v", logs[0])
	}
}

func TestLoggerIsRequestScopedAndRedacts(t *testing.T) {
	rep := &fakeReporter{}
	o, buf := newTestObs(t, rep)
	inv := Invocation{Function: "users-login", Route: "/api/v1/users/login", Method: "POST", RequestID: "rid"}
	invoke(o, inv, func(ctx context.Context) (int, error) {
		Logger(ctx).Info("login attempt", "password", "hunter2", "jwt", "eyJx.eyJy.z", "username", "alice")
		SetUser(ctx, "7")
		Logger(ctx).Info("logged in")
		return 500, nil
	})
	logs, _ := lines(t, buf)
	if len(logs) != 3 {
		t.Fatalf("logs = %v", logs)
	}
	for _, l := range logs {
		if l["request_id"] != "rid" || l["Function"] != "users-login" || l["method"] != "POST" {
			t.Errorf("log line lacks request attributes: %v", l)
		}
	}
	if logs[0]["password"] != "[Filtered]" || logs[0]["jwt"] != "[Filtered]" || logs[0]["username"] != "alice" {
		t.Errorf("not redacted: %v", logs[0])
	}
	if logs[1]["user_id"] != "7" || logs[2]["user_id"] != "7" {
		t.Errorf("SetUser not applied: %v / %v", logs[1], logs[2])
	}
	if sent := rep.reports(); len(sent) != 1 || sent[0].user != "7" {
		t.Errorf("SetUser did not reach the report scope: %+v", sent)
	}
	if strings.Contains(buf.String(), "hunter2") {
		t.Error("password logged")
	}
}

func TestRedactText(t *testing.T) {
	for in, want := range map[string]string{
		"login failed for password=hunter2 with Bearer abc.def": "login failed for password=[Filtered] with Bearer [Filtered]",
		"token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2ln":     "token: [Filtered]",
		`client_secret="s e c"; page=2`:                         `client_secret=[Filtered]; page=2`,
		"nothing to hide":                                       "nothing to hide",
	} {
		if got := RedactText(in); got != want {
			t.Errorf("RedactText(%q) = %q, want %q", in, got, want)
		}
	}
	for key, want := range map[string]bool{"Authorization": true, "X-Api-Key": true, "session_token": true, "Accept": false, "user_id": false} {
		if SensitiveKey(key) != want {
			t.Errorf("SensitiveKey(%q) = %v", key, !want)
		}
	}
}

func TestConcurrentInvocationsShareOneObs(t *testing.T) {
	rep := &fakeReporter{}
	o, buf := newTestObs(t, rep)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("u%d", i)
			invoke(o, Invocation{Route: "/r", RequestID: fmt.Sprintf("r%d", i)}, func(ctx context.Context) (int, error) {
				SetUser(ctx, user)
				Count(ctx, "MoneyMovements", 1, "Operation", "deposit", "Outcome", "accepted")
				Logger(ctx).Info("working")
				if strings.HasSuffix(user, "7") {
					return 0, errors.New("fault " + user)
				}
				return 200, nil
			})
		}()
	}
	wg.Wait()
	logs, emf := lines(t, buf)
	if len(logs) != 2*n || len(emf) != n {
		t.Fatalf("%d logs, %d EMF, want %d and %d", len(logs), len(emf), 2*n, n)
	}
	for _, doc := range emf {
		if doc["Operation"] != "deposit" || doc["MoneyMovements"] != float64(1) {
			t.Errorf("business metrics not in the line: %v", doc)
		}
	}
	for _, l := range logs {
		// Each invocation's lines carry its own ids.
		if want := "u" + strings.TrimPrefix(l["request_id"].(string), "r"); l["user_id"] != want {
			t.Errorf("mixed-up state: %v", l)
		}
	}
	sent := rep.reports() // u7, u17, u27, u37
	if len(sent) != 4 {
		t.Fatalf("%d reports, want 4", len(sent))
	}
	for _, r := range sent {
		if "u"+strings.TrimPrefix(r.inv.RequestID, "r") != r.user || r.err.Error() != "fault "+r.user {
			t.Errorf("report scope mixed up: %+v", r)
		}
	}
}

func TestInitInstallsDefault(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() {
		slog.SetDefault(prev)
		defaultObs.Store(nil)
	})
	if Default() == nil {
		t.Fatal("no Default before Init")
	}
	var buf bytes.Buffer
	rep := &fakeReporter{}
	o := Init(context.Background(), Config{Function: "wallets-balance", Output: &buf, Reporter: rep})
	if Default() != o {
		t.Fatal("Default is not the Obs from Init")
	}
	if !rep.installed {
		t.Error("Init did not install the Reporter")
	}
	// A nil Obs begins with Default.
	var none *Obs
	ctx, span := none.Begin(context.Background(), Invocation{Route: "/r", Method: "GET"})
	slog.InfoContext(ctx, "via slog default")
	span.Finish(ctx, 204, nil, "request")
	logs, emf := lines(t, &buf)
	if len(logs) != 2 || logs[0]["Function"] != "wallets-balance" || logs[1]["Function"] != "wallets-balance" || len(emf) != 1 {
		t.Fatalf("logs = %v, emf = %v", logs, emf)
	}
	if logs[0]["request_id"] == nil || logs[0]["request_id"] != logs[1]["request_id"] || logs[0]["method"] != "GET" {
		t.Errorf("slog default line lacks the request's attributes: %v", logs[0])
	}
	if len(rep.begun) != 1 {
		t.Errorf("Default's Reporter not used: %v", rep.begun)
	}

	// Outside an invocation, RecordError logs with the default logger.
	buf.Reset()
	RecordError(context.Background(), errors.New("password=hunter2 lost"))
	logs, _ = lines(t, &buf)
	if len(logs) != 1 || logs[0]["msg"] != "error outside a request" || logs[0]["error"] != "password=[Filtered] lost" || logs[0]["Function"] != "wallets-balance" {
		t.Errorf("logs = %v", logs)
	}
}

// TestOneLinePerInvocation: an invocation writes one line, which is both
// its log line and its EMF document, and it is short: a deposit's, with
// uuid ids and path, a 6-digit user and its amount, fits in 600 bytes.
func TestOneLinePerInvocation(t *testing.T) {
	o, buf := newTestObs(t, &fakeReporter{})
	lambda := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "2e9f0c53-3b1f-4f4c-a3b5-0d1c9b8e7f60"})
	inv := Invocation{
		Function:  "wallets-deposit",
		Route:     "/api/v1/wallets/customers/wallets/{uuid}/deposit",
		Method:    "PUT",
		Path:      "/api/v1/wallets/customers/wallets/4c1d7a3e-9b2f-4e8a-b6d1-3f5e7a9c2b40/deposit",
		RequestID: "1b0c6f2d-8e4a-4c7b-9d3e-5a1f2b8c4d69",
		UserID:    "123456",
	}
	ctx, span := o.Begin(lambda, inv)
	Metric(ctx, MetricAmountMoved, UnitNone, 1234.56, nil)
	span.Finish(ctx, 200, nil, "request")

	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines, want 1:\n%s", n, buf)
	}
	if n := buf.Len(); n > 600 {
		t.Errorf("the deposit's line is %d bytes, want at most 600:\n%s", n, buf)
	}
	t.Logf("%d bytes: %s", buf.Len(), buf)
	logs, emf := lines(t, buf)
	if len(logs) != 1 || len(emf) != 1 {
		t.Fatalf("logs %v, emf %v", logs, emf)
	}
	l := logs[0]
	for k, want := range map[string]any{"level": "INFO", "msg": "request", "request_id": inv.RequestID, "aws_request_id": "2e9f0c53-3b1f-4f4c-a3b5-0d1c9b8e7f60",
		"Function": inv.Function, "method": "PUT", "path": inv.Path, "user_id": "123456", "status": float64(200), "AmountMoved": 1234.56, "Requests": float64(1)} {
		if l[k] != want {
			t.Errorf("%s = %v, want %v", k, l[k], want)
		}
	}
	if _, ok := l[MetricLatency].(float64); !ok {
		t.Errorf("Latency = %v", l[MetricLatency])
	}
	dims, metrics := checkEMF(t, l)
	if fmt.Sprint(dims) != "[Function]" || len(metrics) != 3 {
		t.Errorf("dims %v, metrics %v", dims, metrics)
	}
}

// TestWarnRidesInTheLine: a problem that does not fail the invocation is a
// warning in its line, which is then at Warn level, not another line.
func TestWarnRidesInTheLine(t *testing.T) {
	rep := &fakeReporter{}
	o, buf := newTestObs(t, rep)
	invoke(o, Invocation{Function: "wallets-deposit", Route: "/r"}, func(ctx context.Context) (int, error) {
		Warn(ctx, "purge expired rows", errors.New("statement timeout (password=hunter2)"))
		Warn(ctx, "second", nil)
		return 200, nil
	})
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d lines, want 1:\n%s", n, buf)
	}
	logs, _ := lines(t, buf)
	l := logs[0]
	if l["level"] != "WARN" || l["warning"] != "purge expired rows: statement timeout (password=[Filtered]); second" || l["error"] != nil {
		t.Errorf("line %v", l)
	}
	if len(rep.reports()) != 0 {
		t.Errorf("a warning was reported: %v", rep.reports())
	}

	// A 5xx stays at Error level.
	buf.Reset()
	invoke(o, Invocation{Route: "/r"}, func(ctx context.Context) (int, error) {
		Warn(ctx, "purge expired rows", errors.New("timeout"))
		return 503, nil
	})
	if logs, _ := lines(t, buf); len(logs) != 1 || logs[0]["level"] != "ERROR" || logs[0]["warning"] != "purge expired rows: timeout" {
		t.Errorf("logs %v", logs)
	}

	// Outside an invocation: a line of its own.
	buf.Reset()
	prev := slog.Default()
	t.Cleanup(func() {
		slog.SetDefault(prev)
		defaultObs.Store(nil)
	})
	Init(context.Background(), Config{Function: "wallets-x", Output: buf})
	Warn(context.Background(), "cleanup", errors.New("gone"))
	if logs, _ := lines(t, buf); len(logs) != 1 || logs[0]["level"] != "WARN" || logs[0]["warning"] != "cleanup: gone" || logs[0]["Function"] != "wallets-x" {
		t.Errorf("logs %v", logs)
	}
}

// The flush at the end of an invocation waits flushTimeout at most, and
// never past the invocation's deadline less flushMargin.
func TestFlushBudget(t *testing.T) {
	now := time.Unix(1e9, 0)
	for _, tc := range []struct {
		name     string
		deadline time.Duration // from now; 0: none
		want     time.Duration
	}{
		{"no deadline", 0, flushTimeout},
		{"far deadline", time.Minute, flushTimeout},
		{"near deadline", time.Second, time.Second - flushMargin},
		{"deadline within the margin", 100 * time.Millisecond, 0},
		{"past deadline", -time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.deadline != 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, now.Add(tc.deadline))
				defer cancel()
			}
			if got := flushBudget(ctx, now); got != tc.want {
				t.Errorf("flushBudget = %v, want %v", got, tc.want)
			}
		})
	}
}
