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
// ParDos that must see their elements in order per key. The error names
// the transform and the feature, so a job fails when it is planned, before
// anything runs.
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
// ParDo with user state or timers: its output is its input, which the
// engine hands out in bundles that own their keys (InputKeyed).
const urnKeyedBundles = "beamgo:runner:keyed_bundles:v1"

// expandStateful gives a ParDo leaf with user state or timers a keyed
// input: a keyedBundles transform before its main input, so that the stage
// starts at the stateful ParDo and the engine can keep its state and
// timers per key (see Input.Stateful). Other ParDos are left alone.
func (x *expander) expandStateful(id string, t *pipepb.PTransform) error {
	if len(t.GetSubtransforms()) > 0 {
		return nil
	}
	var pardo pipepb.ParDoPayload
	if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pardo); err != nil {
		return fmt.Errorf("plan: transform %s: payload is not a ParDoPayload: %w", x.describe(id), err)
	}
	if len(pardo.GetStateSpecs()) == 0 && len(pardo.GetTimerFamilySpecs()) == 0 {
		return nil
	}
	var mains []string
	for _, local := range slices.Sorted(maps.Keys(t.GetInputs())) {
		if _, side := pardo.GetSideInputs()[local]; !side {
			mains = append(mains, local)
		}
	}
	if len(mains) != 1 {
		return fmt.Errorf("plan: transform %s: a ParDo with user state or timers needs one main input, has %d", x.describe(id), len(mains))
	}
	in := t.GetInputs()[mains[0]]
	pc := x.comps.GetPcollections()[in]
	if c := x.comps.GetCoders()[pc.GetCoderId()]; c.GetSpec().GetUrn() != urns.CoderKV {
		return fmt.Errorf("plan: transform %s: a ParDo with user state or timers needs KV input, has coder %s", x.describe(id), c.GetSpec().GetUrn())
	}
	if merging(x.comps.GetWindowingStrategies()[pc.GetWindowingStrategyId()]) {
		return fmt.Errorf("plan: transform %s: user state and timers over merging windows (sessions) are not supported", x.describe(id))
	}
	keyed := x.newPCollection(id+"/keyed", t.GetUniqueName()+"/KeyedInput.out", in, pc.GetCoderId())
	parent := x.parent[id]
	kb := x.newTransform(id+"/keyed_bundles", t.GetUniqueName()+"/KeyedInput", parent, &pipepb.FunctionSpec{Urn: urnKeyedBundles}, in, keyed, "")
	x.addSiblingBefore(id, kb)
	x.leaves = append(x.leaves, kb)
	t.Inputs[mains[0]] = keyed
	return nil
}
