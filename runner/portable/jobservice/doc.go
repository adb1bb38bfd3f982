// Package jobservice serves Beam's JobService and ArtifactStagingService
// over gRPC and runs each submitted job on the portable runner's
// proto-level core (runner/portable/fnrunner), which links no user SDK or
// worker code, with the SDK workers its environment names:
//
//   - beam:env:external:v1 (LOOPBACK or EXTERNAL): workers from the
//     BeamFnExternalWorkerPool at the payload's endpoint, started with
//     StartWorker and stopped with StopWorker when the job ends
//     (fnrunner.External): the submitter's own pool, as the Beam SDKs
//     serve one in LOOPBACK mode, or a standing pool such as a program of
//     this SDK in worker-pool mode (fnapi/worker), which serves many jobs;
//   - beam:env:process:v1 (PROCESS): the environment's command, started as
//     Prism starts it — with its variables added to this server's
//     environment and the arguments --id=<worker id> and
//     --provision_endpoint=<endpoint> — one process per worker; the
//     workers' output goes to Options.WorkerOutput, and when the job ends
//     each process is stopped by its pid and reaped.
//
// A job's environments must all be the same one. Docker and other
// environments are refused when the job is prepared.
//
// A job's pipeline is validated (proto/validate) and planned when it is
// prepared, so a malformed pipeline (unknown URN, dangling reference,
// coders nested too deeply) is refused with codes.InvalidArgument before
// anything runs. Artifacts are staged through the reverse retrieval
// protocol into a per-job directory; a staged name that is absolute or
// climbs out of that directory is refused with codes.InvalidArgument. A
// job's messages and state changes are kept for its lifetime and replayed
// to every stream that asks; a failed job's error text is sent as a
// JOB_MESSAGE_ERROR message before its FAILED state, which is what Beam's
// submitters wait for.
//
// # Security
//
// Any client of a job server can make it run code, so the defaults keep
// it to this machine and to code the operator chose:
//
//   - PROCESS environments are refused unless Options.AllowProcess lists
//     the commands (files or directories, symbolic links resolved) they
//     may run; variables that make a command load other code (LD_PRELOAD
//     and the like) are refused too. The refusal names the option.
//   - EXTERNAL worker pools must be on loopback unless
//     Options.AllowExternal lists their hosts (or AllowAnyHost), and be a
//     plain host:port, not a gRPC target with a scheme.
//   - Start refuses an address that is not loopback (an
//     *InsecureAddressError) unless Options.AuthToken is set. With a
//     token, every call to every service needs gRPC metadata
//     "authorization: Bearer <token>" (compared in constant time);
//     without it a call fails with codes.Unauthenticated before its
//     request is read. runner/universal sends it (Options.AuthToken).
//   - Run needs the staging session token Prepare returned as its
//     retrieval token, and artifact staging needs it in its first
//     message; an empty or wrong token is refused with
//     codes.PermissionDenied. A job stages once, before it runs.
//   - GetPipeline replaces the values of PROCESS environment variables
//     and EXTERNAL parameters with Redacted.
//
// Server.Summary, logged at start, states the address, whether calls need
// the token and which workers jobs may use.
//
// # Resources
//
// A gRPC message is at most Options.MaxMessageSize (DefaultMaxMessageSize,
// 64 MiB). A prepared job not run within Options.PreparedTTL is cancelled
// (its followers get a message saying it expired) and forgotten, and the
// pipelines of prepared jobs not yet run hold at most
// Options.MaxPreparedBytes: past it Prepare fails with
// codes.ResourceExhausted. Finished jobs are kept for GetState,
// GetPipeline and GetJobMetrics up to Options.FinishedTTL,
// MaxFinishedJobs and MaxFinishedBytes, newest first. When large jobs are
// forgotten the freed memory is returned to the operating system at once.
// The server's memory is therefore about its baseline plus twice (Go's
// garbage collector's headroom) the pipelines it holds and the messages
// in flight: 20 Prepares of 50 MiB pipelines in a row, against a server
// with PreparedTTL 400ms and MaxPreparedBytes 128 MiB, raise its RSS by
// at most 640 MiB at the peak (about 450-500 MiB measured) and by at
// most 96 MiB once they have expired (3 MiB measured), as
// TestLargePreparesLeaveTheServersRSSBounded checks.
//
// Staged artifacts live under Options.StagingDir, in a directory of the
// server's own that it holds a lock on (flock) while it runs. A job's
// directory is removed when the job ends or is forgotten, the server's in
// Stop, and at Start the directories whose lock is free, left by servers
// that died, are removed.
//
// # Checkpoints and restarts
//
// A submission makes its job durable with the pipeline option
// checkpoint_dir (OptionCheckpointDir; with checkpoint_interval and
// checkpoint_fresh), sent as "beam:option:checkpoint_dir:v1" (Beam
// Python, runner/universal) or under "options" (Beam Go);
// DescribePipelineOptions lists them. The server takes it only with
// Options.CheckpointRoot, for a directory strictly inside the root (a
// relative one is taken from it): ".." anywhere in it, a path elsewhere
// or a symbolic link out of the root is refused with
// codes.InvalidArgument when the job is prepared, and a second running
// job on the same directory with codes.FailedPrecondition when it is run.
//
// # Restarts
//
// With Options.JobsDir, which a server holds locked, each checkpointed
// job that runs has a record there: its pipeline and checkpoint options,
// written atomically when it starts and removed when it ends. Start runs
// the recorded jobs again, under their ids, from their newest snapshots,
// after checking each again against the server's options as Prepare
// would; a job they no longer allow ends FAILED saying why. Stop
// suspends recorded jobs rather than cancelling them, so that they too
// run again at the next start. PROCESS workers are started again; an
// EXTERNAL or LOOPBACK job's worker pool is called at the same address
// for up to Options.RestartPoolWait (a LOOPBACK pool is its submitter,
// which must still run). A job killed while it drained runs again
// undrained.
//
// # Concurrency
//
// A Server is safe for concurrent use; jobs run concurrently, each on
// goroutines of its own.
package jobservice
