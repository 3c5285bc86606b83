package localpg

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel send sig to the child when its parent
// dies.
func setParentDeathSignal(cmd *exec.Cmd, sig syscall.Signal) {
	cmd.SysProcAttr.Pdeathsig = sig
}
