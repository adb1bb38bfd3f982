package portable_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

// internalIDs matches what a failed job's message must not show: plan
// stage ids, instruction ids, worker ids, byte dumps.
var internalIDs = regexp.MustCompile(`\bstage s\d+\b|\bs\d+:|bundle-\d+|worker-\d+|0x[0-9a-f]{2}`)

// parsePipeline fails on the element "bad" in the user's transform
// "Parse", the middle of a stage of three transforms.
func parsePipeline() *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{"1", "bad", "3"}, sdk.Name("Lines"))
	parsed := sdk.Map(s, func(v string) string {
		if v == "bad" {
			panic("cannot parse " + v)
		}
		return v
	}, in, sdk.Name("Parse"))
	sdk.ForEachFunc(s, func(context.Context, string) error { return nil }, parsed, sdk.Name("Store"))
	return p
}

// A failed job's message names the user's transforms and the element, on
// every runner, and none of the runner's internal ids; a PROCESS worker's
// panic stack comes back once, as lines.
func TestFailureMessagesUseTheUsersNames(t *testing.T) {
	var output fnapitest.SyncBuffer
	runners := map[string]runner.Runner{
		"local":    local.New(&local.Options{Job: local.Job{MaxAttempts: 2}}),
		"loopback": portable.New(&portable.Options{Job: portable.Job{MaxAttempts: 2}}),
		"process": portable.New(&portable.Options{Job: portable.Job{MaxAttempts: 2}, EnvironmentType: portable.EnvProcess,
			Process: &portable.ProcessOptions{Args: workerArgs(t), Output: &output}}),
	}
	for name, r := range runners {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := r.Run(ctx, parsePipeline())
			if err == nil {
				t.Fatal("Run succeeded, want the panic's error")
			}
			msg := err.Error()
			t.Logf("the job's error:\n%s", msg)
			if ids := internalIDs.FindAllString(msg, -1); ids != nil {
				t.Errorf("message shows internal ids %q:\n%s", ids, msg)
			}
			for _, want := range []string{`transform "Parse"`, `element "bad"`, "cannot parse bad", "failed 2 times", `"Lines/Values"`, "parsePipeline.func1"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			// The stack is readable: lines, not an escaped "\n", and the
			// user's function is on one of them, once, with its file:line.
			if strings.Contains(msg, `\n`) || strings.Count(msg, "parsePipeline.func1") != 1 || !strings.Contains(msg, "messages_test.go:") {
				t.Errorf("the panic's stack is not there once as lines:\n%s", msg)
			}
		})
	}
	// The PROCESS workers log a line per failed attempt, without the
	// stack, which the job's error carries once.
	if worker := output.String(); strings.Count(worker, "cannot parse bad") > 2 || strings.Contains(worker, "parsePipeline.func1") {
		t.Errorf("the PROCESS workers' output repeats the panic or its stack:\n%s", worker)
	}
}
