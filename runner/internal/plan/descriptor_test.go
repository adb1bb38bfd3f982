package plan_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

var (
	dataURL  = &pipepb.ApiServiceDescriptor{Url: "localhost:1"}
	stateURL = &pipepb.ApiServiceDescriptor{Url: "localhost:2"}
)

// mustBuild builds the pipeline of b or fails the test.
func mustBuild(t *testing.T, b *builder, opts *plan.Options) *plan.Plan {
	t.Helper()
	pl, err := plan.Build(b.p, opts)
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	return pl
}

// stageRunning returns the stage whose transforms include the one named name.
func stageRunning(t *testing.T, pl *plan.Plan, name string) *plan.Stage {
	t.Helper()
	for _, s := range pl.Stages {
		for _, id := range s.Transforms {
			if pl.Components.Transforms[id].UniqueName == name {
				return s
			}
		}
	}
	t.Fatalf("no stage runs transform %q in plan:\n%v", name, pl)
	return nil
}

// describe calls Descriptor and checks the result is closed and wired.
func describe(t *testing.T, pl *plan.Plan, s *plan.Stage) (*fnpb.ProcessBundleDescriptor, *plan.Wiring) {
	t.Helper()
	before := proto.Clone(pl.Components)
	desc, w, err := s.Descriptor(pl, "bundle-"+string(s.ID), dataURL, stateURL)
	if err != nil {
		t.Fatalf("Descriptor(%s) = %v", s.ID, err)
	}
	if !proto.Equal(before, pl.Components) {
		t.Errorf("Descriptor(%s) modified the plan's components", s.ID)
	}
	if err := checkDescriptor(desc, w); err != nil {
		t.Errorf("Descriptor(%s) is not well formed:\n%v", s.ID, err)
	}
	again, _, err := s.Descriptor(pl, "bundle-"+string(s.ID), dataURL, stateURL)
	if err != nil || !proto.Equal(desc, again) {
		t.Errorf("Descriptor(%s) differs between calls (err %v)", s.ID, err)
	}
	return desc, w
}

// checkDescriptor checks that every reference in desc resolves, each
// PCollection has one producer, and the wiring's ports are the descriptor's
// sources and sinks with the given wire coders.
func checkDescriptor(desc *fnpb.ProcessBundleDescriptor, w *plan.Wiring) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	producers, sides := map[string]int{}, map[string]bool{}
	for _, si := range w.SideInputs {
		sides[desc.Transforms[si.Transform].GetInputs()[si.Local]] = true
	}
	for id, t := range desc.Transforms {
		for _, p := range t.Inputs {
			if desc.Pcollections[p] == nil {
				fail("transform %s reads missing PCollection %s", id, p)
			}
		}
		for _, p := range t.Outputs {
			producers[p]++
		}
		if env := t.EnvironmentId; env != "" && desc.Environments[env] == nil {
			fail("transform %s names missing environment %s", id, env)
		}
	}
	for id, pc := range desc.Pcollections {
		if want := 1 - btoi(sides[id]); producers[id] != want {
			fail("PCollection %s has %d producers, want %d", id, producers[id], want)
		}
		if desc.Coders[pc.CoderId] == nil {
			fail("PCollection %s names missing coder %s", id, pc.CoderId)
		}
		ws := desc.WindowingStrategies[pc.WindowingStrategyId]
		if ws == nil || desc.Coders[ws.WindowCoderId] == nil {
			fail("PCollection %s: windowing strategy %s or its window coder is missing", id, pc.WindowingStrategyId)
		}
	}
	for id, c := range desc.Coders {
		for _, cc := range c.ComponentCoderIds {
			if desc.Coders[cc] == nil {
				fail("coder %s names missing component %s", id, cc)
			}
		}
	}
	for _, p := range append([]plan.Port{w.Source}, w.Sinks...) {
		checkPort(desc, p, fail)
	}
	if desc.StateApiServiceDescriptor.GetUrl() != stateURL.Url {
		fail("state API at %v, want %v", desc.StateApiServiceDescriptor, stateURL)
	}
	return errors.Join(errs...)
}

