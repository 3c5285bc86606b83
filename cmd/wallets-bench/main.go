// Command wallets-bench is `make bench`: in one sitting on one throwaway
// PostgreSQL it runs pgbench's baselines, seeds the data (1M transactions at
// one business), serves the API in-process on a loopback port exactly as
// `make run` does, drives each workload with vegeta, and prints one table of
// rates, latencies, ratios and targets, with what a million requests cost at
// AWS list prices.
//
// Environment:
//
//	BENCH_SECONDS     length of each pgbench run and each workload (default 10)
//	BENCH_ONLY        run only the workloads whose name contains it
//	BENCH_CPUPROFILE  write a CPU profile of the workloads (this process) there
//
// It exits 0 when it ran (whether or not every target is met; the table
// says), 1 when it could not run.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"wallets/internal/bench"
	"wallets/internal/localpg"
	"wallets/internal/passhash"
	"wallets/internal/postgres/migrate"
	"wallets/migrations"
)

const (
	clients = 16
	// pgbenchThreads is -j (the machine's cores in the sitting).
	pgbenchThreads = 2
	// chargesPerSecond sizes the pending charges of each collect workload:
	// more than a collect workload can take per second here.
	chargesPerSecond = 5000
	listRows         = 1_000_000
	cursorPage       = 200
	// deepPage reads from the middle of the 1M rows (page size 20).
	deepPage = 25_000
	// poolSize is `make run`'s pool (cmd/wallets-local).
	poolSize = 20
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wallets-bench:", err)
		os.Exit(1)
	}
}

func secondsFromEnv() (time.Duration, error) {
	s := os.Getenv("BENCH_SECONDS")
	if s == "" {
		return 10 * time.Second, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("BENCH_SECONDS=%q is not a positive number of seconds", s)
	}
	return time.Duration(n) * time.Second, nil
}

