// Package worker is the PROCESS and EXTERNAL environments of this SDK: a
// worker process is the user's own program started again, with the
// arguments it was first run with, in worker mode (PROCESS) or worker-pool
// mode (EXTERNAL). It builds the same pipeline, and where it would submit
// it, beamx.Run (or the runner's Run) serves it instead: as one SDK harness
// (fnapi/harness), or as a pool of them (fnapi/workerpool).
//
// # Worker mode
//
// A process is in worker mode when its environment has ArgsVar, the JSON
// array of the user's arguments (Env makes it). The runner that starts the
// process adds its own flags, as Beam runners do for any PROCESS
// environment: Prism runs
//
//	<command> --id='<worker id>' --provision_endpoint=<host:port>
//
// Nothing happens on import: the program calls Init, once, before it
// parses its flags (beamx.Parse does). Init records those flags (--id,
// --provision_endpoint, and --control_endpoint, --logging_endpoint if
// given; quotes around a value are removed) and rewrites os.Args to the
// program's name followed by the user's arguments, so flag parsing sees
// what the submitter saw. It then unsets ArgsVar, so programs the worker
// starts are not workers, and changes to DirVar, the submitter's working
// directory, so relative paths mean the same.
//
// beamx.Run checks Active first and serves instead of submitting; so do
// the runners runner/portable and runner/universal in Run, for programs
// that call Init and a runner themselves: a worker never submits. Serve
// asks the provision service for the control and logging endpoints when
// they were not given and runs the harness until the runner ends the
// control stream (or SIGTERM or SIGINT arrives); ServeAndExit then exits
// the process: status 0, or 1 with the error on stderr.
//
// So a program whose pipeline depends only on its arguments (and the files
// they name) needs nothing but beamx (or Init) to run with PROCESS
// workers. The harness
// checks each transform's name and function description against the
// submitted descriptors and fails the bundle, naming the transform, if the
// worker built a different pipeline.
//
// # Worker-pool mode
//
// A process is a worker pool when its environment has PoolVar,
// BEAMGO_WORKER_POOL, set to the address to listen on (host:port; a bare
// ":port" listens on 127.0.0.1, so a pool is reachable from other machines
// only when its host is named, such as 0.0.0.0:50000). It is started by
// hand or by a script, with the arguments the submitter will have, and
// serves until it is stopped:
//
//	BEAMGO_WORKER_POOL=127.0.0.1:50000 ./prog ARGS &  # the pool
//	./prog ARGS  # submits with EXTERNAL workers at 127.0.0.1:50000
//
// (examples/wordcount shows it with its flags.)
//
// The runners check PoolActive next to Active in Run: ServePoolAndExit
// serves Beam's BeamFnExternalWorkerPool at that address, for any number
// of jobs whose environment is beam:env:external:v1 with that endpoint;
// each StartWorker runs a harness on a goroutine that finds user code in
// the pipeline the pool built. It prints PoolListening and the address
// ("worker pool listening on 127.0.0.1:50000") to stderr once it listens,
// and on SIGTERM or SIGINT closes the pool, stopping its workers, and
// exits with status 0. Its arguments are its own (os.Args is not
// rewritten), and Init unsets PoolVar, so programs it starts are not pools.
// A process with both ArgsVar and PoolVar is a PROCESS worker.
//
// Workers of a pool share its process: package variables, and what DoFns
// point to, are shared by all the jobs the pool serves, and results a job
// hands back to its submitter must travel in files or other storage both
// reach.
//
// # Test binaries
//
// A test binary that runs itself as workers calls Init from its TestMain,
// before m.Run parses the test flags:
//
//	func TestMain(m *testing.M) {
//		worker.Init()
//		os.Exit(m.Run())
//	}
//
// Re-run in worker mode, it runs its tests again, with the arguments it is
// given: pass ones that select the one test that submits,
// such as
//
//	[]string{"-test.run=^" + t.Name() + "$", "-test.timeout=2m"}
//
// and not -test.paniconexit0, under which the worker's exit would panic.
// The test body runs again in the worker up to Run, so code before Run that
// must happen only once (starting servers, killing processes) checks
// Active (or PoolActive) first. Values the worker must share with the test (an output
// directory) travel as flags of the test binary, or as environment
// variables when the runner starts workers with this process's
// environment, as runner/portable does.
//
// # Starting workers
//
// StartProcess starts a worker process the way runners start a PROCESS
// environment, sends its output, line by line with a prefix, to a writer,
// reaps it as soon as it exits, and stops it by its pid: Stop waits for it
// to exit on its own, then sends SIGTERM, then SIGKILL, and waits. On
// Linux the worker is also killed if the process that started it dies.
// StartPool starts a program in worker-pool mode the same way and waits
// for the address it listens on; Terminate stops it (SIGTERM, then
// SIGKILL).
//
// # Concurrency
//
// Init, Active, PoolActive, Current and Env may be called from any
// goroutine;
// one of Serve, ServeAndExit, ServePool and ServePoolAndExit once.
// A Process is safe for concurrent use.
package worker