// btoi is 1 for true and 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkPort checks that port p is a source or sink transform of desc whose
// RemoteGrpcPort names the data endpoint and a windowed value coder.
func checkPort(desc *fnpb.ProcessBundleDescriptor, p plan.Port, fail func(string, ...any)) {
	t := desc.Transforms[p.Transform]
	if t == nil || (t.Spec.Urn != urns.TransformSource && t.Spec.Urn != urns.TransformSink) {
		fail("port %+v is not a source or sink transform: %v", p, t)
		return
	}
	var port fnpb.RemoteGrpcPort
	if err := proto.Unmarshal(t.Spec.Payload, &port); err != nil {
		fail("port %s: payload is not a RemoteGrpcPort: %v", p.Transform, err)
		return
	}
	if port.CoderId != p.Coder || port.ApiServiceDescriptor.GetUrl() != dataURL.Url {
		fail("port %s: RemoteGrpcPort %v, want coder %s at %s", p.Transform, &port, p.Coder, dataURL.Url)
	}
	if c := desc.Coders[p.Coder]; c.GetSpec().GetUrn() != urns.CoderWindowedValue || len(c.GetComponentCoderIds()) != 2 {
		fail("port %s: wire coder %v is not a windowed value coder", p.Transform, c)
	}
}

// coderTree renders coder id of desc as nested URN names, for comparisons.
func coderTree(desc *fnpb.ProcessBundleDescriptor, id string) string {
	c := desc.Coders[id]
	if c == nil {
		return "missing(" + id + ")"
	}
	s := c.Spec.Urn
	if len(c.ComponentCoderIds) > 0 {
		s += "["
		for i, cc := range c.ComponentCoderIds {
			if i > 0 {
				s += " "
			}
			s += coderTree(desc, cc)
		}
		s += "]"
	}
	return s
}

// wireTree renders the element coder inside the windowed value coder of port p.
func wireTree(desc *fnpb.ProcessBundleDescriptor, p plan.Port) string {
	return coderTree(desc, desc.Coders[p.Coder].ComponentCoderIds[0])
}

const (
	lpRow    = urns.CoderLengthPrefix + "[" + urns.CoderRow + "]"
	lpCustom = urns.CoderLengthPrefix + "[" + urns.CoderCustom + "]"
)

func TestDescriptorOfLiftedWordCount(t *testing.T) {
	b := newBuilder(t)
	wordCount(b)
	pl := mustBuild(t, b, nil)
	desc, w := describe(t, pl, pl.Stages[0])

	wantTransforms := map[string]string{
		"s0/source": urns.TransformSource, "t4": urns.TransformParDo, "t6": urns.TransformParDo,
		"t8/precombine": urns.TransformCombinePerKeyPrecombine, "s0/sink/t8/lifted": urns.TransformSink,
	}
	gotTransforms := map[string]string{}
	for id, t := range desc.Transforms {
		gotTransforms[id] = t.Spec.Urn
	}
	if diff := cmp.Diff(wantTransforms, gotTransforms); diff != "" {
		t.Errorf("Descriptor(s0) transforms mismatch (-want +got):\n%s", diff)
	}
	if got, want := w.Source, (plan.Port{Transform: "s0/source", PCollection: "p1", Coder: w.Source.Coder}); got != want {
		t.Errorf("Descriptor(s0) source = %+v, want %+v", got, want)
	}
	if len(w.Sinks) != 1 || w.Sinks[0].PCollection != "t8/lifted" {
		t.Fatalf("Descriptor(s0) sinks = %+v, want one for t8/lifted", w.Sinks)
	}
	want := urns.CoderKV + "[" + urns.CoderStringUTF8 + " " + lpCustom + "]"
	if got := wireTree(desc, w.Sinks[0]); got != want {
		t.Errorf("Descriptor(s0) sink element coder = %s, want %s", got, want)
	}
	if got := desc.Transforms["t8/precombine"].Inputs["i0"]; got != "p5" {
		t.Errorf("precombine reads %s, want p5", got)
	}
}

