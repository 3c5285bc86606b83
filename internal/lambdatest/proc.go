package lambdatest

import "wallets/internal/procstat"

// descendants returns the live descendants of root, pid → start time; empty
// without /proc.
func descendants(root int) map[int]uint64 {
	stats, ok := procstat.All()
	if !ok {
		return nil
	}
	children := map[int][]int{}
	for pid, st := range stats {
		children[st.PPID] = append(children[st.PPID], pid)
	}
	found := map[int]uint64{}
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if _, seen := found[c]; !seen && stats[c].State != 'Z' {
				found[c] = stats[c].Started
				queue = append(queue, c)
			}
		}
	}
	return found
}

// startTime returns pid's start time, 0 if it is gone.
func startTime(pid int) uint64 {
	st, ok := procstat.Read(pid)
	if !ok {
		return 0
	}
	return st.Started
}

// alive reports whether pid is still the process that started at started and
// has not exited (a zombie has).
func alive(pid int, started uint64) bool {
	st, ok := procstat.Read(pid)
	return ok && st.Started == started && st.State != 'Z' && st.State != 'X'
}
