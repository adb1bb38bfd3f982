package translate_test

import (
	"context"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/sdk"
)

// everyStateFn declares every kind of user state and timer.
type everyStateFn struct {
	Value   sdk.ValueState[string]
	Bag     sdk.BagState[int64]
	Sum     sdk.CombiningState[int64, int64, int64]
	Names   sdk.MapState[string, float64]
	Seen    sdk.SetState[string]
	List    sdk.OrderedListState[[]byte]
	Flush   sdk.EventTimeTimer
	Idle    sdk.ProcessingTimeTimer
	Dynamic sdk.EventTimeTimerFamily
	Prefix  string
}

func (f *everyStateFn) ProcessElement(ctx context.Context, kv sdk.KV[string, int64], emit func(string)) error {
	return nil
}

func (f *everyStateFn) OnTimer(ctx context.Context, t sdk.FiredTimer, emit func(string)) error {
	return nil
}

func (f *everyStateFn) OnWindowExpiration(ctx context.Context, emit func(string)) error { return nil }

func TestStatefulParDoTranslates(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []sdk.KV[string, int64]{sdk.Pair("a", int64(1))})
	sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int64], string](&everyStateFn{Sum: sdk.NewCombiningState[int64, int64, int64](sdk.SumFn[int64]{}), Prefix: "x"}), in, sdk.Name("Every"))
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatalf("ToProto: %v", err)
	}
	if err := validate.Pipeline(pb, nil); err != nil {
		t.Fatalf("validate.Pipeline: %v", err)
	}
	pd := parDoPayload(t, pb, "Every")
	gotKinds := map[string]string{}
	for id, spec := range pd.GetStateSpecs() {
		gotKinds[id] = spec.GetProtocol().GetUrn()
	}
	wantKinds := map[string]string{"Value": urns.UserStateBag, "Bag": urns.UserStateBag, "Sum": urns.UserStateBag,
		"Names": urns.UserStateMultimap, "Seen": urns.UserStateMultimap, "List": urns.UserStateOrderedList}
	if diff := cmp.Diff(wantKinds, gotKinds); diff != "" {
		t.Errorf("state protocols (-want +got):\n%s", diff)
	}
	if got := pd.GetStateSpecs()["Sum"].GetCombiningSpec().GetCombineFn().GetUrn(); got != urns.PayloadCombineFn {
		t.Errorf("combining state's CombineFn URN = %q, want %q", got, urns.PayloadCombineFn)
	}
	domains := map[string]pipepb.TimeDomain_Enum{}
	for id, spec := range pd.GetTimerFamilySpecs() {
		domains[id] = spec.GetTimeDomain()
		c := pb.GetComponents().GetCoders()[spec.GetTimerFamilyCoderId()]
		if c.GetSpec().GetUrn() != urns.CoderTimer {
			t.Errorf("timer family %q coder is %s, want %s", id, c.GetSpec().GetUrn(), urns.CoderTimer)
		}
	}
	wantDomains := map[string]pipepb.TimeDomain_Enum{"Flush": pipepb.TimeDomain_EVENT_TIME, "Idle": pipepb.TimeDomain_PROCESSING_TIME,
		"Dynamic": pipepb.TimeDomain_EVENT_TIME, sdk.ExpiryTimerFamily: pipepb.TimeDomain_EVENT_TIME}
	if diff := cmp.Diff(wantDomains, domains); diff != "" {
		t.Errorf("timer families (-want +got):\n%s", diff)
	}
	if got := pd.GetOnWindowExpirationTimerFamilySpec(); got != sdk.ExpiryTimerFamily {
		t.Errorf("on_window_expiration_timer_family_spec = %q, want %q", got, sdk.ExpiryTimerFamily)
	}
	if diff := cmp.Diff([]string{urns.RequirementOnWindowExpiration, urns.RequirementStatefulProcessing}, pb.GetRequirements()); diff != "" {
		t.Errorf("requirements (-want +got):\n%s", diff)
	}

	g, err := translate.FromProto(pb)
	if err != nil {
		t.Fatalf("FromProto: %v", err)
	}
	tr, ok := g.ByUniqueName("Every")
	if !ok || tr.Stateful == nil {
		t.Fatalf("FromProto lost the stateful declarations of Every: %+v", tr)
	}
	var kinds []graph.StateKind
	for _, s := range tr.Stateful.State {
		kinds = append(kinds, s.Kind)
	}
	// Decoded in id order: Bag, List, Names, Seen, Sum, Value.
	want := []graph.StateKind{graph.StateBag, graph.StateOrderedList, graph.StateMap, graph.StateSet, graph.StateCombining, graph.StateValue}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("decoded state kinds (-want +got):\n%s", diff)
	}
	if !tr.Stateful.OnWindowExpiration || len(tr.Stateful.Timers) != 3 {
		t.Errorf("decoded timers = %+v, OnWindowExpiration %v; want 3 timers and OnWindowExpiration", tr.Stateful.Timers, tr.Stateful.OnWindowExpiration)
	}
	if tr.Stateful.KeyCoder == nil || tr.Stateful.KeyCoder.Spec().URN != urns.CoderStringUTF8 {
		t.Errorf("decoded key coder = %v, want %s", tr.Stateful.KeyCoder, urns.CoderStringUTF8)
	}
	again, err := translate.GraphToProto(g, nil)
	if err != nil {
		t.Fatalf("GraphToProto(FromProto): %v", err)
	}
	if diff := cmp.Diff(len(pd.GetStateSpecs()), len(parDoPayload(t, again, "Every").GetStateSpecs())); diff != "" {
		t.Errorf("state specs after a round trip (-want +got):\n%s", diff)
	}
}

func parDoPayload(t *testing.T, pb *pipepb.Pipeline, name string) *pipepb.ParDoPayload {
	t.Helper()
	for _, pt := range pb.GetComponents().GetTransforms() {
		if pt.GetUniqueName() == name {
			var pd pipepb.ParDoPayload
			if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &pd); err != nil {
				t.Fatalf("ParDo payload of %s: %v", name, err)
			}
			return &pd
		}
	}
	t.Fatalf("no transform %q", name)
	return nil
}