// The GroupByKey of a lifted combine names the combine's CombineFn, so
// that a runner that can run it merges the accumulators it groups; a
// combine run unlifted names none.
func TestLiftedGroupByKeyNamesItsCombineFn(t *testing.T) {
	b := newBuilder(t)
	wordCount(b)
	pl := mustBuild(t, b, nil)
	var cp pipepb.CombinePayload
	if err := proto.Unmarshal(b.p.GetComponents().GetTransforms()["t8"].GetSpec().GetPayload(), &cp); err != nil {
		t.Fatal(err)
	}
	in := pl.Stages[1].Input
	if in.Kind != plan.InputGrouped || !proto.Equal(in.CombineFn, cp.GetCombineFn()) {
		t.Errorf("grouped stage input %s: CombineFn %v, want the combine's %v", in.Transform, in.CombineFn, cp.GetCombineFn())
	}
	b = newBuilder(t)
	wordCount(b)
	pl = mustBuild(t, b, &plan.Options{DisableLifting: true})
	for _, s := range pl.Stages {
		if s.Input.CombineFn != nil {
			t.Errorf("unlifted: stage %v names CombineFn %v", s.ID, s.Input.CombineFn)
		}
	}
}

func TestDescriptorLengthPrefixesUnknownCoders(t *testing.T) {
	tests := []struct {
		name  string
		coder string
		want  string
	}{
		{"a known coder is sent as is", "kv", urns.CoderKV + "[" + urns.CoderStringUTF8 + " " + urns.CoderVarInt + "]"},
		{"a row coder is length prefixed", "row", lpRow},
		{"a row inside a KV is length prefixed in place", "kv_row", urns.CoderKV + "[" + urns.CoderStringUTF8 + " " + lpRow + "]"},
		{"a custom coder is length prefixed", "custom", lpCustom},
		{"a length prefix is not wrapped again", "lpcustom", lpCustom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder(t)
			out := b.do("Read", b.impulse("Impulse"), tt.coder)
			b.sink("Write", b.reshuffle("Reshuffle", out))
			pl := mustBuild(t, b, nil)
			desc0, w0 := describe(t, pl, pl.Stages[0])
			desc1, w1 := describe(t, pl, pl.Stages[1])
			if got := wireTree(desc0, w0.Sinks[0]); got != tt.want {
				t.Errorf("sink element coder = %s, want %s", got, tt.want)
			}
			if got := wireTree(desc1, w1.Source); got != tt.want {
				t.Errorf("source element coder = %s, want %s", got, tt.want)
			}
			target := pl.Stages[1].Input.Target
			if got := coderTree(desc1, desc1.Pcollections[target].CoderId); got != tt.want {
				t.Errorf("target %s coder in the reading stage = %s, want %s", target, got, tt.want)
			}
		})
	}
}

func TestDescriptorWiresSideInputs(t *testing.T) {
	b := newBuilder(t)
	main := b.do("Main", b.impulse("Impulse"), "kv")
	sides := b.impulse("SideImpulse")
	limit := b.do("Limit", sides, "varint")
	table := b.do("Table", sides, "kv_row")
	b.sink("Write", b.do("Join", main, "string", iterable(limit), multimap(table)))
	pl := mustBuild(t, b, nil)
	s := stageRunning(t, pl, "Join")
	desc, w := describe(t, pl, s)

	join := s.SideInputs[0].Transform
	if len(w.SideInputs) != 2 {
		t.Fatalf("Descriptor() side inputs = %+v, want 2", w.SideInputs)
	}
	// The iterable side input has a known coder and keeps its PCollection.
	if got := desc.Transforms[join].Inputs["i0"]; got != limit {
		t.Errorf("Join input i0 = %s, want %s", got, limit)
	}
	if got, want := coderTree(desc, w.SideInputs[0].Coder), urns.CoderVarInt; got != want {
		t.Errorf("iterable side input coder = %s, want %s", got, want)
	}
	// The multimap side input is rewired to a length-prefixed row.
	rewired := desc.Transforms[join].Inputs["i1"]
	if rewired == table || desc.Pcollections[rewired] == nil {
		t.Fatalf("Join input i1 = %s, want a new PCollection replacing %s", rewired, table)
	}
	want := urns.CoderKV + "[" + urns.CoderStringUTF8 + " " + lpRow + "]"
	if got := coderTree(desc, desc.Pcollections[rewired].CoderId); got != want {
		t.Errorf("multimap side input PCollection coder = %s, want %s", got, want)
	}
	if w.SideInputs[1].Coder != desc.Pcollections[rewired].CoderId || w.SideInputs[1].PCollection != table {
		t.Errorf("multimap side input port = %+v, want coder %s for PCollection %s", w.SideInputs[1], desc.Pcollections[rewired].CoderId, table)
	}
	if desc.Pcollections[table] != nil {
		t.Errorf("Descriptor() keeps the replaced side input PCollection %s", table)
	}
	if got := coderTree(desc, w.SideInputs[1].WindowCoder); got != urns.CoderGlobalWindow {
		t.Errorf("side input window coder = %s, want %s", got, urns.CoderGlobalWindow)
	}
}

