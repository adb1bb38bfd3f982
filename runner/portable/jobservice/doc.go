// Package jobservice serves Beam's JobService and ArtifactStagingService
// over gRPC and runs each submitted job on the portable runner
// (runner/portable) with the SDK workers its environment names:
//
//   - beam:env:external:v1 (LOOPBACK or EXTERNAL): workers from the
//     BeamFnExternalWorkerPool at the payload's endpoint, started with
//     StartWorker and stopped with StopWorker when the job ends
//     (portable.External): the submitter's own pool, as the Beam SDKs
//     serve one in LOOPBACK mode, or a standing pool such as a program of
//     this SDK in worker-pool mode (fnapi/worker), which serves many jobs;
//   - beam:env:process:v1 (PROCESS): the environment's command, started as
//     Prism starts it — with its variables added to this server's
//     environment and the arguments --id=<worker id> and
//     --provision_endpoint=<endpoint> — one process per worker; the
//     workers' output goes to Options.WorkerOutput, and when the job ends
//     each process is stopped by its pid and reaped. A PROCESS job runs the
//     command it names as the server's user on the server's machine:
//     Options.RefuseProcess turns such jobs away, which a server reachable
//     from other machines wants.
//
// A job's environments must all be the same one. Docker and other
// environments are refused when the job is prepared.
//
// A job's pipeline is validated (proto/validate) and planned when it is
// prepared, so a malformed pipeline (unknown URN, dangling reference) is
// refused with codes.InvalidArgument before anything runs. Artifacts are
// staged through the reverse retrieval protocol into a per-job directory;
// a staged name that is absolute or climbs out of that directory is
// refused with codes.InvalidArgument. A job's messages and state changes
// are kept for its lifetime and replayed to every stream that asks; a
// failed job's error text is sent as a JOB_MESSAGE_ERROR message before
// its FAILED state, which is what Beam's submitters wait for.
package jobservice
