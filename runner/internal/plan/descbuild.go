package plan

import (
	"fmt"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
)

// addTransform copies transform id into the descriptor with everything it
// refers to.
func (b *descBuilder) addTransform(id string) error {
	t := b.comps.GetTransforms()[id]
	if t == nil {
		return fmt.Errorf("transform %q is missing", id)
	}
	b.desc.Transforms[id] = proto.Clone(t).(*pipepb.PTransform)
	for _, p := range t.GetInputs() {
		if err := b.addPCollection(p); err != nil {
			return err
		}
	}
	for _, p := range t.GetOutputs() {
		if err := b.addPCollection(p); err != nil {
			return err
		}
	}
	if env := t.GetEnvironmentId(); env != "" {
		if err := b.addEnvironment(env); err != nil {
			return err
		}
	}
	return b.addPayloadCoders(id, t)
}

// addPayloadCoders adds the coders a transform's payload refers to: the
// accumulator of a combine, the state and timer coders of a ParDo.
func (b *descBuilder) addPayloadCoders(id string, t *pipepb.PTransform) error {
	urn := t.GetSpec().GetUrn()
	switch {
	case pardoLike(urn):
		var pardo pipepb.ParDoPayload
		if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pardo); err != nil {
			return fmt.Errorf("transform %q: payload is not a ParDoPayload: %w", id, err)
		}
		var coders []string
		for _, s := range pardo.GetStateSpecs() {
			coders = append(coders, validate.StateCoders(s)...)
		}
		if err := b.addCoders(coders); err != nil {
			return err
		}
		lists := b.lpOrderedLists(&pardo)
		timers, err := b.lpTimerCoders(id, &pardo)
		if err != nil || !lists && !timers {
			return err
		}
		// Deterministic: a map in random order would make every descriptor
		// of the stage differ.
		payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(&pardo)
		if err != nil {
			return fmt.Errorf("transform %q: %w", id, err)
		}
		b.desc.Transforms[id].Spec.Payload = payload
		return nil
	case isCombinePart(urn):
		var cmb pipepb.CombinePayload
		if err := proto.Unmarshal(t.GetSpec().GetPayload(), &cmb); err != nil {
			return fmt.Errorf("transform %q: payload is not a CombinePayload: %w", id, err)
		}
		return b.addCoder(cmb.GetAccumulatorCoderId())
	}
	return nil
}

// lpTimerCoders points the timer families of ParDo id in the descriptor
// at the length-prefixed forms of their coders, as Prism does: the runner
// cuts the key and window out of the timers the SDK sends without knowing
// the key's coder, and the key bytes then match the ones it cuts out of
// the (likewise length-prefixed) input elements. It reports whether it
// changed pardo.
func (b *descBuilder) lpTimerCoders(id string, pardo *pipepb.ParDoPayload) (bool, error) {
	changed := false
	for fid, tf := range pardo.GetTimerFamilySpecs() {
		b.timers = true
		lp, err := b.lp(tf.GetTimerFamilyCoderId())
		if err != nil {
			return false, fmt.Errorf("transform %q: timer family %q: %w", id, fid, err)
		}
		changed = changed || lp != tf.GetTimerFamilyCoderId()
		tf.TimerFamilyCoderId = lp
	}
	return changed, nil
}

// lpOrderedLists points the ordered list states of pardo at a
// length-prefixed element coder, and reports whether it changed any. The
// Fn API carries an ordered list's entries as a varint sort key and a
// length-prefixed value (beam_fn_api StateAppendRequest), which the
// runner needs to cut an append of several entries apart. Java and Python
// add the prefix themselves; Beam Go writes the value with the element
// coder the descriptor names, so it has to name a length prefix. An SDK
// that prefixes on its own just wraps an opaque, longer value, which it
// reads back the same way.
func (b *descBuilder) lpOrderedLists(pardo *pipepb.ParDoPayload) bool {
	changed := false
	for _, s := range pardo.GetStateSpecs() {
		ol := s.GetOrderedListSpec()
		if ol == nil {
			continue
		}
		id := ol.GetElementCoderId()
		if b.desc.Coders[id].GetSpec().GetUrn() == urns.CoderLengthPrefix {
			continue
		}
		lp, ok := b.listLP[id]
		if !ok {
			lp = b.freshCoderID(id + "/lp")
			b.desc.Coders[lp] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderLengthPrefix}, ComponentCoderIds: []string{id}}
			b.listLP[id] = lp
		}
		ol.ElementCoderId = lp
		changed = true
	}
	return changed
}

func isCombinePart(urn string) bool {
	switch urn {
	case urns.TransformCombinePerKeyPrecombine, urns.TransformCombinePerKeyMergeAccums,
		urns.TransformCombinePerKeyExtractOutputs, urns.TransformCombineGroupedValues,
		urns.TransformCombinePerKeyConvertToAccum:
		return true
	}
	return false
}

// addPCollection copies PCollection p into the descriptor with its coder
// and windowing strategy.
func (b *descBuilder) addPCollection(p string) error {
	if _, ok := b.desc.Pcollections[p]; ok {
		return nil
	}
	pc := b.comps.GetPcollections()[p]
	if pc == nil {
		return fmt.Errorf("PCollection %q is missing", p)
	}
	b.desc.Pcollections[p] = proto.Clone(pc).(*pipepb.PCollection)
	if err := b.addCoder(pc.GetCoderId()); err != nil {
		return fmt.Errorf("PCollection %q: %w", p, err)
	}
	wsID := pc.GetWindowingStrategyId()
	if _, ok := b.desc.WindowingStrategies[wsID]; ok {
		return nil
	}
	ws := b.comps.GetWindowingStrategies()[wsID]
	if ws == nil {
		return fmt.Errorf("PCollection %q: windowing strategy %q is missing", p, wsID)
	}
	b.desc.WindowingStrategies[wsID] = proto.Clone(ws).(*pipepb.WindowingStrategy)
	if err := b.addCoder(ws.GetWindowCoderId()); err != nil {
		return fmt.Errorf("windowing strategy %q: %w", wsID, err)
	}
	if env := ws.GetEnvironmentId(); env != "" {
		return b.addEnvironment(env)
	}
	return nil
}

