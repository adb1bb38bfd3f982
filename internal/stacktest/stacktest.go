// Package stacktest runs test code under a small maximum stack, so that a
// test can show that a walk over a deep, untrusted structure (nested coders,
// composites, chains of transforms) is iterative or bounded: a walk that
// recursed once per level would exceed the limit and crash the test binary.
package stacktest

import (
	"runtime/debug"
	"testing"
)

// Run runs fn on a new goroutine while the process's maximum stack size is
// maxBytes, waits for it to return, and restores the previous limit.
// debug.SetMaxStack is process-wide, so tests that call Run must not run in
// parallel with each other.
func Run(t testing.TB, maxBytes int, fn func()) {
	t.Helper()
	old := debug.SetMaxStack(maxBytes)
	defer debug.SetMaxStack(old)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}
