// Package universal submits pipelines to any Beam JobService — Prism,
// Flink, Spark, Dataflow job servers, or this project's own — and runs
// their user code with this SDK's harness. It is the runner Beam users know
// as --runner=universal.
//
// # Submission
//
// Run translates the pipeline (proto/translate) with an environment for
// the workers, then follows Beam's job protocol:
//
//  1. Prepare, which returns a preparation id, an artifact staging
//     endpoint and a staging token;
//  2. artifact staging over ArtifactStagingService's reverse retrieval
//     stream: the job server asks for the environment's artifacts and the
//     runner sends them (the only one is an empty placeholder, as Beam's
//     Go SDK stages: workers need no files);
//  3. Run, then GetMessageStream until the job reaches a terminal state.
//     A failed job's error is the text of its JOB_MESSAGE_ERROR message;
//  4. GetJobMetrics, whose user counters, distributions and gauges become
//     the runner.Result.
//
// If ctx ends first, the job is canceled with the JobService's Cancel.
//
// A job server that needs an authentication token (this project's, when
// it listens beyond loopback) gets Options.AuthToken as gRPC metadata
// "authorization: Bearer <token>" with every call, artifact staging
// included.
//
// # Checkpoints
//
// With Options.CheckpointDir the job is durable: the directory, with
// CheckpointInterval and CheckpointFresh, is sent as the pipeline options
// checkpoint_dir, checkpoint_interval and checkpoint_fresh, which this
// project's job server takes under its --checkpoint_root. If the
// connection to the job server breaks while Run follows the job, Run
// waits up to Options.Reconnect (DefaultReconnect for checkpointed jobs)
// for the server to answer for the job again, as a job server started
// again with its --jobs_dir does, and follows it to its end.
//
// # Environments
//
// LOOPBACK (the default) runs the workers in this process: Run starts a
// worker pool (fnapi/workerpool) on 127.0.0.1 and declares it with a
// beam:env:external:v1 environment, and the job server asks the pool to
// start harnesses that find user code in the submitted *sdk.Pipeline. The
// job server must be able to reach 127.0.0.1, so it runs on this machine.
//
// PROCESS declares a beam:env:process:v1 environment whose command is this
// program (os.Executable) and whose environment variables put it in worker
// mode with Options.WorkerArgs (fnapi/worker). The job server starts it
// with --id and --provision_endpoint; it rebuilds the pipeline from its
// arguments, and Run, called again in the worker, serves the pipeline
// instead of submitting it, then exits the process. No worker pool runs in
// the submitting process. The job server must run on this machine (the
// command is a local path) and reach its workers' connections.
//
// EXTERNAL declares a beam:env:external:v1 environment whose endpoint is
// Options.ExternalEndpoint (Beam's --environment_config), a worker pool
// that is already running: the job server asks it to start and stop the
// job's workers, and no pool runs in the submitting process. A program of
// this SDK is such a pool when started in worker-pool mode
// (BEAMGO_WORKER_POOL=host:port, see fnapi/worker) with the submitter's
// arguments: Run then serves the pool instead of submitting, until SIGTERM
// or SIGINT. The job server must reach the pool, and the pool the job
// server.
//
// # Concurrency
//
// A Runner is safe for concurrent use; each Run is a separate job with its
// own worker pool (LOOPBACK) or workers (PROCESS, EXTERNAL).
package universal
