package main

import (
	"context"
	"log"
	"os"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/beamgo-dev/beamgo/bench/internal/keyed"
)

// The stateful job (--job=stateful): package keyed's events through a
// DoFn that keeps, per key, a count in value state and the payloads in
// bag state and sets an event-time timer a minute after the key's latest
// event; the timer reports the key's totals and clears the state, as the
// main module's bench/stateful runs it.

var statefulConfig keyed.Config

// shardRange is a range [From, To) of the events.
type shardRange struct{ From, To int64 }

// genShards emits the ranges the events are generated in.
func genShards(_ []byte, emit func(shardRange)) {
	const shards = 8
	c := statefulConfig
	for i := range int64(shards) {
		emit(shardRange{From: i * c.Events / shards, To: (i + 1) * c.Events / shards})
	}
}

// genEvents emits the events of one range, timestamped and keyed.
func genEvents(r shardRange, emit func(beam.EventTime, int64, []byte)) {
	c := statefulConfig
	for i := r.From; i < r.To; i++ {
		e := c.At(i)
		emit(mtime.FromMilliseconds(e.Time), e.Key, c.PayloadOf(e.N))
	}
}

// perKeyFn is the benchmark's stateful DoFn.
type perKeyFn struct {
	Count  state.Value[int64]
	Values state.Bag[[]byte]
	Flush  timers.EventTime
}

func (f *perKeyFn) ProcessElement(ts beam.EventTime, sp state.Provider, tp timers.Provider, key int64, payload []byte, emit func(int64, int64)) error {
	n, _, err := f.Count.Read(sp)
	if err != nil {
		return err
	}
	if err := f.Count.Write(sp, n+1); err != nil {
		return err
	}
	if err := f.Values.Add(sp, payload); err != nil {
		return err
	}
	f.Flush.Set(tp, ts.ToTime().Add(keyed.FlushAfterMs*time.Millisecond))
	return nil
}

// The timer's report goes to this process's totals (the harness runs in
// this process, loopback).
var (
	// tmu guards statefulGot.
	tmu         sync.Mutex
	statefulGot keyed.Total
)

func (f *perKeyFn) OnTimer(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, key int64, timer timers.Context, emit func(int64, int64)) error {
	n, _, err := f.Count.Read(sp)
	if err != nil {
		return err
	}
	bag, _, err := f.Values.Read(sp)
	if err != nil {
		return err
	}
	sum := keyed.SumBag(bag)
	tmu.Lock()
	statefulGot.Add(n, int64(len(bag)), sum)
	tmu.Unlock()
	if err := f.Count.Clear(sp); err != nil {
		return err
	}
	return f.Values.Clear(sp)
}

func init() {
	register.Function2x0(genShards)
	register.Emitter1[shardRange]()
	register.Function2x0(genEvents)
	register.Emitter3[beam.EventTime, int64, []byte]()
	register.DoFn6x1[beam.EventTime, state.Provider, timers.Provider, int64, []byte, func(int64, int64), error](&perKeyFn{})
	register.Emitter2[int64, int64]()
}

func runStateful(c keyed.Config) {
	statefulConfig = c
	start := time.Now()
	p, s := beam.NewPipelineWithRoot()
	ranges := beam.Reshuffle(s, beam.ParDo(s, genShards, beam.Impulse(s)))
	events := beam.ParDo(s, genEvents, ranges)
	beam.ParDo(s, &perKeyFn{
		Count:  state.MakeValueState[int64]("count"),
		Values: state.MakeBagState[[]byte]("values"),
		Flush:  timers.InEventTime("flush"),
	}, events)
	if _, err := prism.Execute(context.Background(), p); err != nil {
		log.Fatalf("beam: %v", err)
	}
	tmu.Lock()
	got := statefulGot
	tmu.Unlock()
	sum := keyed.NewSummary("stateful-beam-prism", c, got, time.Since(start).Seconds())
	if err := sum.Print(os.Stdout); err != nil {
		log.Fatal(err)
	}
	if !sum.OK {
		log.Fatalf("beam: totals %+v, want %+v (with %d to %d keys flushed)", got, c.Want(), c.Want().Keys, c.MaxFlushes())
	}
}
