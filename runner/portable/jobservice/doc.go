// Package jobservice serves Beam's JobService and ArtifactStagingService
// over gRPC and runs each submitted job on the portable runner
// (runner/portable) with SDK workers from the submitter's external worker
// pool, as the Beam SDKs start them in LOOPBACK mode.
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
