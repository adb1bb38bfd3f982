package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
)

// sidePipeline is a TestStream with outputs "main" and "side", each
// through a ParDo (WinMain, WinSide) into windowing ws, side then through
// SidePass (identity), and a sink ParDo Use reading main with side as an
// iterable side input; each ParDo in an environment of its own, so that
// each is a stage.
func sidePipeline(t *testing.T, ws string, events ...*pipepb.TestStreamPayload_Event) (b *pipeline, sidePC string) {
	b = newPipeline(t)
	comps := b.p.Components
	comps.Coders["iwindow"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderIntervalWindow}}
	fixed, err := proto.Marshal(&pipepb.FixedWindowsPayload{Size: durationpb.New(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	comps.WindowingStrategies["fixed10"] = &pipepb.WindowingStrategy{
		WindowFn: &pipepb.FunctionSpec{Urn: urns.WindowFnFixed, Payload: fixed}, WindowCoderId: "iwindow",
		Trigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_Default_{Default: &pipepb.Trigger_Default{}}}}
	comps.Environments["go3"] = &pipepb.Environment{Urn: urns.EnvDefault}
	comps.Environments["go4"] = &pipepb.Environment{Urn: urns.EnvDefault}
	outs := b.testStream("Events", []string{"main", "side"}, events...)
	main := b.pardoIn("go", "WinMain", false, outs["main"])
	side := b.pardoIn("go2", "WinSide", false, outs["side"])
	comps.Pcollections[main].WindowingStrategyId = ws
	comps.Pcollections[side].WindowingStrategyId = ws
	side = b.pardoIn("go4", "SidePass", false, side)
	comps.Pcollections[side].WindowingStrategyId = ws
	payload, err := proto.Marshal(&pipepb.ParDoPayload{
		DoFn:       &pipepb.FunctionSpec{Urn: urns.PayloadDoFn, Payload: []byte("Use")},
		SideInputs: map[string]*pipepb.SideInput{"side": {AccessPattern: &pipepb.FunctionSpec{Urn: urns.SideInputIterable}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.add("Use", &pipepb.FunctionSpec{Urn: urns.TransformParDo, Payload: payload}, []string{main}, nil, "go3")
	for _, tr := range comps.Transforms {
		if tr.GetUniqueName() == "Use" {
			tr.Inputs["side"] = side
		}
	}
	return b, side
}

// windowInto is the behaviour of WinMain and WinSide: it puts its input,
// in the global window, into the fixed 10 s window of its timestamp.
func windowInto(t *testing.T) behaviour {
	coders := map[string]*pipepb.Coder{
		"bytes": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderBytes}},
		"gw":    {Spec: &pipepb.FunctionSpec{Urn: urns.CoderGlobalWindow}},
		"iw":    {Spec: &pipepb.FunctionSpec{Urn: urns.CoderIntervalWindow}},
		"wvg":   {Spec: &pipepb.FunctionSpec{Urn: urns.CoderWindowedValue}, ComponentCoderIds: []string{"bytes", "gw"}},
		"wvi":   {Spec: &pipepb.FunctionSpec{Urn: urns.CoderWindowedValue}, ComponentCoderIds: []string{"bytes", "iw"}},
	}
	in, err := portWire(coders, "wvg")
	if err != nil {
		t.Fatal(err)
	}
	out, err := portWire(coders, "wvi")
	if err != nil {
		t.Fatal(err)
	}
	return func(_ context.Context, e []byte, emit, _ func([]byte)) error {
		v, _, err := in.wv.Decode(e)
		if err != nil {
			return err
		}
		start := v.Timestamp - v.Timestamp%10000
		v.Windows = []window.Window{window.Interval(start, start+10000)}
		emit(out.wv.Encode(nil, v))
		return nil
	}
}

// sideReader is the behaviour of Use: it records each element with the
// side input's contents for its window, as they are when it runs.
type sideReader struct {
	j      *job
	sidePC string
	mu     sync.Mutex
	seen   []string
}

func (r *sideReader) behaviour(_ context.Context, e []byte, _, _ func([]byte)) error {
	var use *stage
	for _, s := range r.j.stages {
		if s.gate != nil {
			use = s
		}
	}
	v, _, err := use.src.wv.Decode(e)
	if err != nil {
		return err
	}
	var contents []string
	for _, w := range v.Windows {
		rd := r.j.datasets[r.sidePC].open(w)
		buf := make([]byte, rd.Size())
		if _, err := rd.ReadAt(buf, 0); err != nil && len(buf) > 0 {
			return err
		}
		for len(buf) > 0 {
			n := int(buf[0])
			contents = append(contents, string(buf[1:1+n]))
			buf = buf[1+n:]
		}
	}
	slices.Sort(contents)
	r.mu.Lock()
	r.seen = append(r.seen, fmt.Sprintf("%s %v", v.Elem[1:], contents))
	r.mu.Unlock()
	return nil
}

func (r *sideReader) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.seen))
}

