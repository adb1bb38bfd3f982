// Package reduce is the runner-side GroupByKey of the streaming engine:
// Beam's ReduceFnRunner for all keys of one GroupByKey. It buffers values per
// key and window, runs the trigger state machines, holds the output
// watermark, computes pane timestamps with the timestamp combiner and
// PaneInfo, drops late data past the allowed lateness and data for closed
// windows, honours the closing and on-time behaviours, and merges session
// windows together with their trigger state.
//
// The package is proto-free and clock-free: the engine passes the stage's
// input and output watermarks and the processing-time clock with every call
// (Times), so the same inputs always give the same panes. Keys and values
// are opaque encoded bytes; keys compare bytewise (the key coder is
// deterministic).
//
// # Semantics
//
// The normative source is Java's runners-core (ReduceFnRunner, WatermarkHold,
// PaneInfoTracker, the trigger state machines), as summarised in the
// project's streaming reference (sections 1.2 and 2). Choices where peers
// differ:
//   - event time is strict: the end of window w has passed when IW >
//     w.MaxTimestamp(); a window is droppable when maxTs+L < IW;
//   - processing time fires at now >= target;
//   - over non-merging windows a trigger is evaluated after every element,
//     so a pane's contents do not depend on how the runner cut its input
//     into bundles. The model also allows one evaluation per input batch
//     (Java's ReduceFnRunner), where several elements may land in one pane;
//     Prism evaluates per element and Beam Go's trigger tests count on it.
//     Over merging windows a trigger is evaluated once per key+window per
//     input batch (Add), after the batch's windows are merged;
//   - the EOW and GC timers of one window fire as one unit, so a watermark
//     jump past GC time yields one final pane marked last;
//   - Advance fires event-time timers before processing-time timers;
//   - every window gets an end-of-window timer, whatever its trigger (the
//     reference's algorithm; Java sets one only for watermark triggers), so
//     the output watermark is held at the end of every window until the
//     input watermark passes it and Advance has run.
//
// Continuation triggers (the trigger a downstream GroupByKey inherits) are
// not computed here: they belong to the planner.
//
// # Holds
//
// Hold reports the minimum output-watermark hold: element holds (at the
// combiner's timestamp, only when not behind OW and before the end of the
// window), GC holds (for a pane of data too late for an element hold, and
// for the final pane EMIT_ALWAYS promises) and the pending EOW and GC
// timers, which hold OW at their firing time as Beam's timers do, so that
// OW cannot pass the end of a window before its ON_TIME pane. The
// engine computes OW = min(IW, Hold(), its other holds) and passes it in
// Times.Output; for Advance it must compute it with the new IW before the
// call (holds are released only by the panes the call emits), or an
// on-time pane would be described as LATE.
//
// # Calls
//
// Add buffers a batch and fires what the batch makes ready; it fires no
// timers. Advance fires timers: call it whenever the input watermark passes
// NextEventTime or the clock reaches NextProcessingTime. Calling Advance
// more often is harmless.
//
// # Memory
//
// A streaming GroupByKey holds many small key+windows (a sliding window per
// key every period), so their state holds no pointers for the collector to
// follow: window states live in one slab and are named by their index
// there, their values are linked chunks of several values in pages of an
// arena, and timer entries name windows by index and creation number (a
// queue per kind of timer: a sorted run for those that arrive in order, a
// heap for the others). A map from key bytes to a dense key number (short
// keys held in its slots) and each key's list of its newest windows, by
// hash and index, find an element's state; an open-addressing table from
// key number and window to window number holds the windows the lists have
// no room for. A window's state is 128 bytes, two cache lines, and a hold
// its pending event timer covers gets no timer entry of its own.
// Panes alias the arena's pages, which are never rewritten, only dropped
// once nothing lives in them. With SpillTo, Spill writes the arena's pages
// to a file once they pass a limit, and a pane's values on spilled pages
// are read back from it (spill.go); the rest of the state stays in memory.
//
// # Concurrency
//
// A Reducer is not safe for concurrent use; the engine serialises the calls
// for one GroupByKey (or shards keys over several Reducers). Strategies,
// triggers, elements and panes are plain values.
package reduce
