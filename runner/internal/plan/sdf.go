package plan

import (
	"fmt"
	"maps"
	"slices"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/urns"
)

// restrictionCoder returns the restriction coder of a ParDo leaf that is
// a splittable DoFn the SDK left for the runner to expand, or "".
func (x *expander) restrictionCoder(t *pipepb.PTransform) (string, error) {
	if t.GetSpec().GetUrn() != urns.TransformParDo || len(t.GetSubtransforms()) > 0 {
		return "", nil
	}
	var pardo pipepb.ParDoPayload
	if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pardo); err != nil {
		return "", fmt.Errorf("payload is not a ParDoPayload: %w", err)
	}
	return pardo.GetRestrictionCoderId(), nil
}

// expandSDF turns the splittable ParDo id into the composite a runner
// executes, as the Fn API describes it:
//
//	pair_with_restriction:   element -> KV(element, restriction)
//	split_and_size:          KV(element, restriction) -> KV(KV(element, restriction), size)
//	reshuffle (runner side): a stage boundary
//	process_sized_elements:  KV(KV(element, restriction), size) -> the ParDo's outputs
//
// The stage boundary puts the sized restrictions at the input of the
// stage that processes them, so that a split of the running bundle
// (channel and restriction splits) and the residual roots a checkpointing
// DoFn returns are elements of that stage's input, which the runner can
// schedule as new bundles. The first two steps and the last get the
// ParDo's payload and side inputs; the ParDo's outputs stay those of the
// last step.
func (x *expander) expandSDF(id string, t *pipepb.PTransform, restriction string) error {
	if x.comps.GetCoders()[restriction] == nil {
		return fmt.Errorf("plan: transform %s: restriction coder %q is missing", x.describe(id), restriction)
	}
	var pardo pipepb.ParDoPayload
	if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pardo); err != nil {
		return fmt.Errorf("plan: transform %s: payload is not a ParDoPayload: %w", x.describe(id), err)
	}
	mainLocal := ""
	for _, local := range slices.Sorted(maps.Keys(t.GetInputs())) {
		if _, side := pardo.GetSideInputs()[local]; !side {
			if mainLocal != "" {
				return fmt.Errorf("plan: transform %s: a splittable ParDo needs one main input, has %q and %q", x.describe(id), mainLocal, local)
			}
			mainLocal = local
		}
	}
	if mainLocal == "" {
		return fmt.Errorf("plan: transform %s: a splittable ParDo needs a main input", x.describe(id))
	}
	in := t.GetInputs()[mainLocal]
	elem := x.comps.GetPcollections()[in].GetCoderId()
	paired := x.newCoder(id+"/element_restriction", urns.CoderKV, elem, restriction)
	size := x.newCoder(id+"/size", urns.CoderDouble)
	sized := x.newCoder(id+"/sized_element_restriction", urns.CoderKV, paired, size)

	name := t.GetUniqueName()
	pairedPC := x.newPCollection(id+"/paired", name+"/PairWithRestriction.out", in, paired)
	sizedPC := x.newPCollection(id+"/sized", name+"/SplitAndSizeRestrictions.out", in, sized)
	boundaryPC := x.newPCollection(id+"/sized_input", name+"/SizedRestrictions.out", in, sized)
	step := func(base, stepName, urn, from string, outs map[string]string) string {
		sid := freshID(x.comps.Transforms, id+"/"+base)
		ins := maps.Clone(t.GetInputs())
		ins[mainLocal] = from
		x.comps.Transforms[sid] = &pipepb.PTransform{
			UniqueName:    x.freshName(name + "/" + stepName),
			Spec:          &pipepb.FunctionSpec{Urn: urn, Payload: t.GetSpec().GetPayload()},
			Inputs:        ins,
			Outputs:       outs,
			EnvironmentId: t.GetEnvironmentId(),
		}
		x.parent[sid] = id
		return sid
	}
	t.Subtransforms = []string{
		step("pair", "PairWithRestriction", urns.TransformPairWithRestriction, in, map[string]string{"o0": pairedPC}),
		step("split", "SplitAndSizeRestrictions", urns.TransformSplitAndSizeRestrictions, pairedPC, map[string]string{"o0": sizedPC}),
		x.newTransform(id+"/boundary", name+"/SizedRestrictions", id, &pipepb.FunctionSpec{Urn: urns.TransformReshuffle}, sizedPC, boundaryPC, ""),
		step("process", "ProcessSizedElementsAndRestrictions", urns.TransformProcessSizedElementsAndRestrictions, boundaryPC, maps.Clone(t.GetOutputs())),
	}
	x.leaves = append(x.leaves, t.Subtransforms...)
	return nil
}
