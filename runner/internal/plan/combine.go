package plan

import (
	"fmt"

	"github.com/beamgo-dev/beamgo/proto/urns"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

// lift replaces the subtransforms of the CombinePerKey t (id) by the lifted
// form and reports whether it did. Lifting moves most of the combining
// before the shuffle, so the shuffle carries one accumulator per key and
// bundle instead of every value:
//
//	in KV<K, V>
//	  -> precombine          KV<K, A>        (fuses with the producer of in)
//	  -> GroupByKey          KV<K, Iter<A>>  (runner side)
//	  -> merge_accumulators  KV<K, A>        (fuses after the grouping)
//	  -> extract_outputs     KV<K, O>        the composite's output, id kept
//
// A is the accumulator coder of the CombinePayload; the three new
// PCollections and their coders get fresh ids. The combine is not lifted
// when lifting is disabled, when its windows merge (a precombined
// accumulator could not be split again when sessions merge), when its
// trigger fires per element, when its output timestamp is not the end of
// the window (the precombine stamps each accumulator at the end of its
// window, and the grouping would then give a pane that instant instead of
// the earliest or latest input's timestamp), or when its input is not a
// KV.
func (x *expander) lift(id string, t *pipepb.PTransform) (bool, error) {
	if x.opts.DisableLifting || len(t.GetInputs()) != 1 || len(t.GetOutputs()) != 1 {
		return false, nil
	}
	in, out := onlyValue(t.GetInputs()), onlyValue(t.GetOutputs())
	pc := x.comps.GetPcollections()[in]
	if pc == nil {
		return false, nil // newGraph reports the missing input.
	}
	ws := x.comps.GetWindowingStrategies()[pc.GetWindowingStrategyId()]
	if ws == nil || merging(ws) || firesPerElement(ws.GetTrigger()) || !endOfWindowOutput(ws) {
		return false, nil
	}
	kv := x.comps.GetCoders()[pc.GetCoderId()]
	if kv.GetSpec().GetUrn() != urns.CoderKV || len(kv.GetComponentCoderIds()) != 2 {
		return false, nil
	}
	cmb, err := x.combinePayload(id, t)
	if err != nil {
		return false, err
	}
	env := x.combineEnv(t)
	x.removeSubtransforms(t)

	key, acc := kv.GetComponentCoderIds()[0], cmb.GetAccumulatorCoderId()
	kvAcc := x.newCoder(id+"/kv_acc", urns.CoderKV, key, acc)
	iterAcc := x.newCoder(id+"/iter_acc", urns.CoderIterable, acc)
	kvIterAcc := x.newCoder(id+"/kv_iter_acc", urns.CoderKV, key, iterAcc)

	name := t.GetUniqueName()
	lifted := x.newPCollection(id+"/lifted", name+"/Precombine.out", in, kvAcc)
	grouped := x.newPCollection(id+"/grouped", name+"/GroupByKey.out", in, kvIterAcc)
	merged := x.newPCollection(id+"/merged", name+"/MergeAccumulators.out", in, kvAcc)

	part := func(urn string) *pipepb.FunctionSpec {
		return &pipepb.FunctionSpec{Urn: urn, Payload: t.GetSpec().GetPayload()}
	}
	t.Subtransforms = []string{
		x.newTransform(id+"/precombine", name+"/Precombine", id, part(urns.TransformCombinePerKeyPrecombine), in, lifted, env),
		x.newTransform(id+"/gbk", name+"/GroupByKey", id, &pipepb.FunctionSpec{Urn: urns.TransformGroupByKey}, lifted, grouped, ""),
		x.newTransform(id+"/merge", name+"/MergeAccumulators", id, part(urns.TransformCombinePerKeyMergeAccums), grouped, merged, env),
		x.newTransform(id+"/extract", name+"/ExtractOutputs", id, part(urns.TransformCombinePerKeyExtractOutputs), merged, out, env),
	}
	x.lifted[id+"/gbk"] = cmb.GetCombineFn()
	x.leaves = append(x.leaves, t.Subtransforms...)
	return true, nil
}

// expandCombine gives a CombinePerKey without subtransforms, which is not
// lifted, the standard unlifted form: GroupByKey, then
// combine_grouped_values.
func (x *expander) expandCombine(id string, t *pipepb.PTransform) error {
	if len(t.GetInputs()) != 1 || len(t.GetOutputs()) != 1 {
		return fmt.Errorf("plan: transform %s: CombinePerKey needs one input and one output, has %d and %d",
			x.describe(id), len(t.GetInputs()), len(t.GetOutputs()))
	}
	in, out := onlyValue(t.GetInputs()), onlyValue(t.GetOutputs())
	kv := x.comps.GetCoders()[x.comps.GetPcollections()[in].GetCoderId()]
	if kv.GetSpec().GetUrn() != urns.CoderKV || len(kv.GetComponentCoderIds()) != 2 {
		return fmt.Errorf("plan: transform %s: CombinePerKey without subtransforms needs a KV input coder", x.describe(id))
	}
	if _, err := x.combinePayload(id, t); err != nil {
		return err
	}
	key, value := kv.GetComponentCoderIds()[0], kv.GetComponentCoderIds()[1]
	iter := x.newCoder(id+"/iter_value", urns.CoderIterable, value)
	kvIter := x.newCoder(id+"/kv_iter_value", urns.CoderKV, key, iter)
	name := t.GetUniqueName()
	grouped := x.newPCollection(id+"/grouped", name+"/GroupByKey.out", in, kvIter)
	t.Subtransforms = []string{
		x.newTransform(id+"/gbk", name+"/GroupByKey", id, &pipepb.FunctionSpec{Urn: urns.TransformGroupByKey}, in, grouped, ""),
		x.newTransform(id+"/combine", name+"/CombineGroupedValues", id,
			&pipepb.FunctionSpec{Urn: urns.TransformCombineGroupedValues, Payload: t.GetSpec().GetPayload()}, grouped, out, x.combineEnv(t)),
	}
	x.leaves = append(x.leaves, t.Subtransforms...)
	return nil
}

// endOfWindowOutput reports whether the panes of ws take the end of their
// window as their timestamp (unspecified means that too, as in
// proto/decode).
func endOfWindowOutput(ws *pipepb.WindowingStrategy) bool {
	switch ws.GetOutputTime() {
	case pipepb.OutputTime_EARLIEST_IN_PANE, pipepb.OutputTime_LATEST_IN_PANE:
		return false
	}
	return true
}

// merging reports whether windows of ws may merge when grouped (sessions).
func merging(ws *pipepb.WindowingStrategy) bool {
	switch ws.GetMergeStatus() {
	case pipepb.MergeStatus_NEEDS_MERGE:
		return true
	case pipepb.MergeStatus_ALREADY_MERGED:
		return false
	}
	return ws.GetWindowFn().GetUrn() == urns.WindowFnSession
}

// firesPerElement reports whether trigger t contains an element count or an
// always trigger, under which a precombined accumulator would change the
// panes a combine emits. It walks the nested triggers with an explicit
// stack: a trigger is a tree of messages as deep as its sender made it.
func firesPerElement(t *pipepb.Trigger) bool {
	pending := []*pipepb.Trigger{t}
	for len(pending) > 0 {
		t := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		switch t := t.GetTrigger().(type) {
		case *pipepb.Trigger_ElementCount_, *pipepb.Trigger_Always_:
			return true
		case *pipepb.Trigger_AfterAll_:
			pending = append(pending, t.AfterAll.GetSubtriggers()...)
		case *pipepb.Trigger_AfterAny_:
			pending = append(pending, t.AfterAny.GetSubtriggers()...)
		case *pipepb.Trigger_AfterEach_:
			pending = append(pending, t.AfterEach.GetSubtriggers()...)
		case *pipepb.Trigger_AfterEndOfWindow_:
			pending = append(pending, t.AfterEndOfWindow.GetEarlyFirings(), t.AfterEndOfWindow.GetLateFirings())
		case *pipepb.Trigger_OrFinally_:
			pending = append(pending, t.OrFinally.GetMain(), t.OrFinally.GetFinally())
		case *pipepb.Trigger_Repeat_:
			pending = append(pending, t.Repeat.GetSubtrigger())
		}
	}
	return false
}
