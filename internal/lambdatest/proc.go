package lambdatest

import (
	"os"
	"strconv"
	"strings"
)

// procStat is what stop needs of /proc/<pid>/stat.
type procStat struct {
	ppid    int
	state   byte
	started uint64 // clock ticks after boot
}

// readStat reads /proc/<pid>/stat; ok is false when there is no such process
// or no /proc (not Linux).
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// pid (comm) state ppid pgrp ... starttime is field 22; comm may hold
	// spaces and parentheses, so fields are counted after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(fields[1])
	started, err2 := strconv.ParseUint(fields[19], 10, 64)
	if err1 != nil || err2 != nil || len(fields[0]) != 1 {
		return procStat{}, false
	}
	return procStat{ppid: ppid, state: fields[0][0], started: started}, true
}

// descendants returns the live descendants of root, pid → start time; empty
// without /proc.
func descendants(root int) map[int]uint64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	stats := map[int]procStat{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok {
			stats[pid] = st
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	found := map[int]uint64{}
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if _, seen := found[c]; !seen && stats[c].state != 'Z' {
				found[c] = stats[c].started
				queue = append(queue, c)
			}
		}
	}
	return found
}

// startTime returns pid's start time, 0 if it is gone.
func startTime(pid int) uint64 {
	st, ok := readStat(pid)
	if !ok {
		return 0
	}
	return st.started
}

// alive reports whether pid is still the process that started at started and
// has not exited (a zombie has).
func alive(pid int, started uint64) bool {
	st, ok := readStat(pid)
	return ok && st.started == started && st.state != 'Z' && st.state != 'X'
}
