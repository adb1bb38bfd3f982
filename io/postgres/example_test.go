package postgres_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/beamgo-dev/beamgo/io/postgres"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// The seed's example in update mode: a stream of numbers keyed by value % 10
// and counted, each running count upserted into counts(key, n) whenever it
// changes, exactly once, with n as the version so that an older count
// never overwrites a newer one. (A TestStream stands for the rate source;
// the example needs a server, so it is compiled, not run.)
func ExampleWrite() {
	p := sdk.NewPipeline()
	s := p.Root()
	rate := sdk.NewTestStream[int64](s)
	for second := range int64(5) {
		rate.AddElements(second*3, second*3+1, second*3+2)
		rate.AdvanceProcessingTime(time.Second)
	}
	rate.AdvanceWatermarkToInfinity()
	keys := sdk.Map(s, func(v int64) int64 { return v % 10 }, rate.Output())
	counts := sdk.CountElements(s, sdk.WindowInto(s, sdk.GlobalWindows(), keys,
		sdk.Triggering(sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(time.Second))),
		sdk.Accumulating()))
	postgres.Write(s, counts, func(c sdk.KV[int64, int64]) []any {
		return []any{c.Key, c.Value}
	}, postgres.Options{
		DSN:   os.Getenv("BEAMGO_POSTGRES_DSN"),
		Table: "counts", Columns: []string{"key", "n"},
		Mode: postgres.Upsert, Key: []string{"key"}, Version: "n",
		Shards: 2,
	})
	if _, err := local.New(nil).Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}
}
