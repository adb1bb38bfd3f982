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

// countPerKey emits, for each element, its key and the key's count so far
// (value state).
type countPerKey struct {
	Count sdk.ValueState[int]
}

func (f *countPerKey) ProcessElement(ctx context.Context, kv sdk.KV[int, []byte], emit func(string)) error {
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Count.Write(ctx, n+1); err != nil {
		return err
	}
	emit(fmt.Sprintf("%d/%d/%d", kv.Key, n+1, len(kv.Value)))
	return nil
}

// TestStatefulInputSpilledToSegments feeds a stateful stage from one
// bundle that writes 15 MiB, more than any bundle's in-memory share of
// output (at most 8 MiB), so the output reaches the keyed stage as
// spilled segments, which it loads as it takes from them: every element
// must be counted exactly once, and the segments removed.
func TestStatefulInputSpilledToSegments(t *testing.T) {
	const n, keys, size = 30000, 100, 512
	tmp := t.TempDir()
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.FlatMap(s, func(_ int, emit func(sdk.KV[int, []byte])) {
		for i := range n {
			emit(sdk.Pair(i%keys, make([]byte, size)))
		}
	}, sdk.Create(s, []int{0}))
	out := collect(s, sdk.ParDo(s, sdk.DoFn[sdk.KV[int, []byte], string](&countPerKey{}), in))
	run(t, p, &local.Options{Job: local.Job{Parallelism: 2, MemoryBudget: 256 << 20, TempDir: tmp}})
	got := map[string]int{}
	for _, v := range out.sorted(strings.Compare) {
		got[v]++
	}
	for k := range keys {
		for c := 1; c <= n/keys; c++ {
			if v := fmt.Sprintf("%d/%d/%d", k, c, size); got[v] != 1 {
				t.Fatalf("%q seen %d times, want once (%d outputs)", v, got[v], len(got))
			}
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct outputs, want %d", len(got), n)
	}
	checkEmptyDir(t, tmp)
}
