package bench

import (
	"fmt"
	"syscall"
	"time"

	"wallets/internal/procstat"
)

// CPU is the processor time used so far by this process (the load
// generator, the local gateway, the authorizer and the handlers) and by a
// PostgreSQL cluster (the postmaster and every backend and auxiliary process,
// the exited ones included). OK is false where it cannot be read (no /proc).
type CPU struct {
	Self, Postgres time.Duration
	OK             bool
}

// SampleCPU reads CPU now, with postmaster the cluster's postmaster pid.
func SampleCPU(postmaster int) CPU {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return CPU{}
	}
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	pg, ok := clusterTicks(postmaster)
	if !ok {
		return CPU{}
	}
	return CPU{Self: self, Postgres: time.Duration(pg) * time.Second / procstat.TicksPerSecond, OK: true}
}

// Sub is what was used between an earlier sample and c.
func (c CPU) Sub(earlier CPU) CPU {
	return CPU{Self: c.Self - earlier.Self, Postgres: c.Postgres - earlier.Postgres, OK: c.OK && earlier.OK}
}

// clusterTicks is the CPU time, in clock ticks, of the postmaster, of its
// children that have exited (its cutime and cstime) and of the live ones.
func clusterTicks(postmaster int) (int64, bool) {
	all, _ := procstat.All()
	st, ok := all[postmaster]
	if !ok {
		return 0, false
	}
	total := st.UTime + st.STime + st.CUTime + st.CSTime
	for _, c := range all {
		if c.PPID == postmaster {
			total += c.UTime + c.STime
		}
	}
	return total, true
}

// CPULine renders what one workload's requests cost in CPU, this process
// and PostgreSQL apart, and the rate that CPU would allow on cores cores.
func CPULine(name string, requests int, used CPU, cores int) string {
	if !used.OK || requests == 0 {
		return fmt.Sprintf("%-26s (not measured)", name)
	}
	per := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(requests) }
	self, pg := per(used.Self), per(used.Postgres)
	return fmt.Sprintf("%-26s %.2f ms = PostgreSQL %.2f + Go %.2f (load generator, gateway, authorizer, handler); %d cores allow at most %.0f req/s",
		name, self+pg, pg, self, cores, float64(cores)*1000/(self+pg))
}
