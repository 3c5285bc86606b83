// Package procstat reads a process's line of /proc/<pid>/stat (Linux).
package procstat

import (
	"os"
	"strconv"
	"strings"
)

// Stat is what the callers need of /proc/<pid>/stat. The times are in clock
// ticks (USER_HZ, 100 on every Linux architecture Go supports).
type Stat struct {
	State byte // R, S, D, Z, X, …
	PPID  int
	// UTime and STime are the process's own CPU time, user and system;
	// CUTime and CSTime its waited-for children's.
	UTime, STime, CUTime, CSTime int64
	// Started is the start time, in clock ticks after boot.
	Started uint64
}

// TicksPerSecond is USER_HZ, the unit of Stat's times.
const TicksPerSecond = 100

// Read reads /proc/<pid>/stat; ok is false when there is no such process
// or no /proc (not Linux).
func Read(pid int) (Stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, false
	}
	// pid (comm) state ppid pgrp … utime stime cutime cstime … starttime:
	// fields 3, 4, 14–17 and 22; comm may hold spaces and parentheses, so
	// fields are counted after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, false
	}
	var n [5]int64
	for k, idx := range []int{1, 11, 12, 13, 14} {
		v, err := strconv.ParseInt(f[idx], 10, 64)
		if err != nil {
			return Stat{}, false
		}
		n[k] = v
	}
	started, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Stat{}, false
	}
	return Stat{State: f[0][0], PPID: int(n[0]), UTime: n[1], STime: n[2], CUTime: n[3], CSTime: n[4], Started: started}, true
}

// All reads every process's Stat, by pid; ok is false without /proc.
// Processes that exit while it reads are left out.
func All() (map[int]Stat, bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	all := make(map[int]Stat, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := Read(pid); ok {
			all[pid] = st
		}
	}
	return all, true
}
