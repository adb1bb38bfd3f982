//go:build !unix

package main

import "os"

// maxRSSKiB returns 0: this system has no rusage; the programs' own VmHWM
// (Linux only) is not available either.
func maxRSSKiB(*os.ProcessState) int64 { return 0 }
