package launch

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/runner/universal"
	"github.com/beamgo-dev/beamgo/runner/webui"
	"github.com/beamgo-dev/beamgo/sdk"
)

// DefaultUIAddress is where --ui serves the web UI: a free loopback port.
const DefaultUIAddress = "127.0.0.1:0"

// Runner names for --runner.
const (
	RunnerLocal     = "local"
	RunnerPortable  = "portable"
	RunnerUniversal = "universal"
)

// Options say where and how Run runs a pipeline. Flags registers them on a
// FlagSet; a program may also fill them in itself.
type Options struct {
	// Runner is local, portable or universal.
	Runner string
	// Endpoint is the job server's host:port (universal).
	Endpoint string
	// EnvironmentType is LOOPBACK, PROCESS or EXTERNAL (portable and
	// universal), in any case.
	EnvironmentType string
	// EnvironmentConfig is the worker pool's host:port (EXTERNAL).
	EnvironmentConfig string
	// JobName names the job on the job server (universal).
	JobName string
	// AuthTokenFile holds the job server's authentication token
	// (universal).
	AuthTokenFile string
	// Parallelism bounds the bundles run at once (0: the runner's default).
	Parallelism int
	// NumWorkers is how many SDK workers the portable runner starts (0:
	// its default).
	NumWorkers int
	// MemoryBudgetMB is the job's memory budget in MiB (0: the runner's
	// default): the process's for local, the shuffle's for portable.
	MemoryBudgetMB int64
	// Progress shows the job's progress on stderr (local and portable):
	// on a terminal, a line per stage redrawn every second with its
	// elements per second, backlog, the watermark lag of unbounded stages
	// and the time left of bounded reads; elsewhere a summary line a
	// second.
	Progress bool
	// UI serves a web UI of the job on UIAddress, a loopback host:port
	// (default 127.0.0.1:0, a free port), and prints its URL on stderr
	// (local and portable; the job server serves its own). After the
	// job, the UI stays up for UILinger, so that the finished job can be
	// looked at.
	UI        bool
	UIAddress string
	UILinger  time.Duration
	// CheckpointDir, when set, makes the job durable: it writes a
	// snapshot of itself there every CheckpointInterval and when it ends,
	// and the same program started again with the same directory resumes
	// from the newest snapshot. CheckpointFresh deletes the snapshots and
	// starts over. For universal, the directory is on the job server,
	// under its --checkpoint_root, and a job server started again with its
	// --jobs_dir runs the job again by itself (runner/universal's
	// Options.CheckpointDir).
	CheckpointDir      string
	CheckpointInterval time.Duration
	CheckpointFresh    bool

	// args are the arguments Parse parsed: the submitter's, which PROCESS
	// workers get.
	args   []string
	parsed bool
}

// Flags registers the Beam-standard flags on fs and returns the Options
// they set. Progress defaults to whether stderr is a terminal.
func Flags(fs *flag.FlagSet) *Options {
	o := &Options{}
	fs.StringVar(&o.Runner, "runner", RunnerLocal, "where the pipeline runs: local (this process), portable (Fn API workers that this process starts or calls) or universal (the Beam job server at --endpoint)")
	fs.StringVar(&o.Endpoint, "endpoint", "", "for --runner=universal: the job server's host:port")
	fs.StringVar(&o.EnvironmentType, "environment_type", portable.EnvLoopback, "where portable and universal workers run: LOOPBACK (in this process), PROCESS (this program, started again) or EXTERNAL (the worker pool at --environment_config)")
	fs.StringVar(&o.EnvironmentConfig, "environment_config", "", "for --environment_type=EXTERNAL: the worker pool's host:port (start one with "+worker.PoolVar+"=host:port and the same flags)")
	fs.StringVar(&o.JobName, "job_name", "", "for --runner=universal: the job's name")
	fs.StringVar(&o.AuthTokenFile, "auth_token_file", "", "for --runner=universal: file holding the job server's authentication token")
	fs.IntVar(&o.Parallelism, "parallelism", 0, "bundles run at once (0: the runner's default)")
	fs.IntVar(&o.NumWorkers, "num_workers", 0, "for --runner=portable: SDK workers a job starts (0: the runner's default)")
	fs.Int64Var(&o.MemoryBudgetMB, "memory_budget_mb", 0, "the job's memory budget in MiB (0: the runner's default)")
	fs.BoolVar(&o.Progress, "progress", isTerminal(os.Stderr), "show progress on stderr (local and portable)")
	fs.BoolVar(&o.UI, "ui", false, "serve a web UI of the job on --ui_address and print its URL (local and portable)")
	fs.StringVar(&o.UIAddress, "ui_address", DefaultUIAddress, "the web UI's loopback host:port (port 0: a free one)")
	fs.DurationVar(&o.UILinger, "ui_linger", 0, "how long the web UI stays up after the job ended")
	fs.StringVar(&o.CheckpointDir, "checkpoint_dir", "", "directory of the job's durable snapshots, a local path or a blob-store URL (mem://, file://, s3://... with the driver imported); a job started again with it resumes from the newest (for universal: a directory on the job server, under its --checkpoint_root)")
	fs.DurationVar(&o.CheckpointInterval, "checkpoint_interval", 10*time.Second, "time between snapshots, with --checkpoint_dir")
	fs.BoolVar(&o.CheckpointFresh, "checkpoint_fresh", false, "delete the snapshots in --checkpoint_dir and start over")
	return o
}

