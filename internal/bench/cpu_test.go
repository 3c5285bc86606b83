package bench

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// burn spins until this process has used d of CPU by getrusage's count
// (not d of wall time: on a loaded machine a wall-clock burn may get a
// fraction of a core), or fails the test after a minute.
func burn(t *testing.T, d time.Duration) {
	t.Helper()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	x := 0
	start, deadline := cpu(), time.Now().Add(time.Minute)
	for cpu()-start < d {
		if time.Now().After(deadline) {
			t.Fatalf("burnt %s of CPU in a minute, want %s", cpu()-start, d)
		}
		for i := range 100000 {
			x += i
		}
	}
	runtime.KeepAlive(x)
}

// With this process standing in for the postmaster, both counters grow by
// the CPU it burns, and an exited child's CPU is counted too.
func TestSampleCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before := SampleCPU(os.Getpid())
	if !before.OK {
		t.Fatal("SampleCPU: not OK on Linux")
	}
	burn(t, 150*time.Millisecond)
	// A child that burns CPU and exits: its time reaches cutime once waited for.
	if out, err := exec.Command("sh", "-c", `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done`).CombinedOutput(); err != nil {
		t.Fatalf("child: %v %s", err, out)
	}
	used := SampleCPU(os.Getpid()).Sub(before)
	if used.Self < 100*time.Millisecond {
		t.Errorf("Self grew by %s, want ≥ 100ms", used.Self)
	}
	if used.Postgres < used.Self-20*time.Millisecond {
		t.Errorf("cluster time grew by %s, less than this process's %s", used.Postgres, used.Self)
	}
	if SampleCPU(-1).OK {
		t.Error("SampleCPU of no process is OK")
	}
}

func TestCPULine(t *testing.T) {
	got := CPULine("deposit", 1000, CPU{Self: 800 * time.Millisecond, Postgres: 1200 * time.Millisecond, OK: true}, 2)
	for _, want := range []string{"deposit", "2.00 ms = PostgreSQL 1.20 + Go 0.80", "2 cores allow at most 1000 req/s"} {
		if !strings.Contains(got, want) {
			t.Errorf("CPULine = %q, want it to contain %q", got, want)
		}
	}
	if got := CPULine("x", 0, CPU{OK: true}, 2); !strings.Contains(got, "not measured") {
		t.Errorf("CPULine of no requests = %q", got)
	}
}
