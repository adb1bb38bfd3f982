package plan

import (
	"bytes"
	"maps"
	"slices"

	"github.com/beamgo-dev/beamgo/proto/urns"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

// recodeAll makes the inputs of runner-side Flattens and Reshuffles encode
// like their outputs. The runner moves their data as bytes from the sinks of
// the producing stages to the source of the consuming stage, which decodes
// with the output's coder; an input with another coder (say, a Flatten of
// two PCollections from SDKs that chose different coders) would be
// misread. Each such input gets a Flatten of its own, which runs with the
// producer and re-encodes the elements in a new PCollection with the
// output's coder and windowing. The extra Flatten is harmless when the
// original Flatten ends up fused in a single stage.
// The leaves are rebuilt in one pass, and the re-encoding Flattens join
// their parents' subtransforms in insertSiblings, so that the work stays
// linear when many transforms need them.
func (x *expander) recodeAll() {
	leaves := make([]string, 0, len(x.leaves))
	for _, id := range x.leaves {
		t := x.comps.GetTransforms()[id]
		urn := t.GetSpec().GetUrn()
		if (urn == urns.TransformFlatten || isRedistribute(urn)) && len(t.GetOutputs()) == 1 {
			out := onlyValue(t.GetOutputs())
			for _, local := range slices.Sorted(maps.Keys(t.GetInputs())) {
				if in := t.GetInputs()[local]; !x.sameWire(in, out) {
					leaves = append(leaves, x.recode(id, t, local, out))
				}
			}
		}
		leaves = append(leaves, id)
	}
	x.leaves = leaves
}

// recode adds a re-encoding Flatten before input local of transform id, a
// sibling of id, and returns its id.
func (x *expander) recode(id string, t *pipepb.PTransform, local, out string) string {
	in := t.GetInputs()[local]
	outPC := x.comps.GetPcollections()[out]
	p := x.newPCollection(in+"/recoded", outPC.GetUniqueName()+"/"+local, out, outPC.GetCoderId())
	r := x.newTransform(id+"/recode/"+local, t.GetUniqueName()+"/Recode/"+local, x.parent[id],
		&pipepb.FunctionSpec{Urn: urns.TransformFlatten}, in, p, "")
	t.Inputs[local] = p
	x.addSiblingBefore(id, r)
	return r
}

// addSiblingBefore records that transform added, a new child of the parent
// of id, goes just before id among the parent's subtransforms (after those
// added before id earlier); insertSiblings puts it there.
func (x *expander) addSiblingBefore(id, added string) {
	x.before[id] = append(x.before[id], added)
}

// insertSiblings inserts the transforms recorded by addSiblingBefore into
// their parents' subtransforms, rebuilding each parent's list once.
func (x *expander) insertSiblings() {
	parents := map[string]bool{}
	for id := range x.before {
		parents[x.parent[id]] = true
	}
	for _, parent := range slices.Sorted(maps.Keys(parents)) {
		pt := x.comps.GetTransforms()[parent]
		if pt == nil {
			continue // A root: roots are not a list planning rewrites.
		}
		subs := make([]string, 0, len(pt.GetSubtransforms()))
		for _, sub := range pt.GetSubtransforms() {
			subs = append(subs, x.before[sub]...)
			subs = append(subs, sub)
		}
		pt.Subtransforms = subs
	}
}

// sameWire reports whether PCollections a and b encode their windowed
// elements identically: equal element coders and equal window coders.
func (x *expander) sameWire(a, b string) bool {
	pa, pb := x.comps.GetPcollections()[a], x.comps.GetPcollections()[b]
	if pa == nil || pb == nil {
		return true // newGraph reports the missing PCollection.
	}
	wa := x.comps.GetWindowingStrategies()[pa.GetWindowingStrategyId()].GetWindowCoderId()
	wb := x.comps.GetWindowingStrategies()[pb.GetWindowingStrategyId()].GetWindowCoderId()
	coders := x.comps.GetCoders()
	return sameCoder(coders, pa.GetCoderId(), pb.GetCoderId(), map[[2]string]bool{}) &&
		sameCoder(coders, wa, wb, map[[2]string]bool{})
}

// sameCoder reports whether coders a and b are structurally equal: same
// URN, same payload and pairwise equal components. Pairs in seen are
// assumed equal, which ends the recursion on (malformed) cyclic coders and
// keeps the work linear in the number of pairs: a pair seen before either
// is still being compared or compared equal, since the first difference
// ends the whole comparison.
func sameCoder(coders map[string]*pipepb.Coder, a, b string, seen map[[2]string]bool) bool {
	if a == b || seen[[2]string{a, b}] {
		return true
	}
	seen[[2]string{a, b}] = true
	ca, cb := coders[a], coders[b]
	if ca == nil || cb == nil {
		return false
	}
	if ca.GetSpec().GetUrn() != cb.GetSpec().GetUrn() || !bytes.Equal(ca.GetSpec().GetPayload(), cb.GetSpec().GetPayload()) ||
		len(ca.GetComponentCoderIds()) != len(cb.GetComponentCoderIds()) {
		return false
	}
	for i, c := range ca.GetComponentCoderIds() {
		if !sameCoder(coders, c, cb.GetComponentCoderIds()[i], seen) {
			return false
		}
	}
	return true
}
