package validate

import (
	"maps"
	"slices"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// checkPayload checks the references inside the payload of a ParDo-like or
// Combine-like transform: side inputs, state and timer coders, and the
// accumulator coder.
func (c *checker) checkPayload(desc string, t *pipepb.PTransform) {
	urn := t.GetSpec().GetUrn()
	switch {
	case pardoLike[urn]:
		var pardo pipepb.ParDoPayload
		if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pardo); err != nil {
			c.addf(desc, "payload is not a ParDoPayload: %v", err)
			return
		}
		c.checkParDo(desc, t, &pardo)
	case combineLike[urn]:
		var cmb pipepb.CombinePayload
		if err := proto.Unmarshal(t.GetSpec().GetPayload(), &cmb); err != nil {
			c.addf(desc, "payload is not a CombinePayload: %v", err)
			return
		}
		if cmb.GetCombineFn().GetUrn() == "" {
			c.addf(desc, "combine payload has no CombineFn")
		}
		c.checkCoderRef(desc, "accumulator coder", cmb.GetAccumulatorCoderId())
	}
}

// checkParDo checks a decoded ParDoPayload of transform t.
func (c *checker) checkParDo(desc string, t *pipepb.PTransform, pardo *pipepb.ParDoPayload) {
	if pardo.GetDoFn().GetUrn() == "" {
		c.addf(desc, "ParDo payload has no DoFn")
	}
	sis := pardo.GetSideInputs()
	for _, local := range slices.Sorted(maps.Keys(sis)) {
		if _, ok := t.GetInputs()[local]; !ok {
			c.addf(desc, "side input %q is not among the transform's inputs", local)
		}
		if p := sis[local].GetAccessPattern().GetUrn(); !sideInputPatterns[p] {
			c.addf(desc, "side input %q has unknown access pattern %q", local, p)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(pardo.GetStateSpecs())) {
		for _, cid := range StateCoders(pardo.GetStateSpecs()[id]) {
			c.checkCoderRef(desc, "state "+id+" coder", cid)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(pardo.GetTimerFamilySpecs())) {
		c.checkCoderRef(desc, "timer family "+id+" coder", pardo.GetTimerFamilySpecs()[id].GetTimerFamilyCoderId())
	}
}

// StateCoders returns the ids of the coders a state spec refers to (a
// bag's element coder, a map's key and value coders...), for runners that
// must ship those coders with a stage.
func StateCoders(s *pipepb.StateSpec) []string {
	switch s := s.GetSpec().(type) {
	case *pipepb.StateSpec_ReadModifyWriteSpec:
		return []string{s.ReadModifyWriteSpec.GetCoderId()}
	case *pipepb.StateSpec_BagSpec:
		return []string{s.BagSpec.GetElementCoderId()}
	case *pipepb.StateSpec_CombiningSpec:
		return []string{s.CombiningSpec.GetAccumulatorCoderId()}
	case *pipepb.StateSpec_MapSpec:
		return []string{s.MapSpec.GetKeyCoderId(), s.MapSpec.GetValueCoderId()}
	case *pipepb.StateSpec_SetSpec:
		return []string{s.SetSpec.GetElementCoderId()}
	case *pipepb.StateSpec_OrderedListSpec:
		return []string{s.OrderedListSpec.GetElementCoderId()}
	case *pipepb.StateSpec_MultimapSpec:
		return []string{s.MultimapSpec.GetKeyCoderId(), s.MultimapSpec.GetValueCoderId()}
	}
	return nil
}
