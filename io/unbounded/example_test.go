package unbounded_test

import (
	"context"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Read an unbounded source (here Spark's rate source, made finite and
// unpaced so that the example ends at once) and count its records in
// one-second event-time windows: each window fires when the source's
// watermark passes its end, while the source is still being read.
func ExampleRead() {
	p := sdk.NewPipeline()
	s := p.Root()
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	src := unbounded.Rate{PerSecond: 50, NumPartitions: 2, Start: start, Count: 150, Unpaced: true}
	ticks := unbounded.Read(s, src, unbounded.Options{})
	windowed := sdk.WindowInto(s, sdk.FixedWindows(time.Second), ticks)
	counts := sdk.Count(s, windowed)
	sdk.ForEachFunc(s, func(ctx context.Context, n int64) error {
		fmt.Println(sdk.WindowOf(ctx).Start.ToTime().UTC().Format("15:04:05"), n)
		return nil
	}, counts)
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 1}}).Run(context.Background(), p); err != nil {
		fmt.Println(err)
	}
	// Unordered output:
	// 12:00:00 50
	// 12:00:01 50
	// 12:00:02 50
}
