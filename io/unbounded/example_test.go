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

// The slowly updating side input: a slow source's values, windowed, are a
// side input of a fast stream in the same windows; each window's counts
// are read with that window's value, once the slow source's watermark has
// passed the window's end, while both sources still run.
func ExampleRead_slowlyUpdatingSideInput() {
	p := sdk.NewPipeline()
	s := p.Root()
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	second := sdk.FixedWindows(time.Second)
	slow := unbounded.Read(s, unbounded.Rate{PerSecond: 1, Start: start, Count: 3, Unpaced: true}, unbounded.Options{Name: "Versions"})
	versions := sdk.WindowInto(s, second, sdk.Map(s, func(t unbounded.Tick) int64 { return 100 + t.Value }, slow))
	version := sdk.AsSingleton(versions)
	fast := unbounded.Read(s, unbounded.Rate{PerSecond: 50, Start: start, Count: 150, Unpaced: true}, unbounded.Options{Name: "Ticks"})
	counts := sdk.Count(s, sdk.WindowInto(s, second, fast))
	sdk.ForEachFunc(s, func(ctx context.Context, n int64) error {
		fmt.Println(sdk.WindowOf(ctx).Start.ToTime().UTC().Format("15:04:05"), n, "version", version.Get(ctx))
		return nil
	}, counts, sdk.WithSideInput(version))
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p); err != nil {
		fmt.Println(err)
	}
	// Unordered output:
	// 12:00:00 50 version 100
	// 12:00:01 50 version 101
	// 12:00:02 50 version 102
}
