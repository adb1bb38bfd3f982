// Package webui serves a web UI and a JSON API for the jobs of a runner:
// a job list; per job, the fused plan drawn as a graph (stages, their
// transforms, edges with element counts), per-stage input and output
// watermarks, backlog (pending elements and bytes), throughput, bundles
// running, retried and failed, spills, user metrics, the job's log and its
// error, with the log entries of the job's SDK workers; cancel and drain
// buttons for running jobs whose runner offers them; and Prometheus-format
// metrics. The page is a thin client of the JSON API: a few embedded
// static files, no build step, no external scripts. A job's page follows
// the job's server-sent events (an update a second while it runs, and at
// each state change), and polls the API once a second where EventSource
// fails or with ?poll in its URL.
//
// The job server (cmd/jobserver, runner/portable/jobservice) serves it on
// a port of its own; the local runner serves it when given a Server
// (local.Options.UI, or --ui for programs that run through launch).
//
// # Endpoints
//
//	GET  /                          the job list page
//	GET  /jobs/{id}                 a job's page
//	GET  /api/jobs                  [JobSummary]: every job, newest first
//	GET  /api/jobs/{id}             JobSummary: state, times, totals, error
//	GET  /api/jobs/{id}/plan        Plan: stages with their transforms, edges with counts
//	GET  /api/jobs/{id}/plan.svg    the plan drawn as an SVG graph
//	GET  /api/jobs/{id}/stages      [StageView]: watermarks, backlog, bundles, throughput
//	GET  /api/jobs/{id}/metrics     [MetricView]: user counters, distributions, gauges, string sets, bounded tries
//	GET  /api/jobs/{id}/logs        [LogEntry]: the job's messages, oldest first
//	                                (?after=N: those numbered above N)
//	GET  /api/jobs/{id}/events      server-sent events: "update" (Update: the job,
//	                                stages, metrics, new messages, plan SVG), "end"
//	POST /api/jobs/{id}/cancel      cancels a running job (202), or 409 if it cannot be
//	POST /api/jobs/{id}/drain       drains a running job (202): it ends DRAINED, or 409
//	GET  /metrics                   every job's counters in Prometheus text format
//
// A job that does not exist is a 404 with a JSON body {"error": ...}.
// Watermarks are given as milliseconds since the epoch and as text
// ("-inf" and "+inf" at the ends of time).
//
// # Security
//
// The UI listens on loopback only (Start refuses other addresses) and
// refuses, with 403, requests whose Origin or Host is not loopback unless
// Options.AllowedOrigins names it, so that a web page in the user's
// browser cannot read job state or cancel jobs (DNS rebinding included).
// POST requests must carry the header X-Beamgo-UI: 1, which a cross-site
// form cannot set.
//
// # Drain and logs
//
// Draining (JobInfo.Drain; Track wires it to the engine's drain) stops
// unbounded reads at their next checkpoint, advances every watermark to
// the end of time so that windows fire their final panes, and ends the
// job DRAINED with its result; the job is DRAINING meanwhile. A job keeps
// its latest MaxLogEntries messages, each cut at MaxLogText bytes: the
// runner's (Job.Log, Job.Logf) and its SDK workers' (Job.WorkerLog, from
// the Fn API's logging service).
//
// # Retention
//
// Finished jobs are kept for Options.FinishedTTL, at most
// Options.MaxFinishedJobs of them; a job server removes the jobs it
// forgets (Server.Remove) on top of that.
//
// # Concurrency
//
// A Server and its Jobs are safe for concurrent use.
package webui
