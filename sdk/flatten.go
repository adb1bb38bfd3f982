package sdk

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// Flatten merges collections of the same type into one. The inputs must
// have the same window function.
func Flatten[T any](s Scope, pcs ...PCollection[T]) PCollection[T] {
	name := "Flatten"
	cols := make([]*graph.Collection, len(pcs))
	for i, pc := range pcs {
		cols[i] = pc.c
	}
	if !s.checkInputs(name, cols...) {
		return PCollection[T]{}
	}
	c, ok := inferCoder[T](s, name)
	if !ok {
		return PCollection[T]{}
	}
	w := globalWindowing
	for i, col := range cols {
		if i == 0 {
			w = col.Windowing
		} else if col.Windowing.Fn != w.Fn {
			s.fail(name, "input %d is windowed by %v but input 0 by %v; flattened inputs need the same windowing", i, col.Windowing.Fn, w.Fn)
			return PCollection[T]{}
		} else if t, t0 := col.Windowing.Trigger.String(), w.Trigger.String(); t != t0 {
			// As Beam Java: the output has one trigger.
			s.fail(name, "input %d is triggered by %s but input 0 by %s; flattened inputs need the same trigger", i, t, t0)
			return PCollection[T]{}
		}
	}
	t := s.p.g.AddTransform(s.parent, name, graph.KindFlatten)
	for i, col := range cols {
		t.Inputs = append(t.Inputs, graph.Input{Local: fmt.Sprintf("in%d", i), Coll: col})
	}
	out := addOutput(s, t, "out", c, w)
	t.Factory = operator.NewFlatten[T](opsOf(out.c))
	return out
}

// Reshuffle redistributes the elements of in across workers, breaking
// fusion: the steps after it run in parallel even when the steps before it
// could not (a single file, a small Create fanned out). Timestamps and
// windows are kept.
func Reshuffle[T any](s Scope, in PCollection[T], opts ...Option) PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "Reshuffle")
	if !s.checkInputs(name, in.c) {
		return PCollection[T]{}
	}
	comp := s.p.g.AddTransform(s.parent, name, graph.KindReshuffle)
	comp.Inputs = []graph.Input{{Local: "in", Coll: in.c}}
	cs := Scope{p: s.p, parent: comp}
	keyed := ParDo(cs, DoFn[T, KV[int64, KV[int64, T]]](&assignRandomKey[T]{}), in, Name("AssignKey"))
	if !keyed.IsValid() {
		return PCollection[T]{}
	}
	keyed.c.Windowing = reshuffleWindowing(in.c.Windowing)
	grouped := groupByKey(cs, "GroupByKey", keyed, false)
	out := ParDo(cs, DoFn[Group[int64, KV[int64, T]], T](funcDoFn[Group[int64, KV[int64, T]], T]{
		kind: "Restore", f: restoreTimestamps[T],
		ctxCall: restoreTimestamps[T]}), grouped, Name("Restore"))
	if out.IsValid() {
		out.c.Windowing = in.c.Windowing
	}
	comp.Outputs = []graph.Output{{Local: "out", Coll: out.c}}
	return out
}

// reshuffleWindowing is the strategy of a Reshuffle's grouping, as in Beam
// Java: every batch of elements is emitted at once and none is dropped as
// late, whatever the input's trigger; Restore then puts the input's
// strategy back.
func reshuffleWindowing(w graph.Windowing) graph.Windowing {
	w.Trigger = Always()
	w.Accumulation = window.Discarding
	w.TimestampCombiner = window.OutputAtEarliest
	w.AllowedLateness = time.Duration(math.MaxInt64)
	return w
}

// assignRandomKey keys elements round-robin from a random start per bundle
// and keeps each element's timestamp, which the GroupByKey would replace.
type assignRandomKey[T any] struct{ next int64 }

func (a *assignRandomKey[T]) StartBundle(context.Context) error {
	a.next = rand.Int64N(1 << 20)
	return nil
}

func (a *assignRandomKey[T]) ProcessElement(ctx context.Context, v T, emit func(KV[int64, KV[int64, T]])) error {
	a.next++
	emit(KV[int64, KV[int64, T]]{Key: a.next % 4096, Value: KV[int64, T]{Key: int64(operator.FromContext(ctx).Timestamp), Value: v}})
	return nil
}

func restoreTimestamps[T any](ctx context.Context, g Group[int64, KV[int64, T]], emit func(T)) {
	ec := operator.FromContext(ctx)
	for v := range g.Values {
		ec.Timestamp = window.Time(v.Key)
		emit(v.Value)
	}
}

// Partition splits in into n collections: element e goes to output
// fn(e, n), which must be in [0, n).
func Partition[T any](s Scope, n int, fn func(elem T, n int) int, in PCollection[T], opts ...Option) []PCollection[T] {
	o := collect(opts)
	name := pick(o.name, "Partition("+funcName(fn)+")")
	if n < 1 || fn == nil {
		s.fail(name, "needs n >= 1 and a partition function (n = %d)", n)
		return make([]PCollection[T], max(n, 0))
	}
	pf := &partitionFn[T]{f: fn, n: n}
	outs := make([]parDoOut[T], n)
	for i := range outs {
		outs[i] = output[T, T]{local: fmt.Sprintf("out%d", i)}
	}
	_, _, cols, ok := parDoN(s, name, pf, in, o, outs, func(core *operator.ParDoCore[T], _ any, emitFns []any) {
		emits := make([]func(T), n)
		for i, e := range emitFns {
			emits[i] = e.(func(T))
		}
		core.Process = func(_ context.Context, v T) error {
			i := fn(v, n)
			if i < 0 || i >= n {
				return fmt.Errorf("partition function returned %d, want [0, %d)", i, n)
			}
			emits[i](v)
			return nil
		}
	})
	res := make([]PCollection[T], n)
	if ok {
		for i, c := range cols {
			res[i] = PCollection[T]{c: c}
		}
	}
	return res
}

type partitionFn[T any] struct {
	f func(T, int) int
	n int
}

func (p *partitionFn[T]) transformName() string { return "Partition" }
func (p *partitionFn[T]) describe() *graph.FnInfo {
	return &graph.FnInfo{GoType: "Partition:" + funcName(p.f), Config: fmt.Sprintf(`{"n":%d}`, p.n)}
}
func (p *partitionFn[T]) clone() any { return p }
