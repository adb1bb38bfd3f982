package translate

import (
	"fmt"
	"maps"
	"slices"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// statefulSpecs adds the user state and timer declarations of a stateful
// ParDo to its payload, as Beam's StateSpec and TimerFamilySpec with
// standard coders, so that any Beam runner can serve them, and records the
// pipeline requirements they imply.
func (t *toProto) statefulSpecs(tr *graph.Transform, pd *pipepb.ParDoPayload) error {
	st := tr.Stateful
	if st == nil {
		return nil
	}
	t.require(urns.RequirementStatefulProcessing)
	for _, s := range st.State {
		spec, err := t.stateSpec(tr, s)
		if err != nil {
			return fmt.Errorf("state %q: %w", s.ID, err)
		}
		if pd.StateSpecs == nil {
			pd.StateSpecs = map[string]*pipepb.StateSpec{}
		}
		pd.StateSpecs[s.ID] = spec
	}
	timerCoder := t.coder(coder.Spec{URN: urns.CoderTimer, Components: []coder.Spec{st.KeyCoder.Spec(), st.WindowCoder.Spec()}})
	family := func(id string, d pipepb.TimeDomain_Enum) {
		if pd.TimerFamilySpecs == nil {
			pd.TimerFamilySpecs = map[string]*pipepb.TimerFamilySpec{}
		}
		pd.TimerFamilySpecs[id] = &pipepb.TimerFamilySpec{TimeDomain: d, TimerFamilyCoderId: timerCoder}
	}
	for _, tm := range st.Timers {
		d := pipepb.TimeDomain_EVENT_TIME
		if tm.Domain == graph.ProcessingTime {
			d = pipepb.TimeDomain_PROCESSING_TIME
		}
		family(tm.ID, d)
	}
	if st.OnWindowExpiration {
		t.require(urns.RequirementOnWindowExpiration)
		family(sdk.ExpiryTimerFamily, pipepb.TimeDomain_EVENT_TIME)
		pd.OnWindowExpirationTimerFamilySpec = sdk.ExpiryTimerFamily
	}
	return nil
}

// stateSpec translates one state declaration.
func (t *toProto) stateSpec(tr *graph.Transform, s graph.StateSpec) (*pipepb.StateSpec, error) {
	protocol := func(urn string) *pipepb.FunctionSpec { return &pipepb.FunctionSpec{Urn: urn} }
	switch s.Kind {
	case graph.StateValue:
		return &pipepb.StateSpec{Protocol: protocol(urns.UserStateBag), Spec: &pipepb.StateSpec_ReadModifyWriteSpec{
			ReadModifyWriteSpec: &pipepb.ReadModifyWriteStateSpec{CoderId: t.coder(s.Coder.Spec())}}}, nil
	case graph.StateBag:
		return &pipepb.StateSpec{Protocol: protocol(urns.UserStateBag), Spec: &pipepb.StateSpec_BagSpec{
			BagSpec: &pipepb.BagStateSpec{ElementCoderId: t.coder(s.Coder.Spec())}}}, nil
	case graph.StateCombining:
		payload, err := statePayload(tr, s)
		if err != nil {
			return nil, err
		}
		return &pipepb.StateSpec{Protocol: protocol(urns.UserStateBag), Spec: &pipepb.StateSpec_CombiningSpec{
			CombiningSpec: &pipepb.CombiningStateSpec{AccumulatorCoderId: t.coder(s.Coder.Spec()),
				CombineFn: &pipepb.FunctionSpec{Urn: urns.PayloadCombineFn, Payload: payload}}}}, nil
	case graph.StateMap:
		return &pipepb.StateSpec{Protocol: protocol(urns.UserStateMultimap), Spec: &pipepb.StateSpec_MapSpec{
			MapSpec: &pipepb.MapStateSpec{KeyCoderId: t.coder(s.KeyCoder.Spec()), ValueCoderId: t.coder(s.Coder.Spec())}}}, nil
	case graph.StateSet:
		return &pipepb.StateSpec{Protocol: protocol(urns.UserStateMultimap), Spec: &pipepb.StateSpec_SetSpec{
			SetSpec: &pipepb.SetStateSpec{ElementCoderId: t.coder(s.KeyCoder.Spec())}}}, nil
	case graph.StateOrderedList:
		return &pipepb.StateSpec{Protocol: protocol(urns.UserStateOrderedList), Spec: &pipepb.StateSpec_OrderedListSpec{
			OrderedListSpec: &pipepb.OrderedListStateSpec{ElementCoderId: t.coder(s.Coder.Spec())}}}, nil
	}
	return nil, fmt.Errorf("unknown state kind %d", s.Kind)
}

// statePayload is the function payload of a combining state's CombineFn:
// the transform's, naming the CombineFn's type and configuration.
func statePayload(tr *graph.Transform, s graph.StateSpec) ([]byte, error) {
	fake := &graph.Transform{UniqueName: tr.UniqueName, Fn: s.Combine}
	return fnPayload(fake)
}

// require adds a pipeline requirement once.
func (t *toProto) require(urn string) {
	if t.requirements == nil {
		t.requirements = map[string]bool{}
	}
	t.requirements[urn] = true
}

// stateful decodes the user state and timer declarations of a ParDo
// payload, or returns nil if it has none.
func (f *fromProto) stateful(pd *pipepb.ParDoPayload) (*graph.Stateful, error) {
	if len(pd.GetStateSpecs()) == 0 && len(pd.GetTimerFamilySpecs()) == 0 {
		return nil, nil
	}
	st := &graph.Stateful{}
	for _, id := range sortedKeys(pd.GetStateSpecs()) {
		s, err := f.stateSpec(id, pd.GetStateSpecs()[id])
		if err != nil {
			return nil, fmt.Errorf("state %q: %w", id, err)
		}
		st.State = append(st.State, s)
	}
	for _, id := range sortedKeys(pd.GetTimerFamilySpecs()) {
		spec := pd.GetTimerFamilySpecs()[id]
		if st.KeyCoder == nil {
			tc, err := f.anyCoder(spec.GetTimerFamilyCoderId())
			if err != nil {
				return nil, fmt.Errorf("timer family %q: %w", id, err)
			}
			if cs := tc.Spec(); cs.URN == urns.CoderTimer && len(cs.Components) == 2 {
				if st.KeyCoder, err = coder.FromSpec(cs.Components[0]); err != nil {
					return nil, err
				}
				if st.WindowCoder, err = coder.FromSpec(cs.Components[1]); err != nil {
					return nil, err
				}
			}
		}
		if id == pd.GetOnWindowExpirationTimerFamilySpec() {
			st.OnWindowExpiration = true
			continue
		}
		d := graph.EventTime
		if spec.GetTimeDomain() == pipepb.TimeDomain_PROCESSING_TIME {
			d = graph.ProcessingTime
		}
		st.Timers = append(st.Timers, graph.TimerSpec{ID: id, Domain: d})
	}
	return st, nil
}

func (f *fromProto) stateSpec(id string, spec *pipepb.StateSpec) (graph.StateSpec, error) {
	s := graph.StateSpec{ID: id}
	var err error
	switch sp := spec.GetSpec().(type) {
	case *pipepb.StateSpec_ReadModifyWriteSpec:
		s.Kind = graph.StateValue
		s.Coder, err = f.anyCoder(sp.ReadModifyWriteSpec.GetCoderId())
	case *pipepb.StateSpec_BagSpec:
		s.Kind = graph.StateBag
		s.Coder, err = f.anyCoder(sp.BagSpec.GetElementCoderId())
	case *pipepb.StateSpec_CombiningSpec:
		s.Kind = graph.StateCombining
		if s.Coder, err = f.anyCoder(sp.CombiningSpec.GetAccumulatorCoderId()); err == nil {
			s.Combine, err = fnInfo(sp.CombiningSpec.GetCombineFn())
		}
	case *pipepb.StateSpec_MapSpec:
		s.Kind = graph.StateMap
		if s.KeyCoder, err = f.anyCoder(sp.MapSpec.GetKeyCoderId()); err == nil {
			s.Coder, err = f.anyCoder(sp.MapSpec.GetValueCoderId())
		}
	case *pipepb.StateSpec_SetSpec:
		s.Kind = graph.StateSet
		s.KeyCoder, err = f.anyCoder(sp.SetSpec.GetElementCoderId())
		s.Coder = s.KeyCoder
	case *pipepb.StateSpec_OrderedListSpec:
		s.Kind = graph.StateOrderedList
		s.Coder, err = f.anyCoder(sp.OrderedListSpec.GetElementCoderId())
	default:
		return s, fmt.Errorf("unsupported state spec %T", spec.GetSpec())
	}
	return s, err
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
