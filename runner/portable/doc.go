// Package portable is the runner whose stages execute in SDK harnesses over
// Beam's Fn API. It plans a pipeline proto with the same planner as the
// local runner (runner/internal/plan) and schedules, shuffles and retries
// with the same engine (runner/internal/engine); only where a bundle runs
// differs: each bundle goes to one of the job's SDK workers through the
// runner-side Fn API servers of fnapi/service, its input on the data
// plane, its side inputs through the state API, and its user metrics back
// as monitoring infos.
//
// That proto-level part is runner/portable/fnrunner, which the job server
// uses on its own; this package adds what an sdk.Pipeline needs: its
// translation to protos, LOOPBACK workers on our harness (fnapi/harness),
// and Run serving the pipeline in worker processes (fnapi/worker).
//
// Workers are started by a WorkerStarter given the control endpoint. Run
// starts them as Options.EnvironmentType says: LOOPBACK (the default) in
// this process (our harness, fnapi/harness, on goroutines, finding user
// code in the pipeline being run); PROCESS, as processes of this program
// started again in worker mode (Process, fnapi/worker), which rebuild the
// pipeline from the program's arguments; or EXTERNAL, by calling
// StartWorker on the BeamFnExternalWorkerPool at Options.ExternalEndpoint
// (External), and StopWorker when the job ends. RunPipeline takes any
// starter, such as External for a submitter's LOOPBACK pool, or Process
// with another command.
//
// In a worker process Run never runs the job: it serves the pipeline as
// the worker's harness and exits the process when the runner stops it, so
// a program that calls Run needs nothing else to have PROCESS workers.
// Worker processes are stopped by their pid when the job ends, and reaped.
// Likewise, in a process started in worker-pool mode (BEAMGO_WORKER_POOL,
// see fnapi/worker), Run serves a worker pool for the pipeline until
// SIGTERM or SIGINT, which is how this program provides the EXTERNAL
// workers of its own submissions: start it once as a pool, then submit
// with the same arguments.
//
// A failed bundle is retried (Options.MaxAttempts); a worker that dies
// mid-bundle, its process killed included, has its bundle retried on
// another live worker, and is replaced by a new worker, up to
// Options.MaxWorkerRestarts per job. The runner asks running bundles for
// their progress; a retry of a bundle whose worker died runs the elements
// from the one last reported in progress each as a bundle of its own, so
// that an element that kills every worker it reaches fails the job with a
// WorkerDiedError naming it and the transform that reads it. A worker
// process that exits before it connects fails the job at once.
//
// # State and timers
//
// User state of every kind and timers (event and processing time, timer
// families, holds, clears, OnWindowExpiration) work as on the local
// runner: the engine keeps them, the state API serves the state, and
// timers travel on the Fn API's data plane both ways (see fnrunner). A
// bundle fires at most one timer per key, so what its callback sets is
// honoured by the next bundle; a key whose elements are in a bundle fires
// its timers in a later one.
//
// # Not yet supported
//
// Ordered-list state of other SDKs (Beam Go appends a varint timestamp and
// the value, which the runner cannot split yet). Side inputs of every kind,
// dynamic splitting of running bundles and progress reports work, as they
// do on the local runner.
package portable
