package bench

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestEvaluate(t *testing.T) {
	rates := map[string]float64{TPCB: 1000, DepositSpread: 0}
	p50s := map[string]time.Duration{PageOne: 2 * time.Millisecond}
	s := Stats{Name: CollectOne, Requests: 100, Rate: 600, P50: 8 * time.Millisecond, P99: 20 * time.Millisecond}
	cases := []struct {
		name  string
		check Check
		stats Stats
		ratio float64 // NaN: none
		met   bool
		info  bool
	}{
		{"ratio met at the limit", Check{Kind: AtLeastRatio, Reference: TPCB, Limit: 0.6}, s, 0.6, true, false},
		{"ratio missed", Check{Kind: AtLeastRatio, Reference: TPCB, Limit: 0.8}, s, 0.6, false, false},
		{"zero reference is not met", Check{Kind: AtLeastRatio, Reference: DepositSpread, Limit: 0.8}, s, math.NaN(), false, false},
		{"missing reference is not met", Check{Kind: AtLeastRatio, Reference: "nothing", Limit: 0.1}, s, math.NaN(), false, false},
		{"info ratio", Check{Kind: InfoRatio, Reference: TPCB}, s, 0.6, true, true},
		{"p99 at the limit", Check{Kind: MaxP99, Limit: 20}, s, math.NaN(), true, false},
		{"p99 over", Check{Kind: MaxP99, Limit: 5}, s, math.NaN(), false, false},
		{"p99 of no requests", Check{Kind: MaxP99, Limit: 20}, Stats{}, math.NaN(), false, false},
		{"no 5xx", Check{Kind: No5xx}, s, math.NaN(), true, false},
		{"a 5xx", Check{Kind: No5xx}, Stats{Requests: 10, Status5xx: 1}, math.NaN(), false, false},
		{"latency multiple", Check{Kind: LatencyMultiple, Reference: PageOne}, s, 4, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Evaluate(c.check, c.stats, rates, p50s)
			if math.IsNaN(c.ratio) != math.IsNaN(o.Ratio) || (!math.IsNaN(c.ratio) && math.Abs(o.Ratio-c.ratio) > 1e-9) {
				t.Errorf("ratio %v, want %v", o.Ratio, c.ratio)
			}
			if o.Met != c.met || o.Info != c.info {
				t.Errorf("met %v info %v, want %v %v", o.Met, o.Info, c.met, c.info)
			}
		})
	}
}

func TestReportTableAndAllMet(t *testing.T) {
	r := Report{
		Baselines: []Baseline{{Name: TPCB, Clients: 16, TPS: 1000}},
		Workloads: []Workload{
			{Stats: Stats{Name: CollectSpread, Clients: 16, Requests: 10, Rate: 700, P50: 3 * time.Millisecond, P99: 12 * time.Millisecond},
				Checks: []Check{{Kind: MaxP99, Limit: 20}}},
			{Stats: Stats{Name: CollectOne, Clients: 16, Requests: 10, Rate: 650, P50: 3 * time.Millisecond, P99: 15 * time.Millisecond},
				Checks: []Check{{Kind: AtLeastRatio, Reference: TPCB, Limit: 0.6}, {Kind: AtLeastRatio, Reference: CollectSpread, Limit: 0.8}, {Kind: No5xx}}},
		},
	}
	if !r.AllMet() {
		t.Fatalf("AllMet false; outcomes %+v", r.Outcomes())
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	table := b.String()
	for _, want := range []string{"pgbench tpcb-like", "0.65× pgbench tpcb-like", "0.93× collect, 50 businesses", "≥ 0.60× pgbench tpcb-like", "15.0 ms", "3.00 ms"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if got := strings.Count(table, "\n"); got != 1+1+1+3 {
		t.Errorf("table has %d lines, want 6 (header, baseline, one row, two continuation rows):\n%s", got, table)
	}

	r.Workloads[1].Stats.Status5xx = 1
	if r.AllMet() {
		t.Error("AllMet true with a 5xx")
	}
	r.Workloads[1].Stats.Status5xx = 0
	r.Workloads[1].Checks = append(r.Workloads[1].Checks, Check{Kind: InfoRatio, Reference: "absent"})
	if !r.AllMet() {
		t.Error("an informational ratio counted as a target")
	}
}

func TestCostPerMillion(t *testing.T) {
	// 1,000 requests, each one function call of 256 MB billed 10 ms and one
	// authorizer call of 256 MB billed 2 ms, and 600 bytes of logs each.
	fn := Invocations{MemoryMB: 256, Count: 1000, BilledMS: 10_000}
	authz := Invocations{MemoryMB: 256, Count: 1000, BilledMS: 2_000}
	c := CostPerMillion(1000, fn, authz, 600_000)
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %.10f, want %.10f", name, got, want)
		}
	}
	near("API Gateway", c.APIGateway, 3.50)
	near("function", c.Function, 0.25*0.010*LambdaPerGBSecond*1e6+0.20)
	near("authorizer", c.Authorizer, 0.25*0.002*LambdaPerGBSecond*1e6+0.20)
	near("logs", c.Logs, 600e6/1e9*0.50)
	near("bytes", c.LogBytes, 600)
	near("total", c.Total(), c.APIGateway+c.Function+c.Authorizer+c.Logs)

	// An authorizer answered from API Gateway's cache half the time costs half.
	half := CostPerMillion(1000, fn, Invocations{MemoryMB: 256, Count: 500, BilledMS: 1_000}, 0)
	near("cached authorizer", half.Authorizer, c.Authorizer/2)
	if z := CostPerMillion(0, fn, authz, 1); z.Total() != 0 {
		t.Errorf("no requests cost %v", z.Total())
	}
}