// TestMainInputWaitsForItsSideWindow: main4000 (window [0,10s)) waits
// until the side watermark passes 10 s and sees side2000 but not
// side3000, which arrives after; main11000 waits for [10s,20s) and sees
// side12000, which arrived after it.
func TestMainInputWaitsForItsSideWindow(t *testing.T) {
	b, sidePC := sidePipeline(t, "fixed10",
		addElements("main", 4000),
		addElements("side", 2000),
		advanceWatermark("side", 10000),
		addElements("side", 3000),
		addElements("main", 11000),
		addElements("side", 12000),
		advanceWatermark("side", 20000),
	)
	pl := b.plan()
	r := &sideReader{sidePC: sidePC}
	f := newFake(map[string]behaviour{"WinMain": windowInto(t), "WinSide": windowInto(t), "Use": r.behaviour})
	_, err := runJob(context.Background(), t, pl, testOptions(t, 2), f, func(j *job) { r.j = j; j.observe = checkWatermarks(t) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"main11000 [side12000]", "main4000 [side2000]"}
	if got := r.got(); !slices.Equal(got, want) {
		t.Errorf("Use saw %v, want %v", got, want)
	}
}

// TestStuckDumpNamesElementsWaitingForSideInputs: SidePass's stage holds
// its output watermark at 15 s for good, so main11000 waits for
// [10s,20s) forever and the StuckError names it. A snapshot of Use's
// stage taken while it waits records it as pending input, which a new
// job restores.
func TestStuckDumpNamesElementsWaitingForSideInputs(t *testing.T) {
	b, sidePC := sidePipeline(t, "fixed10",
		addElements("main", 4000, 11000),
		addElements("side", 2000, 12000),
	)
	pl := b.plan()
	r := &sideReader{sidePC: sidePC}
	f := newFake(map[string]behaviour{"WinMain": windowInto(t), "WinSide": windowInto(t), "Use": r.behaviour})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var snap []byte
	useIdx := -1
	_, err := runJob(ctx, t, pl, testOptions(t, 2), f, func(j *job) {
		r.j = j
		j.observe = func(j *job) {
			for i, s := range j.stages {
				if s.gate != nil && s.gate.elems > 0 {
					b := &snapBody{}
					s.encode(b)
					snap, useIdx = b.encode(nil), i
				}
			}
		}
		for _, s := range j.stages {
			if len(s.st.Transforms) > 0 && j.pl.Components.GetTransforms()[s.st.Transforms[0]].GetUniqueName() == "SidePass" {
				s.hold = 15000
			}
		}
	})
	var stuck *StuckError
	if !errors.As(err, &stuck) {
		t.Fatalf("Run = %v, want a *StuckError", err)
	}
	var waiting []StageState
	for _, s := range stuck.Stages {
		if s.SideWaiting > 0 {
			waiting = append(waiting, s)
		}
	}
	if len(waiting) != 1 || waiting[0].SideWaiting != 1 || !waiting[0].BlockedOnSideInputs {
		t.Fatalf("dump %v: want one stage with one element waiting for side inputs", err)
	}
	if !strings.Contains(err.Error(), "1 elements pushed back") || !strings.Contains(err.Error(), sidePC) ||
		!strings.Contains(err.Error(), "00:00:10.000Z") {
		t.Errorf("error %q does not name the waiting element's window and side input", err)
	}
	if want := []string{"main4000 [side2000]"}; !slices.Equal(r.got(), want) {
		t.Errorf("Use saw %v, want %v", r.got(), want)
	}

	if snap == nil {
		t.Fatal("no snapshot was taken while an element waited")
	}
	j, err := newJob(testOptions(t, 2), pl, newFake(nil), t.TempDir(), time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer j.close(context.Background())
	use := j.stages[useIdx]
	if err := use.decode(snapbuf.NewReader(snap, "test"), nil); err != nil {
		t.Fatalf("decode: %v", err)
	}
	var restored []string
	for _, b := range use.pending {
		for _, e := range b.elems {
			v, _, err := use.src.wv.Decode(e)
			if err != nil {
				t.Fatal(err)
			}
			restored = append(restored, fmt.Sprintf("%s %v", v.Elem[1:], v.Windows))
		}
	}
	if len(restored) != 1 || !strings.HasPrefix(restored[0], "main11000 ") || j.buffered <= 0 {
		t.Errorf("restored pending input %v (buffered %d bytes), want main11000, counted", restored, j.buffered)
	}
}

// TestTriggeredGlobalSideInputIsReadyAtItsFirstPane: a side input in the
// global window with a trigger is ready once a pane of it is committed,
// long before its producer finishes: main1000 runs right after side2000
// is committed, before the TestStream adds side5000.
func TestTriggeredGlobalSideInputIsReadyAtItsFirstPane(t *testing.T) {
	b, sidePC := sidePipeline(t, "everyTwo",
		addElements("side", 2000),
		addElements("main", 1000),
		addElements("side", 5000),
	)
	// Global windows: WinMain and WinSide pass elements on.
	pl := b.plan()
	r := &sideReader{sidePC: sidePC}
	f := newFake(map[string]behaviour{"Use": r.behaviour})
	_, err := runJob(context.Background(), t, pl, testOptions(t, 2), f, func(j *job) { r.j = j })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"main1000 [side2000]"}; !slices.Equal(r.got(), want) {
		t.Errorf("Use saw %v, want %v", r.got(), want)
	}
}
