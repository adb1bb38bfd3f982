//go:build !(cgo && linux && !android)

package state

// tuneMalloc does nothing: without cgo pebble allocates in the Go heap,
// and other C libraries than glibc are left alone.
func tuneMalloc() {}
