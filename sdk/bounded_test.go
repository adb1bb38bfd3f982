package sdk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

type sideCount struct{ Side *sdk.IterView[int64] }

func (f *sideCount) ProcessElement(ctx context.Context, v int64, emit func(int64)) error {
	for x := range f.Side.Get(ctx) {
		v += x
	}
	emit(v)
	return nil
}

func TestBoundednessPropagates(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[int64](s)
	ts.AddElements(1)
	stream := sdk.WindowInto(s, window.FixedFn(time.Minute), ts.Output())
	batch := sdk.WindowInto(s, window.FixedFn(time.Minute), sdk.Create(s, []int64{1, 2}))
	keyed := sdk.MapKV(s, func(v int64) (int64, int64) { return v % 2, v }, stream)
	side := &sideCount{Side: sdk.AsIter(stream)}
	parts := sdk.Partition(s, 2, func(v int64, n int) int { return int(v) % n }, stream)
	tag := sdk.NewTag(keyed)
	batchSide := sdk.AsIter(batch)
	unbounded := map[string]bool{
		"TestStream output":                    ts.Output().IsBounded(),
		"WindowInto":                           stream.IsBounded(),
		"Map":                                  keyed.IsBounded(),
		"Flatten of bounded and not":           sdk.Flatten(s, batch, stream).IsBounded(),
		"GroupByKey":                           sdk.GroupByKey(s, keyed).IsBounded(),
		"CombinePerKey":                        sdk.SumPerKey(s, keyed).IsBounded(),
		"CombineGlobally":                      sdk.Sum(s, stream).IsBounded(),
		"CombineGlobally in the global window": sdk.Sum(s, sdk.WindowInto(s, window.GlobalFn(), ts.Output(), sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(1))))).IsBounded(),
		"CoGroupByKey":                         sdk.CoGroupByKey(s, []sdk.Tagged[int64]{tag}).IsBounded(),
		"Reshuffle":                            sdk.Reshuffle(s, stream).IsBounded(),
		"Partition":                            parts[1].IsBounded(),
		"ParDo with bounded side":              sdk.ParDo(s, sdk.DoFn[int64, int64](&sideCount{Side: batchSide}), stream, sdk.WithSideInput(batchSide)).IsBounded(),
	}
	bounded := map[string]bool{
		"Create":                       batch.IsBounded(),
		"ParDo with an unbounded side": sdk.ParDo(s, sdk.DoFn[int64, int64](side), batch, sdk.WithSideInput(side.Side)).IsBounded(),
	}
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	for name, b := range unbounded {
		if b {
			t.Errorf("%s is bounded, want unbounded", name)
		}
	}
	for name, b := range bounded {
		if !b {
			t.Errorf("%s is unbounded, want bounded (side inputs do not make outputs unbounded)", name)
		}
	}
}

func TestMarkUnbounded(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	src := sdk.Map(s, func(b []byte) int { return len(b) }, sdk.Impulse(s), sdk.Name("Source"))
	sdk.MarkUnbounded(s, src)
	out := sdk.Map(s, func(v int) int { return v }, src)
	if src.IsBounded() || out.IsBounded() {
		t.Errorf("marked source bounded = %v, its consumer %v; want both unbounded", src.IsBounded(), out.IsBounded())
	}
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	late := sdk.Create(s, []int{1})
	_ = sdk.Map(s, func(v int) int { return v }, late, sdk.Name("Reader"))
	sdk.MarkUnbounded(s, late)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "already read by Reader") {
		t.Errorf("Err() = %v, want an error naming the reader", err)
	}
	if !late.IsBounded() {
		t.Errorf("a collection refused by MarkUnbounded became unbounded")
	}
}

func TestFlattenRefusesDifferentTriggers(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []int{1})
	a := sdk.WindowInto(s, window.FixedFn(time.Minute), in)
	b := sdk.WindowInto(s, window.FixedFn(time.Minute), in, sdk.Triggering(sdk.Repeatedly(sdk.AfterCount(1))))
	sdk.Flatten(s, a, b)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "input 1 is triggered by Repeatedly(AfterCount(1)) but input 0 by Default") {
		t.Errorf("Err() = %v, want an error naming both triggers", err)
	}
}

func TestReshuffleGroupsWithJavasStrategyAndRestoresTheInputs(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[int](s)
	ts.AddElements(1)
	in := sdk.WindowInto(s, window.FixedFn(time.Minute), ts.Output(), sdk.Triggering(sdk.AfterWatermark()), sdk.AllowedLateness(time.Hour), sdk.AllowUnsafeTriggers())
	out := sdk.Reshuffle(s, in)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := sdkaccess.Collection(out).Windowing.Key(), sdkaccess.Collection(in).Windowing.Key(); got != want {
		t.Errorf("Reshuffle output strategy %s, want the input's %s", got, want)
	}
	g := sdkaccess.Graph(p)
	gbk, ok := g.ByUniqueName("Reshuffle/GroupByKey")
	if !ok {
		t.Fatal("no Reshuffle/GroupByKey")
	}
	w := gbk.Inputs[0].Coll.Windowing
	if w.Trigger.Kind != window.TriggerAlways || w.TimestampCombiner != window.OutputAtEarliest || w.AllowedLateness < 100*365*24*time.Hour {
		t.Errorf("Reshuffle groups with %v, want Always, earliest timestamps and unbounded lateness", w.Strategy)
	}
}
