// Command jobserver serves Beam's JobService and artifact staging on
// ADDRESS:PORT (default 127.0.0.1:8099) and runs the submitted jobs on the
// portable runner. It stops on SIGINT or SIGTERM.
//
// Workers come from the job's environment: LOOPBACK jobs bring their own
// (the submitter's external worker pool), EXTERNAL jobs name a worker pool
// that is already running, which the server asks to start and stop the
// job's workers, and for PROCESS jobs the server starts the environment's
// command, as Prism does, with --id and --provision_endpoint; their output
// goes to the server's stderr.
//
// # Security
//
// A PROCESS job runs the command it names as the server's user, so PROCESS
// jobs are refused unless --allow_process lists the commands (files, or
// directories holding them) they may run. EXTERNAL jobs may name worker
// pools on loopback only, unless --allow_external lists other hosts (or
// is "any"). To listen beyond loopback (--address=0.0.0.0) the server
// needs an authentication token, read from the file --auth_token_file
// names or from the BEAMGO_JOBSERVER_TOKEN environment variable (never a
// flag, which other users see in the process list); it refuses to start
// without one. Every call must then carry "authorization: Bearer <token>"
// (runner/universal's Options.AuthToken; wordcount's --auth_token_file).
// The token travels in clear text: beyond a trusted network, put the
// server behind a TLS proxy.
//
// # Web UI
//
// The server shows its jobs on a web UI at http://127.0.0.1:8098/ (--ui_port;
// --ui=false turns it off): the job list, and per job its fused plan,
// watermarks, backlog, throughput, bundles, metrics, messages and error,
// with a cancel button; the same data as JSON under /api/ and in
// Prometheus format at /metrics (runner/webui). The UI listens on loopback
// only, whatever --address says: reach it from elsewhere through an SSH
// tunnel.
//
// # Resources
//
// Messages are limited to --max_message_bytes (64 MiB); prepared jobs not
// run within --prepared_ttl are cancelled and forgotten; finished jobs are
// kept for --finished_ttl, at most --max_finished_jobs of them. Staged
// artifacts live under --staging_dir, in a directory this server locks;
// the directories of servers that died are removed at start.
//
// User state and timers of stateful transforms are kept in memory unless
// --state_dir names a directory: then each job keeps them in an on-disk
// LSM store (pebble) under a temporary directory there, removed when the
// job ends, for state larger than memory; --state_memory (MiB) is what
// that store may hold in memory (default: a quarter of the job's memory
// budget).
//
// --memory_budget (MiB, default 128) is what each job may hold in memory:
// its shuffles spill to disk past it and producers wait while the elements
// between stages fill a quarter of it. Set, it also becomes the process's
// Go soft memory limit (plus an eighth for the server itself), so that
// garbage is collected before resident memory passes the budget and a
// quarter.
//
// # Checkpoints and restarts
//
// With --checkpoint_root, a submission may make its job durable with the
// pipeline option checkpoint_dir (--checkpoint_dir of this SDK's
// programs, of Beam Go programs that define it, and of Beam Python's
// PortableRunner, which learns it from the server), a directory under the
// root; a relative one is taken from it, and one that leaves it (by "..",
// or a symbolic link) is refused. The job writes a snapshot there every
// checkpoint_interval; submitted again with the same directory it
// resumes from the newest. The root may be a blob-store URL
// (--checkpoint_root=s3://bucket/jobs, gs://, azblob://, mem://): a
// submission's directory is then a relative path under it (or a URL under
// it) of plain names, and its snapshots are objects there.
//
// With --jobs_dir as well, the server records each checkpointed job while
// it runs (its pipeline and checkpoint options), and a server started
// again with the same --jobs_dir and --checkpoint_root, after a crash,
// SIGKILL or SIGTERM, runs those jobs again under the same ids from their
// newest snapshots; their submitters (runner/universal) follow them
// again. PROCESS workers are started again by the server; a LOOPBACK
// job's worker pool is its submitter, so the job resumes only while the
// submitter still runs, and an EXTERNAL pool must answer at the same
// address: the server waits --restart_pool_wait for the pool before the
// job fails.
//
// Submit a Beam Go pipeline with
//
//	--runner=universal --endpoint=127.0.0.1:8099 --environment_type=LOOPBACK
//
// and a pipeline of this SDK (examples/wordcount), with the server started
// with --allow_process=<the program's directory>, with
//
//	--runner=universal --endpoint=127.0.0.1:8099 --environment_type=PROCESS
//
// or, with EXTERNAL workers from the same program started as a worker pool
// (BEAMGO_WORKER_POOL=127.0.0.1:50000 and the same flags, see
// examples/wordcount), with
//
//	--runner=universal --endpoint=127.0.0.1:8099 --environment_type=EXTERNAL --environment_config=127.0.0.1:50000
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
	"github.com/beamgo-dev/beamgo/runner/webui"
)

