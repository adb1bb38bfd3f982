package plan_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

func TestBuildRefusesWhatTheRunnersCannotDo(t *testing.T) {
	tests := []struct {
		name   string
		change func(*pipepb.ParDoPayload)
		want   string
	}{
		{"A ParDo that needs time-sorted input is refused.", func(p *pipepb.ParDoPayload) {
			p.RequiresTimeSortedInput = true
		}, `transform "Stateful" requires time-sorted input`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder(t)
			id := b.add("Stateful", b.pardoSpec(urns.TransformParDo, nil), []string{b.gbk("GBK", b.do("Key", b.impulse("Impulse"), "kv"))}, nil, b.env)
			var payload pipepb.ParDoPayload
			if err := proto.Unmarshal(b.comps().Transforms[id].Spec.Payload, &payload); err != nil {
				t.Fatal(err)
			}
			tt.change(&payload)
			b.comps().Transforms[id].Spec.Payload = b.marshal(&payload)
			_, err := plan.Build(b.p, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestAParDoWithBagStateGetsAKeyedStage(t *testing.T) {
	b := newBuilder(t)
	id := b.add("Stateful", b.pardoSpec(urns.TransformParDo, nil), []string{b.do("Key", b.impulse("Impulse"), "kv")}, nil, b.env)
	var payload pipepb.ParDoPayload
	if err := proto.Unmarshal(b.comps().Transforms[id].Spec.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	payload.StateSpecs = map[string]*pipepb.StateSpec{"seen": {Spec: &pipepb.StateSpec_BagSpec{BagSpec: &pipepb.BagStateSpec{ElementCoderId: "varint"}}}}
	b.comps().Transforms[id].Spec.Payload = b.marshal(&payload)
	pl, err := plan.Build(b.p, nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var found bool
	for _, st := range pl.Stages {
		if st.Input.Kind == plan.InputKeyed {
			found = true
			if len(st.Transforms) != 1 || st.Transforms[0] != id {
				t.Errorf("keyed stage runs %v, want only the stateful ParDo %s", st.Transforms, id)
			}
		}
	}
	if !found {
		t.Errorf("no stage has a keyed input:\n%s", pl)
	}
}

func TestAParDoWithTimersGetsAKeyedStageDescribingThem(t *testing.T) {
	b := newBuilder(t)
	id := b.add("Stateful", b.pardoSpec(urns.TransformParDo, nil), []string{b.do("Key", b.impulse("Impulse"), "kv")}, nil, b.env)
	var payload pipepb.ParDoPayload
	if err := proto.Unmarshal(b.comps().Transforms[id].Spec.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	payload.StateSpecs = map[string]*pipepb.StateSpec{"names": {Spec: &pipepb.StateSpec_MapSpec{MapSpec: &pipepb.MapStateSpec{KeyCoderId: "varint", ValueCoderId: "varint"}}}}
	payload.TimerFamilySpecs = map[string]*pipepb.TimerFamilySpec{
		"flush": {TimeDomain: pipepb.TimeDomain_EVENT_TIME, TimerFamilyCoderId: "varint"},
		"idle":  {TimeDomain: pipepb.TimeDomain_PROCESSING_TIME, TimerFamilyCoderId: "varint"},
	}
	payload.OnWindowExpirationTimerFamilySpec = "expiry"
	b.comps().Transforms[id].Spec.Payload = b.marshal(&payload)
	pl, err := plan.Build(b.p, nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	for _, st := range pl.Stages {
		if st.Input.Kind != plan.InputKeyed {
			continue
		}
		want := &plan.Stateful{Transform: id, ExpiryFamily: "expiry",
			Families: map[string]plan.TimeDomain{"flush": plan.EventTime, "idle": plan.ProcessingTime, "expiry": plan.EventTime}}
		if diff := cmp.Diff(want, st.Input.Stateful); diff != "" {
			t.Errorf("keyed stage's Stateful (-want +got):\n%s", diff)
		}
		if st.Input.Windowing == nil {
			t.Errorf("keyed stage has no windowing strategy")
		}
		return
	}
	t.Errorf("no stage has a keyed input:\n%s", pl)
}
