// Package harness is the SDK side of Beam's Fn API: the worker that a
// runner (Prism, our portable runner, Flink, Dataflow...) drives over gRPC to
// execute the bundles of a pipeline built with package sdk.
//
// Run connects to the runner's control endpoint and serves its
// instructions:
//
//   - register and process_bundle: ProcessBundleDescriptors are cached
//     (or fetched with GetProcessBundleDescriptor), and each bundle runs on
//     an fnapi/exec Processor built for its descriptor. Processors are
//     reused by later bundles of the same descriptor, one per concurrent
//     bundle, and torn down after a failed bundle and when Run returns.
//   - process_bundle_progress: element counts and the user metrics of the
//     running bundle, as monitoring infos.
//   - process_bundle_split: the running bundle's input channel is split
//     so that the primary keeps about the requested fraction of the
//     remaining elements (the runner's estimate of the input's length,
//     respecting allowed split points); when the split point falls inside
//     the element in progress and that element is a restriction being
//     read (io/source), the restriction is split through its
//     RangeTracker and handed back as primary and residual roots. A
//     split point at or behind the element in progress, or past the
//     end, means no split.
//   - finalize_bundle: acknowledged; the SDK has no finalization callbacks.
//   - monitoring_infos: the metadata behind short ids.
//
// Elements travel on the data plane (one multiplexed stream per data
// endpoint, batched per instruction and transform, closed with is_last).
// Data may arrive before its process_bundle request and waits for it, a
// while and in bounded numbers; data for an instruction that ended (its
// bundle failed before reading it included) or for a transform its
// descriptor does not read is dropped, so that it never stalls the
// stream for later bundles.
// Side inputs are read through the state API with the iterable access
// pattern, following continuation tokens. The harness's own log records go
// to the runner's logging endpoint when one is given. Every call carries
// the worker's id in the worker_id header, and gRPC messages may be as
// large as MaxMessageSize.
//
// # Finding user code
//
// Descriptors carry no code: each transform's payload names the transform
// by its unique name, and the executor finds the code in the graph of
// Options.Pipeline, the pipeline this process built. In LOOPBACK mode that
// is the submitter's own pipeline (see fnapi/workerpool).
//
// # Length prefixes
//
// A runner wraps coders it does not know (rows, this SDK's custom coders)
// in beam:coder:length_prefix:v1 at the data ports and in side input
// collections. The harness recodes elements between the runner's coders
// and this SDK's at those boundaries, so the executor only ever sees its
// own encodings; ports whose coders already agree cost nothing.
//
// User state goes through the state API; timers travel on the data plane of
// the descriptor's timer endpoint, both ways (see timers.go): the runner's
// timers are fired after the bundle's input, and the harness ends every
// timer family's stream before it answers.
//
// # Not yet supported
//
// Elements embedded in control requests. Side inputs are always read with
// the iterable access pattern; the harness never asks for multimap side
// input keys. A runner that sends a key's elements and timers in one
// bundle (Prism) gets the timers fired after all the bundle's elements.
package harness