func main() {
	srv, err := start(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		log.Fatal(err)
	}
	if srv.limit != nil {
		srv.limit.apply()
	}
	// Start logged the server's Summary: address, authentication, workers.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Stop()
}

// server is the job server and its web UI.
type server struct {
	*jobservice.Server
	ui *webui.Server
	// limit, when set (by --memory_budget), is the Go runtime's soft
	// memory limit main sets for the process.
	limit *softLimit
}

// softLimit is the job server's soft memory limit: the budget and an
// eighth more for the server itself (gRPC buffers, staged artifacts), so
// that the collector reclaims garbage before resident memory passes the
// budget and a quarter, raised by the windowing state the jobs' streaming
// GroupByKeys hold beyond a quarter of the budget (Job.StateBytes). Their
// values spill past a quarter of each job's budget, but the windows, keys
// and timers cannot: with the limit below the live heap the collector
// would run without pause.
type softLimit struct {
	// mu guards the fields below.
	mu              sync.Mutex
	base, allowance int64
	state           int64 // the running jobs' windowing state
	applied         bool  // main applies it; tests leave the process alone
}

// newSoftLimit returns the limit of a budget of budget bytes per job.
func newSoftLimit(budget int64) *softLimit {
	return &softLimit{base: budget + budget/8, allowance: budget / 4}
}

// bytes is the limit now; l.mu is held.
func (l *softLimit) bytes() int64 { return l.base + max(0, l.state-l.allowance) }

// apply sets the process's soft limit to l, and keeps it there as the
// jobs' state changes.
func (l *softLimit) apply() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applied = true
	debug.SetMemoryLimit(l.bytes())
}

// stateChanged takes a change in a job's windowing state (Job.StateBytes).
func (l *softLimit) stateChanged(delta int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state += delta
	if l.applied {
		debug.SetMemoryLimit(l.bytes())
	}
}

// Stop stops the job server, then its UI.
func (s *server) Stop() {
	s.Server.Stop()
	if s.ui != nil {
		s.ui.Stop()
	}
}

