//go:build linux

package main

import (
	"os"
	"syscall"
)

// stopWithParent asks the kernel to send us SIGTERM when our parent exits,
// so that killing `go run` (the parent under `make run`) alone still shuts
// the server and its PostgreSQL down cleanly instead of orphaning them.
func stopWithParent() {
	ppid := os.Getppid()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		return
	}
	if os.Getppid() != ppid {
		// The parent died before the request took effect.
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}