func TestDescriptorOfFlattenAcrossStagesHasOneSource(t *testing.T) {
	b := newBuilder(t)
	a := b.do("ReadA", b.impulse("ImpulseA"), "string")
	c := b.do("ReadB", b.impulse("ImpulseB"), "string")
	b.sink("Write", b.flatten("Flatten", a, c, a))
	pl := mustBuild(t, b, nil)
	s := stageRunning(t, pl, "Write")
	desc, w := describe(t, pl, s)
	if diff := cmp.Diff([]string{a, c, a}, s.Input.PCollections); diff != "" {
		t.Errorf("stage input PCollections mismatch (-want +got):\n%s", diff)
	}
	if w.Source.PCollection != s.Input.Target {
		t.Errorf("Descriptor() source = %+v, want one producing the target %s", w.Source, s.Input.Target)
	}
	var sources int
	for _, t := range desc.Transforms {
		if t.Spec.Urn == urns.TransformSource {
			sources++
		}
	}
	if sources != 1 {
		t.Errorf("Descriptor() has %d source transforms, want 1", sources)
	}
}

func TestDescriptorOfGroupedStageReadsTheGroups(t *testing.T) {
	b := newBuilder(t)
	b.sink("Write", b.gbk("GroupByKey", b.do("Read", b.impulse("Impulse"), "kv")))
	pl := mustBuild(t, b, nil)
	s := stageRunning(t, pl, "Write")
	desc, w := describe(t, pl, s)
	if w.Source.PCollection != s.Input.Target {
		t.Fatalf("Descriptor() source = %+v, want one for the target %s", w.Source, s.Input.Target)
	}
	want := urns.CoderKV + "[" + urns.CoderStringUTF8 + " " + urns.CoderIterable + "[" + urns.CoderVarInt + "]]"
	if got := wireTree(desc, w.Source); got != want {
		t.Errorf("grouped source element coder = %s, want %s", got, want)
	}
	if len(w.Sinks) != 0 {
		t.Errorf("Descriptor() sinks = %+v, want none", w.Sinks)
	}
}

func TestDescriptorSetsTimerEndpointOnlyForTimers(t *testing.T) {
	b := newBuilder(t)
	b.sink("Write", b.do("Read", b.impulse("Impulse"), "kv"))
	pl := mustBuild(t, b, nil)
	desc, _ := describe(t, pl, pl.Stages[0])
	if desc.TimerApiServiceDescriptor != nil {
		t.Errorf("Descriptor() timer API = %v, want none without timers", desc.TimerApiServiceDescriptor)
	}

	payload := &pipepb.ParDoPayload{
		DoFn:             &pipepb.FunctionSpec{Urn: urns.PayloadDoFn},
		TimerFamilySpecs: map[string]*pipepb.TimerFamilySpec{"flush": {TimerFamilyCoderId: "varint"}},
	}
	pl.Components.Transforms["t4"].Spec.Payload = b.marshal(payload)
	desc, _ = describe(t, pl, pl.Stages[0])
	if desc.TimerApiServiceDescriptor.GetUrl() != dataURL.Url {
		t.Errorf("Descriptor() timer API = %v, want %v", desc.TimerApiServiceDescriptor, dataURL)
	}
}