func (b *descBuilder) addCoders(ids []string) error {
	for _, id := range ids {
		if err := b.addCoder(id); err != nil {
			return err
		}
	}
	return nil
}

// addCoder copies coder id and its components, to any depth, into the
// descriptor.
func (b *descBuilder) addCoder(id string) error {
	pending := []string{id}
	for len(pending) > 0 {
		id := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if _, ok := b.desc.Coders[id]; ok {
			continue
		}
		c := b.comps.GetCoders()[id]
		if c == nil {
			return fmt.Errorf("coder %q is missing", id)
		}
		b.desc.Coders[id] = proto.Clone(c).(*pipepb.Coder)
		pending = append(pending, c.GetComponentCoderIds()...)
	}
	return nil
}

func (b *descBuilder) addEnvironment(id string) error {
	env := b.comps.GetEnvironments()[id]
	if env == nil {
		return fmt.Errorf("environment %q is missing", id)
	}
	b.desc.Environments[id] = proto.Clone(env).(*pipepb.Environment)
	return nil
}

// lp returns the id of a coder encoding like coder id, but in which every
// coder a runner may not know is wrapped in a length prefix; that is id
// itself when the runner knows all of it. New coders go into the
// descriptor only; the plan's components are not changed. It recurses once
// per level of coder nesting, which Build bounds (validate.MaxCoderDepth,
// plus the few levels planning adds).
func (b *descBuilder) lp(id string) (string, error) {
	if r, ok := b.lpMemo[id]; ok {
		return r, nil
	}
	if b.lpBusy[id] {
		return "", fmt.Errorf("coder %q contains itself", id)
	}
	if err := b.addCoder(id); err != nil {
		return "", err
	}
	c := b.comps.GetCoders()[id]
	r := id
	switch urn := c.GetSpec().GetUrn(); {
	case runnerLeafCoders[urn], b.known[urn]:
	case runnerCompositeCoders[urn]:
		b.lpBusy[id] = true
		comps, changed, err := b.lpComponents(c.GetComponentCoderIds())
		delete(b.lpBusy, id)
		if err != nil {
			return "", err
		}
		if changed {
			r = b.freshCoderID(id + "/lp")
			b.desc.Coders[r] = &pipepb.Coder{Spec: proto.Clone(c.GetSpec()).(*pipepb.FunctionSpec), ComponentCoderIds: comps}
		}
	default:
		r = b.freshCoderID(id + "/lp")
		b.desc.Coders[r] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderLengthPrefix}, ComponentCoderIds: []string{id}}
	}
	b.lpMemo[id] = r
	return r, nil
}

// lpComponents applies lp to each component and reports whether any changed.
func (b *descBuilder) lpComponents(ids []string) ([]string, bool, error) {
	out := make([]string, len(ids))
	changed := false
	for i, cc := range ids {
		r, err := b.lp(cc)
		if err != nil {
			return nil, false, err
		}
		out[i] = r
		changed = changed || r != cc
	}
	return out, changed, nil
}

// wireCoder returns the id of the windowed value coder that carries the
// elements of PCollection p between runner and harness.
func (b *descBuilder) wireCoder(p string) (string, error) {
	if err := b.addPCollection(p); err != nil {
		return "", err
	}
	pc := b.comps.GetPcollections()[p]
	elem, err := b.lp(pc.GetCoderId())
	if err != nil {
		return "", err
	}
	win := b.comps.GetWindowingStrategies()[pc.GetWindowingStrategyId()].GetWindowCoderId()
	key := [2]string{elem, win}
	if id, ok := b.wvMemo[key]; ok {
		return id, nil
	}
	id := b.freshCoderID(p + "/wire")
	b.desc.Coders[id] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderWindowedValue}, ComponentCoderIds: []string{elem, win}}
	b.wvMemo[key] = id
	return id, nil
}

// freshCoderID returns base, or base with a suffix, that names no coder of
// the plan or the descriptor.
func (b *descBuilder) freshCoderID(base string) string {
	return fresh(base, func(id string) bool {
		_, inPlan := b.comps.GetCoders()[id]
		_, inDesc := b.desc.Coders[id]
		return inPlan || inDesc
	})
}

func (b *descBuilder) freshPCollectionID(base string) string {
	return fresh(base, func(id string) bool {
		_, inPlan := b.comps.GetPcollections()[id]
		_, inDesc := b.desc.Pcollections[id]
		return inPlan || inDesc
	})
}

func (b *descBuilder) freshTransformID(base string) string {
	return fresh(base, func(id string) bool {
		_, inPlan := b.comps.GetTransforms()[id]
		_, inDesc := b.desc.Transforms[id]
		return inPlan || inDesc
	})
}

// fresh returns base, or base with a numeric suffix, for which taken is
// false.
func fresh(base string, taken func(string) bool) string {
	id := base
	for i := 2; taken(id); i++ {
		id = fmt.Sprintf("%s#%d", base, i)
	}
	return id
}
