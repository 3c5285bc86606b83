// Package bench is the machinery of `make bench` (cmd/wallets-bench): a
// throwaway PostgreSQL, pgbench baselines on it, seed data, the API served
// in-process exactly as `make run` serves it, vegeta load against it, and
// the report — one table of rates, latencies, ratios and targets, and what a
// million requests cost at AWS list prices.
//
// This file holds the report's pure computations (ratios, targets, costs,
// formatting), which the unit tests cover without running a benchmark.
package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Stats is what one workload measured.
type Stats struct {
	Name      string
	Clients   int
	Requests  int
	Rate      float64 // requests per second
	P50, P99  time.Duration
	Status5xx int
	// Non2xx counts answers that were neither 2xx nor 5xx (a harness fault:
	// the workloads send only valid requests).
	Non2xx int
}

// Baseline is a pgbench run's throughput.
type Baseline struct {
	Name    string
	Clients int
	TPS     float64
}

// Kind is what a Check compares.
type Kind int

// The kinds of checks.
const (
	// AtLeastRatio: Stats.Rate / reference rate ≥ Limit.
	AtLeastRatio Kind = iota
	// InfoRatio: Stats.Rate / reference rate, shown without a target.
	InfoRatio
	// MaxP99: Stats.P99 ≤ Limit milliseconds.
	MaxP99
	// No5xx: Stats.Status5xx == 0.
	No5xx
	// LatencyMultiple: Stats.P50 / reference workload's P50, shown without a
	// target (what a deep page costs against the first).
	LatencyMultiple
)

// Check is one target (or one informational ratio) of a workload.
type Check struct {
	Kind Kind
	// Reference names the workload or baseline a ratio is taken against.
	Reference string
	Limit     float64
}

// Workload is a measured workload with its checks.
type Workload struct {
	Stats  Stats
	Checks []Check
}

// Outcome is a Check evaluated.
type Outcome struct {
	Check Check
	// Ratio is the measured ratio (ratio kinds), NaN when the reference is
	// missing or zero.
	Ratio float64
	// Met is whether the target is met; Info outcomes have no target.
	Met  bool
	Info bool
}

// Target renders the check's target, e.g. "≥ 0.60× pgbench tpcb-like".
func (c Check) Target() string {
	switch c.Kind {
	case AtLeastRatio:
		return fmt.Sprintf("≥ %.2f× %s", c.Limit, c.Reference)
	case MaxP99:
		return fmt.Sprintf("p99 ≤ %g ms", c.Limit)
	case No5xx:
		return "no 5xx"
	default:
		return "—"
	}
}

// Evaluate evaluates c on s, with the rates and latencies of the other
// workloads and baselines (by name) for ratio kinds.
func Evaluate(c Check, s Stats, rates map[string]float64, p50s map[string]time.Duration) Outcome {
	o := Outcome{Check: c, Ratio: math.NaN()}
	switch c.Kind {
	case AtLeastRatio, InfoRatio:
		o.Ratio = Ratio(s.Rate, rates[c.Reference])
		o.Info = c.Kind == InfoRatio
		o.Met = !math.IsNaN(o.Ratio) && o.Ratio >= c.Limit
	case LatencyMultiple:
		o.Ratio = Ratio(float64(s.P50), float64(p50s[c.Reference]))
		o.Info = true
	case MaxP99:
		o.Met = s.Requests > 0 && ms(s.P99) <= c.Limit
	case No5xx:
		o.Met = s.Requests > 0 && s.Status5xx == 0
	}
	return o
}

// Ratio is a/b, NaN when b is not positive.
func Ratio(a, b float64) float64 {
	if b <= 0 || math.IsNaN(b) {
		return math.NaN()
	}
	return a / b
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Report is everything the table shows.
type Report struct {
	Baselines []Baseline
	Workloads []Workload
}

// Outcomes evaluates every check of every workload, in order.
func (r Report) Outcomes() [][]Outcome {
	rates := map[string]float64{}
	p50s := map[string]time.Duration{}
	for _, b := range r.Baselines {
		rates[b.Name] = b.TPS
	}
	for _, w := range r.Workloads {
		rates[w.Stats.Name] = w.Stats.Rate
		p50s[w.Stats.Name] = w.Stats.P50
	}
	out := make([][]Outcome, len(r.Workloads))
	for i, w := range r.Workloads {
		for _, c := range w.Checks {
			out[i] = append(out[i], Evaluate(c, w.Stats, rates, p50s))
		}
	}
	return out
}

// AllMet reports whether every target (not the informational ratios) is met.
func (r Report) AllMet() bool {
	for _, os := range r.Outcomes() {
		for _, o := range os {
			if !o.Info && !o.Met {
				return false
			}
		}
	}
	return true
}

// WriteTable prints the one table: the baselines first, then each workload
// with its first check on its row and further checks on rows below it.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tclients\treq/s\tp50\tp99\t5xx\tratio vs reference\ttarget\tmet?")
	for _, b := range r.Baselines {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t\t\t\t(baseline, TPS)\t\t\n", b.Name, b.Clients, b.TPS)
	}
	for i, os := range r.Outcomes() {
		s := r.Workloads[i].Stats
		head := fmt.Sprintf("%s\t%d\t%.0f\t%s\t%s\t%d", s.Name, s.Clients, s.Rate, fmtMS(s.P50), fmtMS(s.P99), s.Status5xx)
		if len(os) == 0 {
			fmt.Fprintf(tw, "%s\t\t\t\n", head)
		}
		for j, o := range os {
			if j > 0 {
				head = "\t\t\t\t\t"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", head, fmtRatio(o), o.Check.Target(), fmtMet(o))
		}
	}
	return tw.Flush()
}

func fmtMS(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", ms(d))
	default:
		return fmt.Sprintf("%.1f ms", ms(d))
	}
}