func TestDescriptorReportsMissingCoder(t *testing.T) {
	b := newBuilder(t)
	b.sink("Write", b.do("Read", b.impulse("Impulse"), "kv"))
	pl := mustBuild(t, b, nil)
	delete(pl.Components.Coders, "varint")
	_, _, err := pl.Stages[0].Descriptor(pl, "x", dataURL, stateURL)
	if want := `plan: descriptor of stage s0: PCollection "p3": coder "varint" is missing`; err == nil || err.Error() != want {
		t.Errorf("Descriptor() = %v, want %q", err, want)
	}
}

func TestDescriptorOfEmptyStagePassesItsInputOn(t *testing.T) {
	b := newBuilder(t)
	kv := b.do("Key", b.impulse("Impulse"), "kv")
	b.sink("Write", b.gbk("GroupByKey2", b.gbk("GroupByKey1", kv)))
	pl := mustBuild(t, b, nil)
	s := pl.Stage("s1")
	if s == nil || len(s.Transforms) != 0 || len(s.Outputs) != 1 || s.Outputs[0] != s.Input.Target {
		t.Fatalf("Stage(s1) = %+v, want an empty stage whose output is its target", s)
	}
	desc, w := describe(t, pl, s)
	if len(desc.Transforms) != 2 || w.Source.PCollection != s.Input.Target || w.Sinks[0].PCollection != s.Input.Target {
		t.Errorf("Descriptor(s1) = %v with wiring %+v, want a source feeding a sink", desc.Transforms, w)
	}
	if w.Source.Coder != w.Sinks[0].Coder {
		t.Errorf("Descriptor(s1) source coder %s, sink coder %s, want the same", w.Source.Coder, w.Sinks[0].Coder)
	}
}

// TestDescriptorLengthPrefixesOrderedListValues checks that an ordered
// list state's element coder reaches the SDK length-prefixed, once, so
// that every SDK sends the Fn API's entry format (a varint sort key and a
// length-prefixed value) that the runner cuts appends apart by.
func TestDescriptorLengthPrefixesOrderedListValues(t *testing.T) {
	b := newBuilder(t)
	b.sink("Write", b.do("Read", b.impulse("Impulse"), "kv"))
	pl := mustBuild(t, b, nil)
	list := func(coder string) *pipepb.StateSpec {
		return &pipepb.StateSpec{Spec: &pipepb.StateSpec_OrderedListSpec{OrderedListSpec: &pipepb.OrderedListStateSpec{ElementCoderId: coder}}}
	}
	payload := &pipepb.ParDoPayload{
		DoFn: &pipepb.FunctionSpec{Urn: urns.PayloadDoFn},
		StateSpecs: map[string]*pipepb.StateSpec{
			"ints": list("varint"), "more": list("varint"), "custom": list("lpcustom"),
			"bag": {Spec: &pipepb.StateSpec_BagSpec{BagSpec: &pipepb.BagStateSpec{ElementCoderId: "varint"}}},
		},
	}
	pl.Components.Transforms["t4"].Spec.Payload = b.marshal(payload)
	desc, _ := describe(t, pl, pl.Stages[0])
	var got pipepb.ParDoPayload
	if err := proto.Unmarshal(desc.Transforms["t4"].GetSpec().GetPayload(), &got); err != nil {
		t.Fatal(err)
	}
	trees := map[string]string{}
	for id, s := range got.StateSpecs {
		if ol := s.GetOrderedListSpec(); ol != nil {
			trees[id] = coderTree(desc, ol.GetElementCoderId())
		} else {
			trees[id] = coderTree(desc, s.GetBagSpec().GetElementCoderId())
		}
	}
	want := map[string]string{
		"ints": urns.CoderLengthPrefix + "[" + urns.CoderVarInt + "]", "more": urns.CoderLengthPrefix + "[" + urns.CoderVarInt + "]",
		"custom": lpCustom, "bag": urns.CoderVarInt,
	}
	if diff := cmp.Diff(want, trees); diff != "" {
		t.Errorf("state coders in the descriptor (-want +got):\n%s", diff)
	}
	if a, b := got.StateSpecs["ints"].GetOrderedListSpec().GetElementCoderId(), got.StateSpecs["more"].GetOrderedListSpec().GetElementCoderId(); a != b {
		t.Errorf("two ordered lists of one coder got two length prefixes, %q and %q", a, b)
	}
}
