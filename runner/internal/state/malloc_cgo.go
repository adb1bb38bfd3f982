//go:build cgo && linux && !android

package state

/*
#include <malloc.h>
*/
import "C"

import "sync"

// limitMallocArenas caps glibc malloc's arenas at two, once per process,
// before the first pebble store allocates. With cgo, pebble allocates its
// block cache and memtables with C malloc; glibc gives threads that
// allocate arenas of their own, and the pages of memtables freed in them
// stay resident. In the stateful benchmark with state four times a 128
// MiB budget (bench/RESULTS.md, 2026-12-04) the anonymous memory outside
// the Go runtime, three minutes in, was 34 MiB without the cap, 22 MiB
// with it, and 11 MiB with MALLOC_ARENA_MAX=2 in the environment (which
// also covers allocations made before the store opens).
var limitMallocArenas = sync.OnceFunc(func() { C.mallopt(C.M_ARENA_MAX, 2) })
