package foreach_test

import (
	"context"
	"fmt"
	"log"
	"maps"
	"slices"
	"sync"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Batch hands each epoch to a function; an idempotent one skips an epoch
// it has already written, since a retried bundle presents the same epoch
// with the same elements. (A map in memory stands for the target here; a
// real sink records the epoch with the data, as io/postgres does.)
func ExampleBatch() {
	p := sdk.NewPipeline()
	s := p.Root()
	rows := sdk.Create(s, []string{"c", "a", "d", "b"})
	var mu sync.Mutex
	written := map[foreach.Epoch][]string{}
	foreach.Batch(s, func(ctx context.Context, batch []string, e foreach.Epoch) error {
		mu.Lock()
		defer mu.Unlock()
		if _, done := written[e]; !done {
			written[e] = slices.Sorted(slices.Values(batch))
		}
		return nil
	}, rows, &foreach.Options[string]{Shards: 2, ShardOf: func(r string) uint64 { return uint64(r[0]) }})
	if _, err := local.New(nil).Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	byShard := func(a, b foreach.Epoch) int { return a.Shard - b.Shard }
	for _, e := range slices.SortedFunc(maps.Keys(written), byShard) {
		fmt.Println(e, written[e])
	}
	// Output:
	// shard 0 window GlobalWindow pane 0 [b d]
	// shard 1 window GlobalWindow pane 0 [a c]
}
