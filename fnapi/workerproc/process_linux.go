package workerproc

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the worker when the process that
// started it dies, so that a crashed runner leaves no workers behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
