package plan

import (
	"fmt"
	"sort"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// checkSupported refuses leaves that need what the runners cannot do yet:
// ParDos with user state or timers (they need keyed execution, a state
// store and timer delivery) and ParDos that must see their elements in
// order per key. The error names the transform and the feature, so a job
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
		if ids := sortedIDs(pardo.GetStateSpecs()); len(ids) > 0 {
			return fmt.Errorf("plan: transform %q declares user state %q: user state is not supported by this runner yet", t.GetUniqueName(), ids)
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
