// Package sdk is how users build Beam-style pipelines in Go: typed
// PCollections, PTransforms, DoFns with a lifecycle, grouping, combining,
// side inputs, windowing and metrics. A pipeline built here is a Beam
// Runner API pipeline (see proto/translate), so it runs on this project's
// runners and on Beam runners.
//
//	p := sdk.NewPipeline()
//	s := p.Root()
//	lines := sdk.Create(s, []string{"a b", "b c"})
//	words := sdk.FlatMap(s, func(line string, emit func(string)) {
//		for _, w := range strings.Fields(line) {
//			emit(w)
//		}
//	}, lines)
//	counts := sdk.CountElements(s, words) // PCollection[sdk.KV[string, int64]]
//
// # Types
//
// Element types are Go type parameters: a transform given a collection of
// the wrong type does not compile. Coders are inferred from the types
// (package coder); a type without a coder, or a GroupByKey key type whose
// coder is not deterministic, is a construction error.
//
// # Errors
//
// Construction never panics on user mistakes. A transform that cannot be
// built records an error naming the transform and the caller's file:line on
// the Pipeline, and returns an invalid collection; Pipeline.Err, and every
// runner's Run, return all recorded errors, each a *ConstructionError to
// match with errors.As. User code that fails at run time (an error
// returned, a panic) is a *UserError naming the transform and the element.
//
// # Writing transforms
//
// A transform is a function of a Scope and collections, built from the
// transforms here (package io's are). What it needs beyond them is public:
// Scope.Fail and Scope.Errorf record its construction errors with its
// caller's file:line, PCollection.WindowFn tells the windowing of an
// input, MarkUnbounded declares a source's output unbounded,
// RegisterSplittable lets the runner split a running element's work
// (a source read), BundleContext gives I/O a context that outlives one
// call, and TransformName names the running transform.
//
// # How user code reaches a worker
//
// No registration is needed, closures included. A pipeline's user code —
// DoFns, functions given to Map and friends, CombineFns, Create's values —
// stays in the Pipeline value that built it; the protos carry, for each
// transform, its unique name and a description of its function (Go type and,
// for struct DoFns, the JSON of the exported fields). Workers find the code
// again by unique name:
//
//   - The local runner and LOOPBACK workers run in the process that built
//     the pipeline, so they hold it already.
//   - A PROCESS worker is the user's own binary started again with the same
//     arguments in worker mode: main builds the same pipeline, and
//     launch.Run serves the Fn API instead of executing. The worker compares each
//     transform's unique name and function description with the submitted
//     protos and fails, naming the transform, if they differ — as they
//     would if construction depended on time, randomness or anything not
//     given on the command line. The description holds a digest of the
//     encoded values of each Create and the JSON of the exported fields
//     of each struct DoFn and CombineFn.
//
// What the worker cannot compare is the user's responsibility: the values
// a closure (a function given to Map, Filter, ...) captures, and the
// unexported fields of a struct DoFn. Compute them from the program's
// arguments only, or make them exported fields of a struct DoFn.
//
// So the rule is: build the pipeline deterministically from the program's
// arguments. Each worker thread gets its own copy of a DoFn (a shallow copy
// of the struct a pointer points to), so state set in Setup or StartBundle is
// per instance.
//
// # No global shared state
//
// User code shares nothing with the program that submitted it, nor with
// other copies of itself, except through the pipeline: a pointer a DoFn
// holds, a package variable it sets, a channel it sends on, all work on
// the local runner and with LOOPBACK workers, which share the submitter's
// memory, and silently do nothing useful with PROCESS or EXTERNAL workers,
// where each worker process has its own copy (and a worker pool shares its
// copy among the jobs it serves). Bundles are also retried, so a side
// effect may happen more than once. So:
//
//   - Results go where the runner carries them: into the output of a
//     transform (a file or table written by a sink such as textio.Write or
//     a ForEach), into metrics (Counter, Distribution, Gauge; the runner's
//     Result has those of committed bundles), into Collect, which brings a
//     collection back to the submitter through a directory both reach, or
//     into an assertion that fails the job (testutil/passert).
//   - Configuration travels as the exported fields of a DoFn struct, or the
//     values a closure captures at construction: both are rebuilt by the
//     worker from the program's arguments.
//   - State that a DoFn needs across elements lives on its instance (set
//     in Setup or StartBundle), never in a package variable.
//
// The runner conformance suite (runner/runnertest) checks its pipelines
// this way, so it runs with PROCESS workers as it does in process.
//
// # Windows
//
// Every element has an event timestamp and windows. Create and Impulse put
// elements in the global window; WithTimestamps sets timestamps and
// WindowInto assigns Fixed, Sliding or Sessions windows. GroupByKey and
// Combine then work per window; session windows merge per key.
//
// # Streams: triggers, panes and TestStream
//
// A collection is unbounded when it may never end: a TestStream's outputs,
// a source marked with MarkUnbounded, and everything computed from them
// (IsBounded). Its groups are emitted in panes, as the windowing strategy
// that WindowInto's options set says: Triggering with a Trigger
// (AfterWatermark with early and late firings, AfterCount,
// AfterProcessingTime, Repeatedly, AfterAny, ...), Accumulating or
// Discarding, AllowedLateness, TimestampCombiner, ClosingBehavior and
// OnTimeBehavior, with Beam Java's defaults. As in Beam, GroupByKey and the
// combines refuse at construction an unbounded collection in the global
// window with the default trigger (nothing would ever be emitted) and
// triggers that may drop data (unless AllowUnsafeTriggers). A DoFn reads
// its element's pane with PaneOf. NewTestStream scripts an unbounded input
// (elements, watermark and processing-time advances) to test all this
// deterministically. Deduplicate and DeduplicatePerKey drop the repeats of
// an element (or a key) within a bound of event or processing time as
// elements arrive, with no window to wait for.
//
// # Connecting streams and joins
//
// Connect and CoParDo bring keyed collections of different types into one
// stateful DoFn that shares state and timers between them (Flink's
// connect); IntervalJoin and its left, right and full outer forms join
// two streams within a time bound, evicting what can no longer match with
// event-time timers; AsOfJoin enriches events with the version of a keyed
// value current at each event's time (see connect.go, intervaljoin.go and
// asofjoin.go).
package sdk
