// Package launch is the one entry point of a program that runs a
// pipeline: it registers the Beam-standard flags on the program's own
// FlagSet, knows the worker and worker-pool modes in which runners start
// the program again, and runs the pipeline where the flags say.
//
//	func main() {
//		opts := launch.Flags(flag.CommandLine)
//		input := flag.String("input", "in.txt", "file to read")
//		if err := opts.Parse(flag.CommandLine, os.Args[1:]); err != nil {
//			log.Fatal(err)
//		}
//		p := sdk.NewPipeline()
//		... // build the pipeline from the flags
//		res, err := launch.Run(context.Background(), p, opts)
//		if err != nil {
//			log.Fatal(err)
//		}
//		if res == nil {
//			return // this process was a worker: the submitter reports
//		}
//		fmt.Println(res.Bundles, "bundles")
//	}
//
// There is no registry and no init function: the program names its flag
// set, Parse is the visible step that turns a worker process's command
// line into the submitter's arguments, and Run is an ordinary call that
// returns.
//
// # Flags
//
// Flags registers, with Beam's names:
//
//	--runner              local (default), portable or universal
//	--endpoint            the job server's host:port, for universal
//	--environment_type    LOOPBACK (default), PROCESS or EXTERNAL
//	--environment_config  the worker pool's host:port, for EXTERNAL
//	--job_name            the job's name, for universal
//	--auth_token_file     a file holding the job server's token, for universal
//	--parallelism         bundles run at once (0: the runner's default)
//	--num_workers         SDK workers the portable runner starts (0: its default)
//	--memory_budget_mb    the job's memory budget in MiB (0: the runner's default)
//	--progress            show progress on stderr (local and portable)
//	--ui                  serve a web UI of the job and print its URL (local and portable)
//	--ui_address          the web UI's loopback host:port (default 127.0.0.1:0, a free port)
//	--ui_linger           how long the web UI stays up after the job ended (default 0)
//
// local runs the pipeline in this process (runner/local); portable runs
// it on SDK workers over the Fn API that this process starts or calls
// (runner/portable); universal submits it to the Beam job server at
// --endpoint, such as Prism or cmd/jobserver (runner/universal).
// --environment_type says where the workers of portable and universal run:
// LOOPBACK, in this process; PROCESS, as this program started again; or
// EXTERNAL, in the worker pool at --environment_config.
//
// # Worker and worker-pool modes
//
// A PROCESS worker is this program started again by the runner, with the
// submitter's arguments in its environment (fnapi/worker). Parse sees
// this, calls worker.Init, and parses the submitter's arguments instead of
// the runner's command line, so the program builds the same pipeline; Run
// then serves it to the runner and returns a nil Result once the runner is
// done with the worker. Likewise, a program started with
// BEAMGO_WORKER_POOL=host:port is a worker pool: Run serves EXTERNAL
// workers for the pipeline at that address until SIGTERM or SIGINT, and
// returns a nil Result. Options.Worker reports either mode after Parse.
//
// A worker runs the program's main up to Run, so main must not do, before
// Run, what should happen once (print, write outputs, start servers)
// unless Options.Worker is false; and it must build its pipeline from its
// arguments (and the files they name) alone.
//
// # Concurrency
//
// An Options is not safe for concurrent use while Parse runs; after it,
// Run may be called from any goroutine.
package launch