func TestMeterBillsWholeMilliseconds(t *testing.T) {
	var m meter
	m.observe(100 * time.Microsecond)
	m.observe(time.Millisecond)
	m.observe(1001 * time.Microsecond)
	if m.count.Load() != 3 || m.billedMS.Load() != 1+1+2 {
		t.Errorf("count %d billed %d, want 3 and 4", m.count.Load(), m.billedMS.Load())
	}
}

func TestParseTPS(t *testing.T) {
	out := "latency average = 2.780 ms\ninitial connection time = 10.2 ms\ntps = 5756.123456 (without initial connection time)\n"
	tps, err := ParseTPS(out)
	if err != nil || tps != 5756.123456 {
		t.Errorf("ParseTPS = %v, %v", tps, err)
	}
	if _, err := ParseTPS("pgbench: error"); err == nil {
		t.Error("ParseTPS of no summary succeeded")
	}
}

func TestReportCells(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name               string
		outcome            Outcome
		ratio, target, met string
	}{
		{"ratio met", Outcome{Check: Check{Kind: AtLeastRatio, Reference: TPCB, Limit: 0.6}, Ratio: 0.75, Met: true}, "0.75× " + TPCB, "≥ 0.60× " + TPCB, "yes"},
		{"ratio without a reference", Outcome{Check: Check{Kind: AtLeastRatio, Reference: TPCB, Limit: 0.6}, Ratio: nan}, "n/a vs " + TPCB, "≥ 0.60× " + TPCB, "NO"},
		{"informational ratio", Outcome{Check: Check{Kind: InfoRatio, Reference: HotRow}, Ratio: 1.5, Met: true, Info: true}, "1.50× " + HotRow, "—", "(info)"},
		{"latency multiple", Outcome{Check: Check{Kind: LatencyMultiple, Reference: PageOne}, Ratio: 3.25, Info: true}, "p50 3.2× " + PageOne, "—", "(info)"},
		{"latency multiple without a reference", Outcome{Check: Check{Kind: LatencyMultiple, Reference: PageOne}, Ratio: nan, Info: true}, "n/a", "—", "(info)"},
		{"p99 missed", Outcome{Check: Check{Kind: MaxP99, Limit: 20}, Ratio: nan}, "", "p99 ≤ 20 ms", "NO"},
		{"no 5xx met", Outcome{Check: Check{Kind: No5xx}, Ratio: nan, Met: true}, "", "no 5xx", "yes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fmtRatio(c.outcome); got != c.ratio {
				t.Errorf("ratio cell %q, want %q", got, c.ratio)
			}
			if got := c.outcome.Check.Target(); got != c.target {
				t.Errorf("target cell %q, want %q", got, c.target)
			}
			if got := fmtMet(c.outcome); got != c.met {
				t.Errorf("met cell %q, want %q", got, c.met)
			}
		})
	}
	for d, want := range map[time.Duration]string{0: "—", -time.Second: "—", 2500 * time.Microsecond: "2.50 ms", 12340 * time.Microsecond: "12.3 ms"} {
		if got := fmtMS(d); got != want {
			t.Errorf("fmtMS(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestReportRowOfAWorkloadWithoutChecks(t *testing.T) {
	var b strings.Builder
	r := Report{Workloads: []Workload{{Stats: Stats{Name: UsersMe, Clients: 4, Rate: 900, P50: 0, P99: 40 * time.Millisecond}}}}
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], UsersMe) || !strings.Contains(lines[1], "40.0 ms") || !strings.Contains(lines[1], "—") {
		t.Errorf("table:\n%s\nwant the header and one row for %q with its p99 and no p50", b.String(), UsersMe)
	}
}

func TestCostLine(t *testing.T) {
	fn := Invocations{MemoryMB: 256, Count: 4, BilledMS: 10}
	authz := Invocations{MemoryMB: 128}
	c := Cost{APIGateway: 3.5, Function: 0.21, Authorizer: 0, Logs: 0.3, LogBytes: 600}
	got := CostLine(DepositHot, c, fn, authz)
	want := "deposit, one wallet        $4.01/M = API Gateway $3.50 + function $0.21 (256 MB × 2.5 ms) + authorizer $0.00 (128 MB × 0.0 ms) + logs $0.30 (600 B/req)"
	if got != want {
		t.Errorf("CostLine =\n%q\nwant\n%q", got, want)
	}
}
