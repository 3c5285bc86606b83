package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on every
// Linux architecture Go supports).
const userHZ = 100

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
	return CPU{Self: self, Postgres: time.Duration(pg) * time.Second / userHZ, OK: true}
}

// Sub is what was used between an earlier sample and c.
func (c CPU) Sub(earlier CPU) CPU {
	return CPU{Self: c.Self - earlier.Self, Postgres: c.Postgres - earlier.Postgres, OK: c.OK && earlier.OK}
}

// clusterTicks is the CPU time, in clock ticks, of the postmaster, of its
// children that have exited (its cutime and cstime) and of the live ones.
func clusterTicks(postmaster int) (int64, bool) {
	st, ok := readCPUStat(postmaster)
	if !ok {
		return 0, false
	}
	total := st.self + st.children
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		if c, ok := readCPUStat(pid); ok && c.ppid == postmaster {
			total += c.self
		}
	}
	return total, true
}

type cpuStat struct {
	ppid           int
	self, children int64 // utime+stime; cutime+cstime
}

// readCPUStat reads pid's parent and CPU times from /proc/<pid>/stat.
func readCPUStat(pid int) (cpuStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return cpuStat{}, false
	}
	// pid (comm) state ppid ... utime stime cutime cstime are fields 14–17;
	// comm may hold spaces and parentheses, so count after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return cpuStat{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return cpuStat{}, false
	}
	var n [5]int64
	for k, idx := range []int{1, 11, 12, 13, 14} {
		v, err := strconv.ParseInt(f[idx], 10, 64)
		if err != nil {
			return cpuStat{}, false
		}
		n[k] = v
	}
	return cpuStat{ppid: int(n[0]), self: n[1] + n[2], children: n[3] + n[4]}, true
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
