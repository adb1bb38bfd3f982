package testutil

import (
	"context"
	"io"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/sdk"
)

// PacedTicks reads an unbounded rate source (unbounded.Rate) of the values
// 0, 1, 2, ..., perSecond a second of event time from start, each stamped
// start + value/perSecond and generated when due on the wall clock. It
// ends after count values (count 0: never), or as soon as stop (called
// from the reading bundles, in the process that runs them) returns true.
// It has the signature of runnertest.TickSource, for the suite's
// side-input cases, which may not import io.
func PacedTicks(s sdk.Scope, name string, start time.Time, perSecond int, count int64, stop func() bool) sdk.PCollection[int64] {
	src := stoppableRate{rate: unbounded.Rate{PerSecond: float64(perSecond), Start: start, Count: count}, stop: stop}
	ticks := unbounded.Read(s, src, unbounded.Options{Name: name, PollInterval: 20 * time.Millisecond, MaxReadTime: 200 * time.Millisecond})
	return sdk.Map(s.Scope(name), func(t unbounded.Tick) int64 { return t.Value }, ticks, sdk.Name("Value"))
}

// stoppableRate is a Rate whose partitions end once stop returns true.
type stoppableRate struct {
	rate unbounded.Rate
	stop func() bool
}

func (r stoppableRate) Partitions(ctx context.Context) ([]unbounded.RatePartition, error) {
	return r.rate.Partitions(ctx)
}

func (r stoppableRate) Open(ctx context.Context, p unbounded.RatePartition, mark *unbounded.RateMark) (unbounded.Reader[unbounded.Tick, unbounded.RateMark], error) {
	rd, err := r.rate.Open(ctx, p, mark)
	if err != nil {
		return nil, err
	}
	return &stoppableReader{Reader: rd, stop: r.stop}, nil
}

type stoppableReader struct {
	unbounded.Reader[unbounded.Tick, unbounded.RateMark]
	stop func() bool
}

func (rd *stoppableReader) Next(ctx context.Context) (unbounded.Record[unbounded.Tick], bool, error) {
	if rd.stop != nil && rd.stop() {
		return unbounded.Record[unbounded.Tick]{}, false, io.EOF
	}
	return rd.Reader.Next(ctx)
}
