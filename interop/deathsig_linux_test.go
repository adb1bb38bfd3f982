package interop

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the child when the test process
// dies, so that an interrupted run leaves no Prism behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
