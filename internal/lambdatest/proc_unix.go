//go:build unix

package lambdatest

import (
	"os/exec"
	"syscall"
)

// newProcessGroup makes cmd the leader of a new process group, so stop can
// signal it with everything it forks that stays in its group.
func newProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends SIGTERM (or SIGKILL) to the process group pgid.
func signalGroup(pgid int, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pgid, sig)
}

func killProcess(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }
