// Package state is the runner's store of user state and timers for keyed
// (stateful) stages: every state kind of the Fn API, timers with their
// output-watermark holds, window expiry, bundle atomicity and snapshots,
// over an in-memory backend or a pebble LSM for state larger than memory.
//
// Like runner/internal/reduce it is proto-free and clock-free: the engine
// passes the watermarks and the processing clock (Times) to every call that
// depends on them, and keys, values and map keys are opaque encoded bytes
// compared bytewise (the key coder is deterministic).
//
// # State
//
// A Cell is (transform, state id, user key, window). Bag cells (Append,
// Read, Clear) also serve value state (Value, SetValue: a bag cleared
// before each write, as on the Fn API) and combining state (a bag of
// accumulators the SDK compacts). Multimap cells (Put, Get, Remove, Keys,
// Clear) serve map, set and multimap state. Ordered-list cells (AddAt,
// ReadRange, ClearRange, Clear) keep values ascending by timestamp, equal
// timestamps in insertion order. Reads return a Page at a time with a
// continuation token, as the Fn API state service pages them.
//
// # Bundles
//
// All work goes through a Bundle (Store.Begin): an overlay over the
// committed state that reads its own writes and commits atomically
// (Commit) or leaves no trace (Discard). Bundles open at the same time must
// touch disjoint user keys; the engine guarantees it by running one bundle
// per key at a time, and Options.CheckKeys checks it.
//
// # Timers
//
// A timer's identity is (transform, family, tag, key, window): SetTimer
// replaces the pending timer of that identity, ClearTimer deletes it, both
// immediately visible in the bundle. Event-time timers are eligible when
// the input watermark is past them (IW > fire time), processing-time
// timers when the clock reaches them (clock >= fire time) unless their
// window expired. The engine finds keys with eligible timers (DueKeys) and
// drains each key in a bundle with PopTimer, which re-reads the key's
// timers after every callback, so timers set, reset or cleared by a
// callback are honoured in order (reference §3.4). Hold is the minimum
// output timestamp over pending timers; NextTime tells the engine when to
// look again.
//
// # Window expiry
//
// A window's state and timers are garbage once IW passes its maximum
// timestamp plus the allowed lateness (GCTime). Expired lists the expired
// (key, window)s that hold state or timers, for OnWindowExpiration; Drop
// (in the OnWindowExpiration bundle) or DropExpired deletes them and
// releases their holds. The engine fires the eligible event-time timers
// for an input watermark before it expires windows, so a timer at the end
// of a window still sees the window's state.
//
// # Backends
//
// Both backends hold one ordered byte-keyed space (keys.go). The memory
// backend, and every bundle's overlay, partition it by user key: a key's
// state, timers and timer index in three small sorted runs, held together
// and found by one map lookup of the key, and only the global indexes the
// engine scans across keys (due times, holds, windows) in one ordered
// list, so that the work of a bundle on a key, and its commit, cost one
// map lookup and a search among that key's few entries. The pebble
// backend keeps it in an LSM under a temporary directory, with its block
// cache and memtables sized from Options.MemoryBudget, for state many
// times larger than memory.
//
// # Snapshots
//
// Export writes every entry of one commit boundary in a backend-neutral
// format, in key order; Import loads it into an empty store of either
// backend as a stream, building the backend's structures directly from
// the sorted entries: the memory backend's partitions and indexes in
// large slabs (memload.go), the pebble backend's as SSTables it ingests
// (pebbleload.go).
//
// # Concurrency
//
// A Store is safe for concurrent use under the disjoint-keys contract; a
// Bundle is not safe for concurrent use.
package state
