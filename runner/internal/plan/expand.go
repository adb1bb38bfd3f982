package plan

import (
	"fmt"
	"slices"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// expander rewrites the composites of a copied Components while it walks the
// transform hierarchy from the roots, and collects the leaves to execute.
type expander struct {
	comps    *pipepb.Components
	opts     *Options
	leaves   []string          // in walk order
	parent   map[string]string // transform id -> parent id; "" for a root
	visiting map[string]bool
	names    map[string]bool // unique names of transforms and PCollections
	// nameSuffix maps a base passed to freshName to the last suffix used.
	nameSuffix map[string]int
	orphans    []string // outputs of removed transforms
	// before maps a transform to the new transforms that go just before it
	// among its parent's subtransforms (see addSiblingBefore).
	before map[string][]string
	// lifted maps the GroupByKey of each lifted combine to its CombineFn.
	lifted map[string]*pipepb.FunctionSpec
}

// expand walks the hierarchy below roots and returns the expander, whose
// leaves are the transforms to execute, in walk order (roots in order,
// subtransforms in order), and whose lifted names the GroupByKey of each
// lifted combine. On the way it rewrites comps:
//
//   - A CombinePerKey over non-merging windows is lifted: its subtransforms
//     are replaced by precombine -> GroupByKey -> merge_accumulators ->
//     extract_outputs (see lift).
//   - A CombinePerKey that is not lifted runs as its subtransforms; without
//     subtransforms it gets a GroupByKey and a combine_grouped_values.
//   - A Reshuffle (or redistribute) with one input and one output loses its
//     subtransforms and becomes a leaf the runner executes by passing data
//     to a new stage. Its semantics (identity, plus a fusion break and a
//     checkpoint) do not depend on how the SDK expanded it.
//   - A splittable ParDo (one with a restriction coder) becomes pair with
//     restriction -> split and size -> a stage boundary -> process sized
//     elements and restrictions (see expandSDF).
//   - A runner-side Flatten or Reshuffle whose input is encoded differently
//     from its output gets a re-encoding Flatten on that input (see recode).
//   - The outputs of a TestStream get length prefixes around the parts of
//     their coders whose encoding depends on the context (see
//     prefixTestStreamOutputs).
//
// Any other composite is replaced by its subtransforms.
func expand(comps *pipepb.Components, roots []string, opts *Options) (*expander, error) {
	x := &expander{
		lifted:     map[string]*pipepb.FunctionSpec{},
		comps:      comps,
		opts:       opts,
		parent:     map[string]string{},
		visiting:   map[string]bool{},
		names:      map[string]bool{},
		before:     map[string][]string{},
		nameSuffix: map[string]int{},
	}
	for _, t := range comps.GetTransforms() {
		x.names[t.GetUniqueName()] = true
	}
	for _, pc := range comps.GetPcollections() {
		x.names[pc.GetUniqueName()] = true
	}
	for _, r := range roots {
		if err := x.walk(r, "", 0); err != nil {
			return nil, err
		}
	}
	x.dropOrphans()
	x.recodeAll()
	x.insertSiblings()
	return x, nil
}

// walk visits transform id, whose parent is parent ("" for a root), depth
// composites below a root. It recurses once per level of composites, which
// validate.MaxTransformDepth bounds.
func (x *expander) walk(id, parent string, depth int) error {
	t := x.comps.GetTransforms()[id]
	switch {
	case t == nil && parent == "":
		return fmt.Errorf("plan: root transform %q is missing", id)
	case t == nil:
		return fmt.Errorf("plan: transform %s: subtransform %q is missing", x.describe(parent), id)
	case x.visiting[id]:
		return fmt.Errorf("plan: transform %s contains itself", x.describe(id))
	case depth > validate.MaxTransformDepth:
		return fmt.Errorf("plan: transform %s is nested deeper than %d composites", x.describe(id), validate.MaxTransformDepth)
	}
	if _, seen := x.parent[id]; seen {
		return fmt.Errorf("plan: transform %s appears twice in the transform hierarchy", x.describe(id))
	}
	x.parent[id] = parent
	urn := t.GetSpec().GetUrn()
	switch {
	case urn == urns.TransformCombinePerKey:
		lifted, err := x.lift(id, t)
		if err != nil || lifted {
			return err
		}
		if len(t.GetSubtransforms()) == 0 {
			return x.expandCombine(id, t)
		}
	case isRedistribute(urn) && len(t.GetInputs()) == 1 && len(t.GetOutputs()) == 1:
		x.removeSubtransforms(t)
		x.leaves = append(x.leaves, id)
		return nil
	case urn == urns.TransformTestStream:
		x.prefixTestStreamOutputs(t)
	case urn == urns.TransformParDo:
		rc, err := x.restrictionCoder(t)
		if err != nil {
			return fmt.Errorf("plan: transform %s: %w", x.describe(id), err)
		}
		if rc != "" {
			return x.expandSDF(id, t, rc)
		}
		if err := x.expandStateful(id, t); err != nil {
			return err
		}
	}
	if len(t.GetSubtransforms()) == 0 {
		x.leaves = append(x.leaves, id)
		return nil
	}
	x.visiting[id] = true
	defer delete(x.visiting, id)
	for _, sub := range t.GetSubtransforms() {
		if err := x.walk(sub, id, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// isRedistribute reports whether urn is one of the transforms that only
// redistribute data (and so break fusion) without changing it.
func isRedistribute(urn string) bool {
	switch urn {
	case urns.TransformReshuffle, urns.TransformRedistributeArbitrarily, urns.TransformRedistributeByKey:
		return true
	}
	return false
}

func (x *expander) describe(id string) string {
	return describeTransform(x.comps, id)
}

// describeTransform names a transform for an error message.
func describeTransform(comps *pipepb.Components, id string) string {
	return fmt.Sprintf("%q (id %s)", comps.GetTransforms()[id].GetUniqueName(), id)
}

// removeSubtransforms deletes the subtransforms of t and theirs, to any
// depth, from the components and remembers their outputs for dropOrphans.
// It walks with an explicit stack, and deleting each transform as it is
// reached ends the walk on (malformed) composites that contain each other.
func (x *expander) removeSubtransforms(t *pipepb.PTransform) {
	pending := slices.Clone(t.GetSubtransforms())
	t.Subtransforms = nil
	for len(pending) > 0 {
		sub := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		st := x.comps.GetTransforms()[sub]
		if st == nil || st == t {
			continue
		}
		delete(x.comps.GetTransforms(), sub)
		pending = append(pending, st.GetSubtransforms()...)
		for _, p := range st.GetOutputs() {
			x.orphans = append(x.orphans, p)
		}
		delete(x.names, st.GetUniqueName())
	}
}

// dropOrphans deletes the PCollections produced by removed subtransforms
// that no remaining transform mentions.
func (x *expander) dropOrphans() {
	used := map[string]bool{}
	for _, t := range x.comps.GetTransforms() {
		for _, p := range t.GetInputs() {
			used[p] = true
		}
		for _, p := range t.GetOutputs() {
			used[p] = true
		}
	}
	for _, p := range x.orphans {
		if !used[p] {
			delete(x.names, x.comps.GetPcollections()[p].GetUniqueName())
			delete(x.comps.GetPcollections(), p)
		}
	}
}

// freshID returns base, or base with a numeric suffix, such that it is not a
// key of m.
func freshID[V any](m map[string]V, base string) string {
	return fresh(base, func(id string) bool {
		_, ok := m[id]
		return ok
	})
}

// freshName returns base, or base with a numeric suffix, that is not yet a
// unique name of a transform or PCollection, and reserves it. The search
// for a suffix resumes where the last one for the same base ended, so that
// many transforms sharing a name (which validation refuses, but Build must
// survive) do not make planning quadratic.
func (x *expander) freshName(base string) string {
	i := x.nameSuffix[base]
	name := base
	if i > 0 {
		name = fmt.Sprintf("%s#%d", base, i)
	}
	for x.names[name] {
		i = max(i+1, 2)
		name = fmt.Sprintf("%s#%d", base, i)
	}
	x.nameSuffix[base] = i
	x.names[name] = true
	return name
}

// newCoder adds a coder with the given URN and components, and returns its id.
func (x *expander) newCoder(base, urn string, components ...string) string {
	if x.comps.Coders == nil {
		x.comps.Coders = map[string]*pipepb.Coder{}
	}
	id := freshID(x.comps.Coders, base)
	x.comps.Coders[id] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urn}, ComponentCoderIds: components}
	return id
}

// newPCollection adds a PCollection like the one with id like (same
// boundedness and windowing strategy) but with the given coder.
func (x *expander) newPCollection(base, name, like, coder string) string {
	id := freshID(x.comps.Pcollections, base)
	old := x.comps.GetPcollections()[like]
	x.comps.Pcollections[id] = &pipepb.PCollection{
		UniqueName:          x.freshName(name),
		CoderId:             coder,
		IsBounded:           old.GetIsBounded(),
		WindowingStrategyId: old.GetWindowingStrategyId(),
	}
	return id
}

// newTransform adds a leaf transform with one input "i0" and one output
// "o0", a child of parent, and returns its id.
func (x *expander) newTransform(base, name, parent string, spec *pipepb.FunctionSpec, in, out, env string) string {
	id := freshID(x.comps.Transforms, base)
	x.comps.Transforms[id] = &pipepb.PTransform{
		UniqueName:    x.freshName(name),
		Spec:          spec,
		Inputs:        map[string]string{"i0": in},
		Outputs:       map[string]string{"o0": out},
		EnvironmentId: env,
	}
	x.parent[id] = parent
	return id
}

// onlyValue returns the single value of m, which must have one entry.
func onlyValue(m map[string]string) string {
	for _, v := range m {
		return v
	}
	return ""
}

// combinePayload decodes the CombinePayload of transform id.
func (x *expander) combinePayload(id string, t *pipepb.PTransform) (*pipepb.CombinePayload, error) {
	var cmb pipepb.CombinePayload
	if err := proto.Unmarshal(t.GetSpec().GetPayload(), &cmb); err != nil {
		return nil, fmt.Errorf("plan: transform %s: payload is not a CombinePayload: %w", x.describe(id), err)
	}
	if x.comps.GetCoders()[cmb.GetAccumulatorCoderId()] == nil {
		return nil, fmt.Errorf("plan: transform %s: accumulator coder %q is missing", x.describe(id), cmb.GetAccumulatorCoderId())
	}
	return &cmb, nil
}

// combineEnv returns the environment the parts of a combine run in: the
// composite's own, or else the first one among its subtransforms.
func (x *expander) combineEnv(t *pipepb.PTransform) string {
	if env := t.GetEnvironmentId(); env != "" {
		return env
	}
	for _, sub := range t.GetSubtransforms() {
		if env := x.comps.GetTransforms()[sub].GetEnvironmentId(); env != "" {
			return env
		}
	}
	return ""
}
