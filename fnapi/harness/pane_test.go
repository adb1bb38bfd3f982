package harness_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// paneFn describes the pane of each group it gets, as sdk.PaneOf sees it.
type paneFn struct{}

func (paneFn) ProcessElement(ctx context.Context, g sdk.Group[string, int64], emit func(string)) error {
	n := 0
	for range g.Values {
		n++
	}
	p := sdk.PaneOf(ctx)
	emit(fmt.Sprintf("%s:%d first=%v last=%v timing=%d index=%d ontime=%d", g.Key, n, p.IsFirst, p.IsLast, p.Timing, p.Index, p.NonSpeculativeIndex))
	return nil
}

// The pane of a grouped element travels from the runner's data stream
// through the harness's decoding to the DoFn's context, and on to its
// output.
func TestPaneReachesTheDoFnAndItsOutput(t *testing.T) {
	f := newFakeRunner(t)
	p := sdk.NewPipeline()
	s := p.Root()
	grouped := sdk.GroupByKey(s, sdk.Create(s, []sdk.KV[string, int64]{{Key: "unused"}}))
	out := sdk.ParDo(s, sdk.DoFn[sdk.Group[string, int64], string](paneFn{}), grouped, sdk.Name("Panes"))
	st := stageFor(t, f, p, "panes", []string{"Panes"}, sdkaccess.Collection(grouped), sdkaccess.Collection(out), nil)
	startHarness(t, f, p)

	in := coder.NewWindowedValue(coder.NewKV(coder.String(), coder.NewIterable(coder.Varint[int64]())), coder.GlobalWindow())
	early := window.Pane{IsFirst: true, Timing: window.TimingEarly, Index: 0, NonSpeculativeIndex: -1}
	late := window.Pane{IsLast: true, Timing: window.TimingLate, Index: 3, NonSpeculativeIndex: 2}
	var data []byte
	for _, v := range []struct {
		key  string
		vals []int64
		pane window.Pane
	}{{"a", []int64{1, 2}, early}, {"b", []int64{3}, late}} {
		data = in.Encode(data, window.Value[sdk.KV[string, []int64]]{Elem: sdk.Pair(v.key, v.vals), Timestamp: 5,
			Windows: window.GlobalWindows(), Pane: v.pane})
	}
	resp := f.instruct(processBundle("b1", "panes"))
	f.send("b1", st.in, data)
	outWV := coder.NewWindowedValue(coder.String(), coder.GlobalWindow())
	var got []string
	var panes []window.Pane
	for b := f.output("b1", st.out); len(b) > 0; {
		v, n, err := outWV.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		got, panes = append(got, v.Elem), append(panes, v.Pane)
		b = b[n:]
	}
	if r := f.await(resp); r.GetError() != "" {
		t.Fatalf("bundle failed: %s", r.GetError())
	}
	want := []string{
		"a:2 first=true last=false timing=0 index=0 ontime=-1",
		"b:1 first=false last=true timing=2 index=3 ontime=2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("DoFn saw panes\n%q\nwant\n%q", got, want)
	}
	if !slices.Equal(panes, []window.Pane{early, late}) {
		t.Errorf("outputs carry panes %+v, want the inputs' %+v", panes, []window.Pane{early, late})
	}
}
