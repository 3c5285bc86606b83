//go:build !linux

package localpg

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal is Linux-only; elsewhere Stop is the only way down.
func setParentDeathSignal(*exec.Cmd, syscall.Signal) {}