func run(ctx context.Context, out io.Writer) (err error) {
	dur, err := secondsFromEnv()
	if err != nil {
		return err
	}
	started := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%5.1fs] "+format+"\n", append([]any{time.Since(started).Seconds()}, args...)...)
	}

	pg, err := localpg.Start(ctx, localpg.Options{Durable: true})
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	defer func() {
		if serr := pg.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	progress("PostgreSQL at %s", pg.URL)

	baselines, err := runPGBench(ctx, pg, dur, progress)
	if err != nil {
		return err
	}

	dbURL, err := pg.CreateDatabase(ctx, "wallets", "")
	if err != nil {
		return err
	}
	if _, err := migrate.Up(ctx, dbURL, ""); err != nil {
		return err
	}
	seeded, err := seed(ctx, dbURL, dur, progress)
	if err != nil {
		return err
	}

	key := make([]byte, 32)
	rand.Read(key)
	// The API connects as the runtime role, as the functions do.
	stack, err := bench.StartStack(ctx, pg.DatabaseURLAs("wallets", migrations.RuntimeRole), key, poolSize)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := stack.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	progress("API at %s", stack.BaseURL)

	in, err := setUp(ctx, stack, seeded)
	if err != nil {
		return err
	}
	report := bench.Report{Baselines: baselines}
	var costs, cpus []string
	var logs logTotals
	only := os.Getenv("BENCH_ONLY")
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	for _, spec := range bench.Specs(in, clients) {
		if only != "" && !strings.Contains(spec.Name, only) {
			continue
		}
		progress("workload %q, %d client(s), %s", spec.Name, spec.Clients, dur)
		before, cpuBefore := stack.Usage(), bench.SampleCPU(pg.PID())
		st := bench.Attack{Name: spec.Name, BaseURL: stack.BaseURL, Clients: spec.Clients, Duration: dur, Next: spec.Next}.Run(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		used, cpu := stack.Usage().Sub(before), bench.SampleCPU(pg.PID()).Sub(cpuBefore)
		cpus = append(cpus, bench.CPULine(spec.Name, st.Requests, cpu, runtime.NumCPU()))
		report.Workloads = append(report.Workloads, bench.Workload{Stats: st, Checks: spec.Checks})
		fn, authz := used.Invocations[spec.Function], used.Invocations[bench.AuthorizerFunction]
		cost := bench.CostPerMillion(int64(st.Requests), fn, authz, used.LogBytes)
		costs = append(costs, bench.CostLine(spec.Name, cost, fn, authz))
		logs.add(used, int64(st.Requests))
	}
	if only == "" || strings.Contains(bench.Delivery, only) {
		progress("workload %q, 1 client, %s", bench.Delivery, dur)
		cu := in.Seeded.Customers[0]
		st, err := bench.DeliveryLatency(ctx, stack.BaseURL, in.Tokens[cu.Username], cu.Wallet.String(), dur)
		if err != nil {
			return err
		}
		report.Workloads = append(report.Workloads, bench.Workload{Stats: st})
	}
	return printReport(ctx, out, pg, dur, report, costs, cpus, logs)
}

// runPGBench runs the baselines on a database of their own in the cluster.
func runPGBench(ctx context.Context, pg *localpg.Server, dur time.Duration, progress func(string, ...any)) ([]bench.Baseline, error) {
	url, err := pg.CreateDatabase(ctx, "pgbench", "")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wallets-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := bench.PGBench{URL: url, Clients: clients, Threads: pgbenchThreads, Duration: dur, Dir: dir}
	progress("pgbench -i (scale 1)")
	if err := p.Init(ctx); err != nil {
		return nil, err
	}
	var out []bench.Baseline
	for _, b := range []struct{ name, builtin string }{{bench.TPCB, "tpcb-like"}, {bench.SimpleUpdate, "simple-update"}, {bench.HotRow, ""}} {
		progress("%s, %d clients, %s", b.name, clients, dur)
		var tps float64
		if b.builtin != "" {
			tps, err = p.Builtin(ctx, b.builtin)
		} else {
			tps, err = p.Script(ctx, "hot-row", bench.HotRowScript)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, bench.Baseline{Name: b.name, Clients: clients, TPS: tps})
	}
	return out, nil
}

func seed(ctx context.Context, dbURL string, dur time.Duration, progress func(string, ...any)) (bench.Seeded, error) {
	hash, err := passhash.Argon2id{}.Hash(bench.SeedPassword)
	if err != nil {
		return bench.Seeded{}, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return bench.Seeded{}, fmt.Errorf("seed: %w", err)
	}
	defer conn.Close(context.Background())
	plan := bench.Plan{
		Customers: 200, CustomerFunds: 1_000_000, Businesses: 50,
		ListRows: listRows, Charges: chargesPerSecond * int(dur/time.Second),
	}
	progress("seeding: %d customers, %d businesses, %d list rows, 2 × %d pending charges", plan.Customers, plan.Businesses+1, plan.ListRows, plan.Charges)
	return bench.Seed(ctx, conn, plan, hash)
}

// setUp logs the users in and finds the deep cursor.
func setUp(ctx context.Context, stack *bench.Stack, s bench.Seeded) (bench.Inputs, error) {
	const depositWallets = 50
	c := bench.Client{BaseURL: stack.BaseURL, HTTP: &http.Client{Timeout: time.Minute}}
	users := []string{s.Lister.Username}
	for _, b := range s.Businesses {
		users = append(users, b.Username)
	}
	for _, cu := range s.Customers[:depositWallets] {
		users = append(users, cu.Username)
	}
	tokens, err := c.LoginAll(ctx, users)
	if err != nil {
		return bench.Inputs{}, err
	}
	cursor, err := c.DeepCursor(ctx, tokens[s.Lister.Username], cursorPage)
	if err != nil {
		return bench.Inputs{}, err
	}
	return bench.Inputs{
		Seeded: s, Tokens: tokens, DepositWallets: depositWallets,
		CursorQuery: cursor, CursorPage: cursorPage, DeepPage: deepPage,
	}, nil
}

// logTotals is the log output of every workload together.
type logTotals struct {
	requests, accessBytes int64
	invocations           bench.LogOutput
}

func (t *logTotals) add(u bench.Usage, requests int64) {
	t.requests += requests
	t.accessBytes += u.AccessBytes
	t.invocations.Add(u)
}

func printReport(ctx context.Context, out io.Writer, pg *localpg.Server, dur time.Duration, r bench.Report, costs, cpus []string, logs logTotals) error {
	version := "unknown"
	if conn, err := pgx.Connect(ctx, pg.URL); err == nil {
		_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&version)
		conn.Close(ctx)
	}
	fmt.Fprintf(out, "\nWallets `make bench`, %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(out, "machine: %d cores (nproc), %s, %s/%s, %s\n", runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(out, "PostgreSQL %s, throwaway cluster from internal/localpg, on disk, with PostgreSQL's default durability (fsync, full_page_writes, synchronous_commit on)\n", version)
	fmt.Fprintf(out, "each run %s; money workloads %d clients; lists 1 client; HTTP → local gateway → authorizer → handler → PostgreSQL on loopback\n\n", dur, clients)
	if err := r.WriteTable(out); err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, w := range r.Workloads {
		if w.Stats.Non2xx > 0 {
			fmt.Fprintf(out, "WARNING: %s: %d answers neither 2xx nor 5xx (a harness fault: the run is not valid)\n", w.Stats.Name, w.Stats.Non2xx)
		}
	}
	if req := float64(logs.requests); req > 0 {
		fmt.Fprintf(out, "log output (function + authorizer): %.2f lines, %.0f bytes per request; local gateway access log %.0f bytes per request (not priced)\n",
			float64(logs.invocations.FunctionLines+logs.invocations.AuthorizerLines)/req,
			float64(logs.invocations.FunctionBytes+logs.invocations.AuthorizerBytes)/req, float64(logs.accessBytes)/req)
	}
	fmt.Fprintf(out, "cost per million requests at AWS list prices (API Gateway REST $%.2f/M; Lambda arm64 $%.10f/GB-s + $%.2f/M, function and authorizer, billed ms measured in-process; CloudWatch Logs $%.2f/GB):\n",
		bench.APIGatewayPerMillion, bench.LambdaPerGBSecond, bench.LambdaPerMillion, bench.LogsPerGB)
	for _, c := range costs {
		fmt.Fprintln(out, "  "+c)
	}
	fmt.Fprintln(out, "CPU per request, measured (this process's rusage; the PostgreSQL cluster's processes from /proc):")
	for _, c := range cpus {
		fmt.Fprintln(out, "  "+c)
	}
	logLine, logsMet := logs.invocations.Check()
	fmt.Fprintln(out, logLine)
	met := "NO"
	if r.AllMet() && logsMet {
		met = "yes"
	}
	fmt.Fprintf(out, "every target met: %s\n", met)
	return nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "CPU model unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "CPU model unknown"
}

// startCPUProfile writes a CPU profile of the workloads (the process: load
// generator, gateway, authorizer and handlers, not PostgreSQL) to path.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
