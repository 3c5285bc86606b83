package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// HotRowScript is the one-row hot update baseline's pgbench script.
const HotRowScript = "UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1;\n"

// PGBench runs the system pgbench against one database.
type PGBench struct {
	// URL is the database, postgres://user@host:port/db.
	URL string
	// Clients and Threads are -c and -j.
	Clients, Threads int
	// Duration is -T (whole seconds, at least 1).
	Duration time.Duration
	// Dir holds the custom scripts.
	Dir string
}

// Init runs pgbench -i at scale 1.
func (p PGBench) Init(ctx context.Context) error {
	args, err := p.connArgs()
	if err != nil {
		return err
	}
	_, err = runPGBench(ctx, append([]string{"-i", "-q", "-s", "1"}, args...))
	return err
}

// Builtin runs a built-in script (tpcb-like, simple-update) and returns its TPS.
func (p PGBench) Builtin(ctx context.Context, name string) (float64, error) {
	return p.run(ctx, "-b", name)
}

// Script runs a custom script and returns its TPS.
func (p PGBench) Script(ctx context.Context, name, script string) (float64, error) {
	file := filepath.Join(p.Dir, name+".sql")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		return 0, fmt.Errorf("pgbench script: %w", err)
	}
	return p.run(ctx, "-f", file)
}

func (p PGBench) run(ctx context.Context, args ...string) (float64, error) {
	conn, err := p.connArgs()
	if err != nil {
		return 0, err
	}
	secs := max(1, int(p.Duration/time.Second))
	args = append(args, "-c", strconv.Itoa(p.Clients), "-j", strconv.Itoa(p.Threads), "-T", strconv.Itoa(secs))
	out, err := runPGBench(ctx, append(args, conn...))
	if err != nil {
		return 0, err
	}
	return ParseTPS(out)
}

// connArgs turns the URL into pgbench's -h -p -U and database name.
func (p PGBench) connArgs() ([]string, error) {
	u, err := url.Parse(p.URL)
	if err != nil {
		return nil, fmt.Errorf("pgbench: database URL: %w", err)
	}
	db := u.Path
	if len(db) > 0 && db[0] == '/' {
		db = db[1:]
	}
	return []string{"-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username(), db}, nil
}

func runPGBench(ctx context.Context, args []string) (string, error) {
	cmd := exec.CommandContext(ctx, "pgbench", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pgbench %v: %w\n%s", args, err, out.String())
	}
	return out.String(), nil
}

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)

// ParseTPS reads the TPS of pgbench's summary (the figure without the
// initial connection time).
func ParseTPS(out string) (float64, error) {
	m := tpsLine.FindStringSubmatch(out)
	if m == nil {
		return 0, errors.New("pgbench: no tps line in its output:\n" + out)
	}
	tps, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("pgbench: tps %q: %w", m[1], err)
	}
	return tps, nil
}
