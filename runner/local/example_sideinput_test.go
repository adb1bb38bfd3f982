package local_test

import (
	"context"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Beam's slowly updating side input: a stream of versions in the global
// window, fired on every element and discarded after each firing, reduced
// to its latest element and read as a singleton. A triggered side input in
// discarding mode serves the latest firing, so each reading sees the newest
// version (in accumulating mode it would see every firing's). A TestStream
// makes the interleaving of the two streams deterministic.
func Example_latestSideInput() {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	readings, versions := ts.Tag("readings"), ts.Tag("versions")
	at := func(sec int) time.Time { return time.Unix(int64(sec), 0) }
	versions.AddElementsAt(at(1), "v1")
	readings.AddElementsAt(at(2), "r1")
	versions.AddElementsAt(at(3), "v2")
	versions.AddElementsAt(at(4), "v3")
	readings.AddElementsAt(at(5), "r2")
	readings.AdvanceWatermarkToInfinity()
	versions.AdvanceWatermarkToInfinity()
	fired := sdk.WindowInto(s, sdk.GlobalWindows(), versions.Output(),
		sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(1))), sdk.Discarding())
	version := sdk.AsSingleton(sdk.Latest(s, fired))
	sdk.ForEachFunc(s, func(ctx context.Context, r string) error {
		fmt.Println(r, "with", version.Get(ctx))
		return nil
	}, readings.Output(), sdk.WithSideInput(version))
	if _, err := local.New(nil).Run(context.Background(), p); err != nil {
		fmt.Println(err)
	}
	// Output:
	// r1 with v1
	// r2 with v3
}
