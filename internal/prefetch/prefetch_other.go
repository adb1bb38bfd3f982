//go:build !amd64 && !arm64

package prefetch

import "unsafe"

// Line asks for the cache line that holds the byte at p to be loaded into
// all levels of the cache; on this architecture it does nothing.
func Line(p unsafe.Pointer) {}
