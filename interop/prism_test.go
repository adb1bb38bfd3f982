package interop

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/fnapi/worker"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
)

// prismPackage is Beam's Prism job server command, a tool dependency of
// this module (see go.mod), so its version is the module's Beam version.
const prismPackage = "github.com/apache/beam/sdks/v2/go/cmd/prism"

var prismLog = flag.Bool("prism.log", false, "copy Prism's log to stderr")

// prism is a running Prism job server.
type prism struct {
	cmd      *exec.Cmd
	endpoint string
	done     chan struct{}

	// mu guards log.
	mu  sync.Mutex
	log strings.Builder
}

// jobServer is the Prism server shared by the tests of this package, set by
// TestMain; nil if it could not start (startErr tells why).
var (
	jobServer *prism
	startErr  error
)

func TestMain(m *testing.M) {
	worker.Init() // before the test flags: a worker strips the runner's
	flag.Parse()
	// A PROCESS worker (this binary started again by a job server) runs
	// one test up to Run, which serves: it needs no Prism of its own.
	var shared string
	if !testing.Short() && !worker.Active() {
		// Prism starts PROCESS workers with its own environment: the
		// conformance suite's shared directory must be in it.
		if shared, startErr = os.MkdirTemp("", "runnertest-"); startErr == nil {
			os.Setenv(runnertest.SharedDirVar, shared)
			jobServer, startErr = startPrism()
		}
	}
	code := m.Run()
	if shared != "" {
		os.RemoveAll(shared)
	}
	if jobServer != nil {
		jobServer.stop()
	}
	os.Exit(code)
}

// needPrism returns the shared server, skipping under -short and failing
// the test if Prism could not start.
func needPrism(t *testing.T) *prism {
	t.Helper()
	if testing.Short() {
		t.Skip("interop with Prism skipped in -short mode")
	}
	if startErr != nil {
		t.Fatalf("starting Prism: %v", startErr)
	}
	return jobServer
}

// startPrism builds Prism and starts it on a free port, reading the port
// from its log. "go tool -n" builds the tool once and keeps the executable
// in Go's build cache, so later runs start at once.
func startPrism() (*prism, error) {
	out, err := exec.Command("go", "tool", "-n", "prism").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("go tool -n prism (%s): %w", prismPackage, err)
	}
	bin := strings.TrimSpace(string(out))
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("go tool -n prism printed %q: %w", bin, err)
	}
	// -job_port=0 picks a free port; Prism binds every interface (it has no
	// flag for the address), and the tests reach it on 127.0.0.1.
	cmd := exec.Command(bin, "-job_port=0", "-serve_http=false", "-log_kind=text", "-log_level=info",
		// A Prism left behind by a killed test run exits on its own.
		"-idle_shutdown_timeout=10m")
	setDeathSignal(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start Prism: %w", err)
	}
	p := &prism{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		// Wait closes the pipe: read it to the end first.
		p.readLog(stderr, found)
		cmd.Wait()
		close(p.done)
	}()
	select {
	case port := <-found:
		p.endpoint = "127.0.0.1:" + port
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("Prism exited: %s", p.logText())
	case <-time.After(time.Minute):
		p.stop()
		return nil, fmt.Errorf("Prism did not report its port within a minute: %s", p.logText())
	}
}

var endpointRE = regexp.MustCompile(`Serving JobManagement.*endpoint=\S*:(\d+)`)

// readLog keeps Prism's log and reports the job port.
func (p *prism) readLog(r io.Reader, found chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := endpointRE.FindStringSubmatch(line); m != nil {
			select {
			case found <- m[1]:
			default:
			}
		}
		if *prismLog {
			fmt.Fprintln(os.Stderr, "prism:", line)
		}
		p.mu.Lock()
		if p.log.Len() < 1<<20 {
			p.log.WriteString(line)
			p.log.WriteByte('\n')
		}
		p.mu.Unlock()
	}
}

func (p *prism) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop interrupts Prism and waits for it, killing it after a grace period.
func (p *prism) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// errPrismGone is returned when the server died during the tests.
var errPrismGone = errors.New("Prism is not running")

func (p *prism) alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%w: %s", errPrismGone, p.logText())
	default:
		return nil
	}
}

// runCtx is the context of one job: generous, but bounded so that a hung
// job fails its test instead of the whole run.
func runCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
