// Package prefetch asks the processor to start loading memory into its
// caches ahead of use, without waiting for it: a pipeline that knows which
// memory its later steps read (the state of an element a few places
// ahead) has the cache misses of several under way at once, while it works
// on the current one. A plain load does the same only until the
// processor's window of instructions in flight fills up behind it, since
// the load cannot complete before its data arrives; a prefetch completes
// at once.
//
// On amd64 and arm64 Line is the processor's prefetch instruction (one
// call, a few nanoseconds); elsewhere it does nothing. It never faults: an
// address that is not mapped is ignored. Whether it helps is a matter of
// measurement, as with any hint.
package prefetch
