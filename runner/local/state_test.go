package local_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// checkEmptyDir fails t if dir holds anything.
func checkEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("%s still holds %s after the job ended", dir, e.Name())
	}
}

// countWithStore keeps a count per key in value state and records, for
// each element, what the state directory held while the job ran.
type countWithStore struct {
	Dir   string
	Count sdk.ValueState[int]
	Seen  sdk.BagState[int]
}

func (f *countWithStore) ProcessElement(ctx context.Context, kv sdk.KV[string, int], emit func(string)) error {
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Count.Write(ctx, n+1); err != nil {
		return err
	}
	if err := f.Seen.Add(ctx, kv.Value); err != nil {
		return err
	}
	seen, err := f.Seen.Read(ctx)
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(f.Dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		names = append(names, strings.SplitN(e.Name(), "-", 3)[1])
	}
	emit(fmt.Sprintf("%s %d %d %v", kv.Key, n+1, len(seen), names))
	return nil
}

func TestStateDirKeepsStateOnDisk(t *testing.T) {
	dir := t.TempDir()
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 1), sdk.Pair("b", 2), sdk.Pair("a", 3), sdk.Pair("a", 4)})
	out := collect(s, sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int], string](&countWithStore{Dir: dir}), in))
	run(t, p, &local.Options{Job: local.Job{Parallelism: 2, StateDir: dir, StateMemory: 32 << 20}})
	got := out.sorted(strings.Compare)
	// While the job ran, its one stateful stage had one store directory
	// (beamgo-state-*) in dir.
	want := []string{"a 1 1 [state]", "a 2 2 [state]", "a 3 3 [state]", "b 1 1 [state]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
	checkEmptyDir(t, dir)
}

func TestStateDirThatIsMissingFailsTheJob(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 1)})
	sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int], string](&countWithStore{Dir: os.TempDir()}), in)
	missing := t.TempDir() + "/missing"
	_, err := local.New(&local.Options{Job: local.Job{StateDir: missing}}).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "pebble directory") {
		t.Errorf("Run with a missing StateDir = %v, want an error about the state store's directory", err)
	}
}