// start parses args, reads the token (getenv reads the environment) and
// starts the server; flag errors go to stderr.
func start(args []string, getenv func(string) string, stderr io.Writer) (*server, error) {
	fs := flag.NewFlagSet("jobserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	address := fs.String("address", "127.0.0.1", "address to listen on; beyond loopback needs an authentication token")
	port := fs.Int("port", 8099, "port to listen on (0 picks a free one)")
	tokenFile := fs.String("auth_token_file", "", "file holding the token every call must carry (default: the "+jobservice.TokenEnvVar+" environment variable, if set)")
	allowProcess := fs.String("allow_process", "", "comma-separated absolute paths (files or directories) of the commands PROCESS jobs may run; empty refuses PROCESS jobs")
	allowExternal := fs.String("allow_external", "", `comma-separated hosts beyond loopback whose worker pools EXTERNAL jobs may name, or "any"`)
	stagingDir := fs.String("staging_dir", "", "staging root (default: a directory per user under the temporary directory)")
	maxMessage := fs.Int("max_message_bytes", jobservice.DefaultMaxMessageSize, "largest gRPC message received or sent")
	preparedTTL := fs.Duration("prepared_ttl", jobservice.DefaultPreparedTTL, "how long a prepared job waits for Run")
	finishedTTL := fs.Duration("finished_ttl", jobservice.DefaultFinishedTTL, "how long finished jobs are kept")
	maxFinished := fs.Int("max_finished_jobs", jobservice.DefaultMaxFinishedJobs, "how many finished jobs are kept")
	ui := fs.Bool("ui", true, "serve the web UI on 127.0.0.1:--ui_port")
	uiPort := fs.Int("ui_port", 8098, "port of the web UI, on loopback (0 picks a free one)")
	refuseProcess := fs.Bool("refuse_process", false, "refuse PROCESS jobs (the default now; kept for old scripts, and contradicts --allow_process)")
	stateDir := fs.String("state_dir", "", "keep user state and timers on disk, in a store under a temporary directory here removed when each job ends (default: in memory)")
	checkpointRoot := fs.String("checkpoint_root", "", "directory (or blob-store URL: s3://, gs://, azblob://, mem://) under which submissions may name a checkpoint directory (pipeline option checkpoint_dir) to make their jobs durable; empty refuses checkpointed submissions")
	jobsDir := fs.String("jobs_dir", "", "directory of the records of running checkpointed jobs: a server started again with it runs them again from their newest snapshots (empty: no records)")
	restartPoolWait := fs.Duration("restart_pool_wait", jobservice.DefaultRestartPoolWait, "how long a job run again after a restart waits for its LOOPBACK or EXTERNAL worker pool")
	stateMemory := fs.Int64("state_memory", 0, "MiB the on-disk state store of a job may hold in memory (default: a quarter of the job's memory budget); needs --state_dir")
	budget := fs.Int64("memory_budget", 0, "MiB each job may buffer (shuffles, elements between stages, bundle outputs, side inputs) before spilling to disk or holding back producers (default 128); also sets the server's Go soft memory limit to it plus an eighth, raised by the windowing state its jobs hold past a quarter of it")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	runnerOpts, err := runnerOptions(*stateDir, *stateMemory, *budget)
	if err != nil {
		return nil, err
	}
	var limit *softLimit
	if *budget > 0 {
		limit = newSoftLimit(*budget << 20)
		runnerOpts.StateBytes = limit.stateChanged
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("jobserver: unexpected arguments %q", fs.Args())
	}
	if *refuseProcess && *allowProcess != "" {
		return nil, errors.New("jobserver: --refuse_process and --allow_process contradict each other")
	}
	token := getenv(jobservice.TokenEnvVar)
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return nil, fmt.Errorf("jobserver: --auth_token_file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("jobserver: --auth_token_file %s is empty", *tokenFile)
		}
	}
	opts := &jobservice.Options{
		Runner:          runnerOpts,
		AuthToken:       token,
		AllowProcess:    list(*allowProcess),
		AllowExternal:   list(*allowExternal),
		StagingDir:      *stagingDir,
		MaxMessageSize:  *maxMessage,
		PreparedTTL:     *preparedTTL,
		FinishedTTL:     *finishedTTL,
		MaxFinishedJobs: *maxFinished,
		CheckpointRoot:  *checkpointRoot,
		JobsDir:         *jobsDir,
		RestartPoolWait: *restartPoolWait,
	}
	if filesystem.IsURL(*checkpointRoot) {
		// Snapshots are objects under the root, through io/filesystem's
		// blob stores (drivers.go links s3://, gs:// and azblob://).
		opts.SnapshotStore = func(url string) jobservice.SnapshotStore { return filesystem.NewPrefix(url) }
	}
	var uiSrv *webui.Server
	if *ui {
		var err error
		uiSrv, err = webui.Start(net.JoinHostPort("127.0.0.1", strconv.Itoa(*uiPort)), &webui.Options{FinishedTTL: *finishedTTL, MaxFinishedJobs: *maxFinished})
		if err != nil {
			return nil, fmt.Errorf("jobserver: web UI (--ui_port, or --ui=false): %w", err)
		}
		opts.UI = uiSrv
	}
	js, err := jobservice.Start(net.JoinHostPort(*address, strconv.Itoa(*port)), opts)
	if err != nil {
		if uiSrv != nil {
			uiSrv.Stop()
		}
		return nil, err
	}
	return &server{Server: js, ui: uiSrv, limit: limit}, nil
}

// runnerOptions returns the runner options of --state_dir,
// --state_memory and --memory_budget (MiB), or nil for the defaults.
func runnerOptions(stateDir string, stateMemory, budget int64) (*fnrunner.Options, error) {
	switch {
	case stateMemory < 0:
		return nil, fmt.Errorf("jobserver: --state_memory %d is negative", stateMemory)
	case budget < 0:
		return nil, fmt.Errorf("jobserver: --memory_budget %d is negative", budget)
	case stateMemory > 0 && stateDir == "":
		return nil, errors.New("jobserver: --state_memory needs --state_dir")
	case stateDir == "" && budget == 0:
		return nil, nil
	}
	if stateDir != "" {
		if fi, err := os.Stat(stateDir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("jobserver: --state_dir %s is not a directory", stateDir)
		}
	}
	return &fnrunner.Options{Job: fnrunner.Job{StateDir: stateDir, StateMemory: stateMemory << 20, MemoryBudget: budget << 20}}, nil
}

// list splits a comma-separated flag value, dropping empty items.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