// Parse parses the program's arguments with fs, as fs.Parse does, after
// putting the process in the mode its environment asks for
// (worker.Init): in a PROCESS worker, the arguments parsed are the
// submitter's, which the runner passed in the environment, not args. It
// then checks that the options go together. Call it once, instead of
// fs.Parse, after registering every flag.
func (o *Options) Parse(fs *flag.FlagSet, args []string) error {
	worker.Init()
	if worker.Active() {
		args = os.Args[1:] // Init put the submitter's arguments there
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.args = slices.Clone(args)
	o.parsed = true
	return o.check()
}

// Worker reports whether this process is a PROCESS worker or a worker
// pool, in which Run serves the pipeline instead of running it and
// returns a nil Result. It is false before Parse.
func (o *Options) Worker() bool {
	return o.parsed && (worker.Active() || worker.PoolActive())
}

// check reports options that do not go together.
func (o *Options) check() error {
	switch o.Runner {
	case RunnerLocal:
		if worker.PoolActive() {
			return &FlagError{Flag: "runner", Reason: worker.PoolVar + " is set, but --runner=local has no workers: start a pool with the flags of the portable or universal submissions it serves"}
		}
		return nil
	case RunnerPortable, RunnerUniversal:
	default:
		return &FlagError{Flag: "runner", Reason: fmt.Sprintf("unknown runner %q (have: local, portable, universal)", o.Runner)}
	}
	switch env := strings.ToUpper(o.EnvironmentType); env {
	case portable.EnvLoopback, portable.EnvProcess:
	case portable.EnvExternal:
		if o.EnvironmentConfig == "" && !worker.PoolActive() {
			return &FlagError{Flag: "environment_config", Reason: "--environment_type=EXTERNAL needs the worker pool's host:port (start one with " + worker.PoolVar + "=host:port and the same flags)"}
		}
	default:
		return &FlagError{Flag: "environment_type", Reason: fmt.Sprintf("unknown environment type %q (have: LOOPBACK, PROCESS, EXTERNAL)", o.EnvironmentType)}
	}
	if o.Runner == RunnerUniversal && o.Endpoint == "" && !o.Worker() {
		return &FlagError{Flag: "endpoint", Reason: "--runner=universal needs the job server's host:port"}
	}
	if o.Runner == RunnerUniversal && o.UI {
		return &FlagError{Flag: "ui", Reason: "--runner=universal runs the job on the job server, which serves its own web UI (cmd/jobserver --ui_port)"}
	}
	return nil
}

// FlagError is an option that is missing, unknown, or does not go with
// the others.
type FlagError struct {
	// Flag is the flag's name, without dashes.
	Flag string
	// Reason says what is wrong.
	Reason string
}

func (e *FlagError) Error() string { return "launch: --" + e.Flag + ": " + e.Reason }

// Run runs p where opts say and returns its result. In a PROCESS worker or
// a worker pool (opts.Worker), it serves p instead, until the runner or a
// signal stops it, and returns a nil Result and nil, or the error that
// stopped the worker: the submitter reports the job's result. opts must
// come from Parse, or be filled in by the program (a nil opts runs p on
// the local runner).
func Run(ctx context.Context, p *sdk.Pipeline, opts *Options) (*runner.Result, error) {
	if opts == nil {
		opts = &Options{Runner: RunnerLocal}
	}
	if opts.parsed && worker.Active() {
		return nil, worker.Serve(ctx, p)
	}
	if opts.parsed && worker.PoolActive() {
		return nil, worker.ServePool(ctx, p)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	ui, stopUI, err := opts.startUI()
	if err != nil {
		return nil, err
	}
	defer stopUI(ctx)
	r, err := opts.newRunner(ui)
	if err != nil {
		return nil, err
	}
	return r.Run(ctx, p)
}

// startUI starts the web UI if UI is set, printing its URL, and returns
// it with the function that stops it after UILinger (or when ctx is done).
func (o *Options) startUI() (*webui.Server, func(ctx context.Context), error) {
	if !o.UI {
		return nil, func(context.Context) {}, nil
	}
	ui, err := webui.Start(cmp.Or(o.UIAddress, DefaultUIAddress), nil)
	if err != nil {
		return nil, nil, &FlagError{Flag: "ui_address", Reason: err.Error()}
	}
	fmt.Fprintf(os.Stderr, "web UI: %s\n", ui.URL())
	return ui, func(ctx context.Context) {
		defer ui.Stop()
		if o.UILinger <= 0 {
			return
		}
		fmt.Fprintf(os.Stderr, "web UI: %s stays up for %v (--ui_linger)\n", ui.URL(), o.UILinger)
		t := time.NewTimer(o.UILinger)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}, nil
}

// newRunner makes the runner the options name.
func (o *Options) newRunner(ui *webui.Server) (runner.Runner, error) {
	var progress func(local.Progress)
	if o.Progress {
		v := &progressView{w: os.Stderr, terminal: isTerminal(os.Stderr), now: time.Now}
		progress = v.show
	}
	env := strings.ToUpper(o.EnvironmentType)
	budget := o.MemoryBudgetMB << 20
	// local.Job and portable.Job are one type: the job options every runner takes.
	job := local.Job{Parallelism: o.Parallelism, MemoryBudget: budget, Progress: progress}
	if o.CheckpointDir != "" {
		job.Checkpoint = &local.Checkpointing{Dir: o.CheckpointDir, Interval: o.CheckpointInterval, Fresh: o.CheckpointFresh}
		if IsURL(o.CheckpointDir) {
			job.Checkpoint.Store = SnapshotStore(o.CheckpointDir)
		}
	}
	switch o.Runner {
	case RunnerLocal:
		return local.New(&local.Options{Job: job, UI: ui}), nil
	case RunnerPortable:
		return portable.New(&portable.Options{
			Job: job, Workers: o.NumWorkers,
			EnvironmentType: env, ExternalEndpoint: o.EnvironmentConfig,
			Process: &portable.ProcessOptions{Args: o.workerArgs()},
			UI:      ui,
		}), nil
	case RunnerUniversal:
		token, err := o.token()
		if err != nil {
			return nil, err
		}
		return universal.New(&universal.Options{
			Endpoint: o.Endpoint, EnvironmentType: env, ExternalEndpoint: o.EnvironmentConfig,
			JobName: o.JobName, WorkerArgs: o.workerArgs(), AuthToken: token,
			CheckpointDir: o.CheckpointDir, CheckpointInterval: o.CheckpointInterval, CheckpointFresh: o.CheckpointFresh,
		}), nil
	}
	return nil, &FlagError{Flag: "runner", Reason: fmt.Sprintf("unknown runner %q", o.Runner)}
}

// workerArgs are the arguments PROCESS workers get: those Parse parsed,
// or, for options the program filled in, this process's.
func (o *Options) workerArgs() []string {
	if o.parsed {
		return append([]string{}, o.args...) // not nil: nil means os.Args[1:]
	}
	return nil
}

// token reads the job server's token from AuthTokenFile.
func (o *Options) token() (string, error) {
	if o.AuthTokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(o.AuthTokenFile)
	if err != nil {
		return "", fmt.Errorf("launch: --auth_token_file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

var _ error = (*FlagError)(nil)