func fmtRatio(o Outcome) string {
	switch o.Check.Kind {
	case AtLeastRatio, InfoRatio:
		if math.IsNaN(o.Ratio) {
			return "n/a vs " + o.Check.Reference
		}
		return fmt.Sprintf("%.2f× %s", o.Ratio, o.Check.Reference)
	case LatencyMultiple:
		if math.IsNaN(o.Ratio) {
			return "n/a"
		}
		return fmt.Sprintf("p50 %.1f× %s", o.Ratio, o.Check.Reference)
	default:
		return ""
	}
}

func fmtMet(o Outcome) string {
	switch {
	case o.Info:
		return "(info)"
	case o.Met:
		return "yes"
	default:
		return "NO"
	}
}

// AWS list prices (us-east-1, as of the 2026 price pages).
const (
	// APIGatewayPerMillion is REST API requests, first 333 M a month.
	APIGatewayPerMillion = 3.50
	// LambdaPerGBSecond is Lambda arm64 duration.
	LambdaPerGBSecond = 0.0000133334
	// LambdaPerMillion is Lambda requests.
	LambdaPerMillion = 0.20
	// LogsPerGB is CloudWatch Logs ingestion (standard class).
	LogsPerGB = 0.50
)

// Invocations is what one function's invocations measured: how many, and
// their billed duration (each rounded up to the millisecond, as Lambda bills).
type Invocations struct {
	MemoryMB int
	Count    int64
	BilledMS int64
}

// MeanBilledMS is the mean billed duration of one invocation.
func (v Invocations) MeanBilledMS() float64 {
	if v.Count == 0 {
		return 0
	}
	return float64(v.BilledMS) / float64(v.Count)
}

// Cost is the price of one million requests of a workload, by part.
type Cost struct {
	APIGateway, Function, Authorizer, Logs float64
	// LogBytes is the measured log output per request.
	LogBytes float64
}

// Total is the sum of the parts.
func (c Cost) Total() float64 { return c.APIGateway + c.Function + c.Authorizer + c.Logs }

// CostPerMillion prices a million requests like the measured ones: the API
// Gateway request, the function and the authorizer invocations (GB-seconds
// at their memory and measured billed duration, plus the request charge)
// scaled to one per request, and the CloudWatch Logs ingestion of logBytes
// bytes over requests.
func CostPerMillion(requests int64, fn, authz Invocations, logBytes int64) Cost {
	if requests <= 0 {
		return Cost{}
	}
	perReq := func(v Invocations) float64 {
		if v.Count == 0 {
			return 0
		}
		gbSeconds := float64(v.MemoryMB) / 1024 * v.MeanBilledMS() / 1000
		calls := float64(v.Count) / float64(requests)
		return calls * (gbSeconds*LambdaPerGBSecond + LambdaPerMillion/1e6) * 1e6
	}
	bytesPerReq := float64(logBytes) / float64(requests)
	return Cost{
		APIGateway: APIGatewayPerMillion,
		Function:   perReq(fn),
		Authorizer: perReq(authz),
		Logs:       bytesPerReq * 1e6 / 1e9 * LogsPerGB,
		LogBytes:   bytesPerReq,
	}
}

// CostLine renders c for a workload on one line.
func CostLine(name string, c Cost, fn, authz Invocations) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-26s $%.2f/M = API Gateway $%.2f + function $%.2f (%d MB × %.1f ms) + authorizer $%.2f (%d MB × %.1f ms) + logs $%.2f (%.0f B/req)",
		name, c.Total(), c.APIGateway, c.Function, fn.MemoryMB, fn.MeanBilledMS(),
		c.Authorizer, authz.MemoryMB, authz.MeanBilledMS(), c.Logs, c.LogBytes)
	return b.String()
}
