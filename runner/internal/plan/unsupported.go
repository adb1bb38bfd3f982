package plan

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/urns"
)

// checkSupported refuses leaves that need what the runners cannot do yet:
// ParDos with map, set, multimap or ordered-list user state, with timers,
// or that must see their elements in order per key. The error names the transform and the feature, so a job
// fails when it is planned, before anything runs.
func checkSupported(comps *pipepb.Components, leaves []string) error {
	for _, id := range leaves {
		t := comps.GetTransforms()[id]
		if !pardoLike(t.GetSpec().GetUrn()) {
			continue
		}
		var pardo pipepb.ParDoPayload
		if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pardo); err != nil {
			return fmt.Errorf("plan: transform %q: payload is not a ParDoPayload: %w", t.GetUniqueName(), err)
		}
		for _, sid := range sortedIDs(pardo.GetStateSpecs()) {
			switch pardo.GetStateSpecs()[sid].GetSpec().(type) {
			case *pipepb.StateSpec_BagSpec, *pipepb.StateSpec_ReadModifyWriteSpec, *pipepb.StateSpec_CombiningSpec:
			default:
				return fmt.Errorf("plan: transform %q declares user state %q of kind %T: only bag, value (read-modify-write) and combining state are supported by this runner yet",
					t.GetUniqueName(), sid, pardo.GetStateSpecs()[sid].GetSpec())
			}
		}
		if ids := sortedIDs(pardo.GetTimerFamilySpecs()); len(ids) > 0 {
			return fmt.Errorf("plan: transform %q declares timers %q: timers are not supported by this runner yet", t.GetUniqueName(), ids)
		}
		if pardo.GetRequiresTimeSortedInput() {
			return fmt.Errorf("plan: transform %q requires time-sorted input, which this runner does not support yet", t.GetUniqueName())
		}
	}
	return nil
}

func sortedIDs[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// urnKeyedBundles is the runner-side transform the planner puts before a
// ParDo with user state: its output is its input, grouped into bundles by
// key and window (InputKeyed).
const urnKeyedBundles = "beamgo:runner:keyed_bundles:v1"

// expandStateful gives a ParDo leaf with user state a keyed input: a
// keyedBundles transform before its main input, so that every element of
// a key and window is processed in one bundle, which the bundle-scoped
// state of the runners' state service then serves correctly. Other ParDos
// are left alone.
func (x *expander) expandStateful(id string, t *pipepb.PTransform) error {
	if len(t.GetSubtransforms()) > 0 {
		return nil
	}
	var pardo pipepb.ParDoPayload
	if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pardo); err != nil {
		return fmt.Errorf("plan: transform %s: payload is not a ParDoPayload: %w", x.describe(id), err)
	}
	if len(pardo.GetStateSpecs()) == 0 {
		return nil
	}
	var mains []string
	for _, local := range slices.Sorted(maps.Keys(t.GetInputs())) {
		if _, side := pardo.GetSideInputs()[local]; !side {
			mains = append(mains, local)
		}
	}
	if len(mains) != 1 {
		return fmt.Errorf("plan: transform %s: a ParDo with user state needs one main input, has %d", x.describe(id), len(mains))
	}
	in := t.GetInputs()[mains[0]]
	pc := x.comps.GetPcollections()[in]
	if c := x.comps.GetCoders()[pc.GetCoderId()]; c.GetSpec().GetUrn() != urns.CoderKV {
		return fmt.Errorf("plan: transform %s: a ParDo with user state needs KV input, has coder %s", x.describe(id), c.GetSpec().GetUrn())
	}
	if merging(x.comps.GetWindowingStrategies()[pc.GetWindowingStrategyId()]) {
		return fmt.Errorf("plan: transform %s: user state over merging windows (sessions) is not supported", x.describe(id))
	}
	keyed := x.newPCollection(id+"/keyed", t.GetUniqueName()+"/KeyedInput.out", in, pc.GetCoderId())
	parent := x.parent[id]
	kb := x.newTransform(id+"/keyed_bundles", t.GetUniqueName()+"/KeyedInput", parent, &pipepb.FunctionSpec{Urn: urnKeyedBundles}, in, keyed, "")
	x.addSiblingBefore(id, kb)
	x.leaves = append(x.leaves, kb)
	t.Inputs[mains[0]] = keyed
	return nil
}
