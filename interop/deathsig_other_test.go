//go:build !linux

package interop

import "os/exec"

// setDeathSignal does nothing where the kernel cannot kill children with
// their parent; Prism's idle shutdown ends a server left behind.
func setDeathSignal(*exec.Cmd) {}
