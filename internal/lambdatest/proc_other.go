//go:build !unix

package lambdatest

import (
	"os"
	"os/exec"
)

func newProcessGroup(*exec.Cmd) {}

func signalGroup(pid int, kill bool) {
	if kill {
		killProcess(pid)
	}
}

func killProcess(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
