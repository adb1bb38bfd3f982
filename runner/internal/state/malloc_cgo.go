//go:build cgo && linux && !android

package state

/*
#include <malloc.h>
*/
import "C"

import "sync"

// tuneMalloc caps glibc malloc's arenas at two and fixes its mmap
// threshold at 256 KiB, once per process, before the first pebble store
// allocates. With cgo, pebble allocates its block cache and memtables with
// C malloc. glibc gives threads that allocate arenas of their own, and the
// pages of memtables freed in them stay resident: in the stateful
// benchmark with state four times a 128 MiB budget (bench/RESULTS.md,
// 2026-12-04) the anonymous memory outside the Go runtime, three minutes
// in, was 34 MiB without the cap, 22 MiB with it. And glibc raises its
// mmap threshold to the size of every mmapped block freed, so that after
// the first 4 MiB memtable is freed the next ones come from an arena and
// their pages stay there too; a fixed threshold keeps memtables mmapped,
// returned to the system when freed (the same run's peak with the
// threshold fixed through the environment: 141 MiB, against 156 MiB).
var tuneMalloc = sync.OnceFunc(func() {
	C.mallopt(C.M_ARENA_MAX, 2)
	C.mallopt(C.M_MMAP_THRESHOLD, 256<<10)
})
