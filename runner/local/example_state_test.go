package local_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"slices"
	"sync"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// lastPerKey keeps every value of a key in bag state and reports the
// key's values when its window expires.
type lastPerKey struct {
	Values sdk.BagState[int]
}

func (f *lastPerKey) ProcessElement(ctx context.Context, kv sdk.KV[string, int], emit func(string)) error {
	return f.Values.Add(ctx, kv.Value)
}

func (f *lastPerKey) OnWindowExpiration(ctx context.Context, emit func(string)) error {
	key, err := sdk.CurrentKey[string](ctx)
	if err != nil {
		return err
	}
	values, err := f.Values.Read(ctx)
	slices.Sort(values)
	emit(fmt.Sprintf("%s: %v", key, values))
	return err
}

// lines collects a job's output lines in this process.
type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) add(_ context.Context, s string) error {
	l.mu.Lock()
	l.got = append(l.got, s)
	l.mu.Unlock()
	return nil
}

// With Job.StateDir, user state and timers live on disk in an LSM store
// (pebble) under a temporary directory there, removed when the job ends,
// and the store holds at most Job.StateMemory of them in memory: state may
// be many times the memory budget. The results are the same as in memory.
func Example_stateOnDisk() {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 3), sdk.Pair("b", 2), sdk.Pair("a", 1)})
	out := &lines{}
	sdk.ForEachFunc(s, out.add, sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int], string](&lastPerKey{}), in))
	r := local.New(&local.Options{Job: local.Job{
		MemoryBudget: 512 << 20,
		StateDir:     os.TempDir(),
		StateMemory:  64 << 20,
	}})
	if _, err := r.Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	slices.Sort(out.got)
	for _, line := range out.got {
		fmt.Println(line)
	}
	// Output:
	// a: [1 3]
	// b: [2]
}
