package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/beamgo-dev/beamgo/fnapi/harness"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Environment variables that put a process in worker mode.
const (
	// ArgsVar holds the JSON array of the arguments the worker's main
	// sees (os.Args[1:]).
	ArgsVar = "BEAMGO_WORKER_ARGS"
	// DirVar, if set, is the directory the worker changes to.
	DirVar = "BEAMGO_WORKER_DIR"
)

// ProvisionTimeout bounds the wait for the runner's provision service.
const ProvisionTimeout = time.Minute

// Mode is what a worker process was told on its command line.
type Mode struct {
	// ID is the worker id the runner gave (--id).
	ID string
	// ProvisionEndpoint is the runner's provision service
	// (--provision_endpoint).
	ProvisionEndpoint string
	// ControlEndpoint and LoggingEndpoint are the runner's control and
	// logging services, if given directly (--control_endpoint,
	// --logging_endpoint); otherwise the provision service names them.
	ControlEndpoint, LoggingEndpoint string
}

// What Init found; written only by Init, under initOnce.
var (
	initOnce sync.Once
	active   bool
	mode     Mode
	initErr  error
)

// Init puts this process in the mode its environment asks for, and must be
// called, once, before the program parses its flags: beamx.Parse calls it,
// and so does the TestMain of a test binary that runs itself as PROCESS
// or EXTERNAL workers. It is explicit, rather than an init function, so
// that importing this package (or a runner) changes nothing.
//
// In worker mode (ArgsVar set) Init records the runner's flags, rewrites
// os.Args to the program's name followed by the user's arguments, unsets
// ArgsVar and changes to DirVar; in worker-pool mode (PoolVar set) it
// records and unsets PoolVar. Otherwise it does nothing. Calls after the
// first do nothing; it is safe for concurrent use.
func Init() {
	initOnce.Do(func() {
		initPool()
		raw, ok := os.LookupEnv(ArgsVar)
		if !ok {
			return
		}
		active = true
		var args []string
		mode, args, initErr = parse(os.Args[1:], raw)
		// The user's flag parsing must not see the runner's flags, even if
		// the arguments could not be read: Serve then reports why.
		os.Args = append([]string{os.Args[0]}, args...)
		os.Unsetenv(ArgsVar)
		if dir, ok := os.LookupEnv(DirVar); ok {
			os.Unsetenv(DirVar)
			if err := os.Chdir(dir); err != nil && initErr == nil {
				initErr = fmt.Errorf("worker: change to the submitter's directory: %w", err)
			}
		}
	})
}

// parse reads the runner's flags from argv and the user's arguments from
// the JSON in raw.
func parse(argv []string, raw string) (Mode, []string, error) {
	var m Mode
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		return m, nil, fmt.Errorf("worker: %s is not a JSON array of strings: %w", ArgsVar, err)
	}
	targets := map[string]*string{
		"id": &m.ID, "worker_id": &m.ID,
		"provision_endpoint": &m.ProvisionEndpoint,
		"control_endpoint":   &m.ControlEndpoint,
		"logging_endpoint":   &m.LoggingEndpoint,
	}
	for i := 0; i < len(argv); i++ {
		if !strings.HasPrefix(argv[i], "-") {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(argv[i], "-"), "=")
		target, ok := targets[name]
		if !ok {
			// Other runner flags (artifact endpoint, semi-persistent
			// directory...) mean nothing to this SDK.
			continue
		}
		if !hasValue && i+1 < len(argv) {
			i++
			value = argv[i]
		}
		*target = unquote(value)
	}
	return m, args, nil
}

// unquote removes one pair of matching quotes around s: Prism passes
// --id='<id>' to an exec call, not to a shell, so the quotes arrive.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// Active reports whether Init found this process to be a worker: started
// with ArgsVar in its environment. Before Init it is false.
func Active() bool { return active }

// Current returns what this worker was told on its command line; the zero
// Mode if the process is not a worker.
func Current() Mode { return mode }

// Env returns the environment variables that start this program as a
// worker whose main sees args, in this process's working directory. nil
// args means this process's own arguments, os.Args[1:] (which, in a
// worker, are the submitter's). Arguments travel as JSON, so one that is
// not valid UTF-8 is an error rather than a silently changed argument.
func Env(args []string) (map[string]string, error) {
	if args == nil {
		args = os.Args[1:]
	}
	for i, a := range args {
		if !utf8.ValidString(a) {
			return nil, fmt.Errorf("worker: argument %d (%q) is not valid UTF-8 and cannot be passed to workers", i, a)
		}
	}
	b, err := json.Marshal(append([]string{}, args...))
	if err != nil {
		return nil, fmt.Errorf("worker: encode arguments: %w", err)
	}
	env := map[string]string{ArgsVar: string(b)}
	if dir, err := os.Getwd(); err == nil {
		env[DirVar] = dir
	}
	return env, nil
}

// Serve runs this worker's SDK harness for p, the pipeline this process
// built, until the runner ends the control stream, ctx ends, or SIGTERM or
// SIGINT arrives, all of which return nil. It fails if the process is not
// a worker, its arguments could not be read, or the runner cannot be
// reached.
func Serve(ctx context.Context, p *sdk.Pipeline) error {
	if !active {
		return errors.New("worker: not in worker mode (" + ArgsVar + " is not set)")
	}
	if initErr != nil {
		return initErr
	}
	m := mode
	if m.ControlEndpoint == "" {
		if m.ProvisionEndpoint == "" {
			return errors.New("worker: the runner gave neither --control_endpoint nor --provision_endpoint")
		}
		info, err := provisionInfo(ctx, m)
		if err != nil {
			return err
		}
		m.ControlEndpoint = info.GetControlEndpoint().GetUrl()
		if m.LoggingEndpoint == "" {
			m.LoggingEndpoint = info.GetLoggingEndpoint().GetUrl()
		}
		if m.ControlEndpoint == "" {
			return fmt.Errorf("worker: the provision service at %s names no control endpoint", m.ProvisionEndpoint)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := harness.Run(ctx, &harness.Options{
		ID:                m.ID,
		ControlEndpoint:   m.ControlEndpoint,
		LoggingEndpoint:   m.LoggingEndpoint,
		ProvisionEndpoint: m.ProvisionEndpoint,
		Pipeline:          p,
		Logger:            slog.Default().With("worker", m.ID),
	})
	if err != nil {
		return fmt.Errorf("worker %s: %w", m.ID, err)
	}
	return nil
}

// ServeAndExit serves p with Serve and exits the process: status 0 when the
// runner stopped the worker, or 1 after printing the error to stderr. It
// never returns; runners call it from Run in a worker process.
func ServeAndExit(ctx context.Context, p *sdk.Pipeline) {
	if err := Serve(ctx, p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// provisionInfo asks the runner's provision service for the worker's
// endpoints; the call names the worker, as runners that serve many workers
// on one endpoint (Prism) route by it.
func provisionInfo(ctx context.Context, m Mode) (*fnpb.ProvisionInfo, error) {
	cc, err := grpc.NewClient(m.ProvisionEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("worker: provision endpoint %s: %w", m.ProvisionEndpoint, err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, ProvisionTimeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "worker_id", m.ID)
	resp, err := fnpb.NewProvisionServiceClient(cc).GetProvisionInfo(ctx, &fnpb.GetProvisionInfoRequest{}, grpc.WaitForReady(true))
	if err != nil {
		return nil, fmt.Errorf("worker: provision info from %s: %w", m.ProvisionEndpoint, err)
	}
	return resp.GetInfo(), nil
}
