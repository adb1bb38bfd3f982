//go:build !unix

package keyed

// CPUSeconds returns 0: the process's CPU time is read on Unix only.
func CPUSeconds() float64 { return 0 }
