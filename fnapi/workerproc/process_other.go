//go:build !linux

package workerproc

import "os/exec"

// setDeathSignal does nothing where the kernel cannot kill a child with
// its parent; Stop still ends workers of a runner that exits normally.
func setDeathSignal(*exec.Cmd) {}
