package translate

import (
	"fmt"
	"maps"
	"slices"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// FromProto rebuilds the structure of a construction graph from a pipeline
// proto: transforms with their hierarchy, kinds, inputs and outputs,
// collections with coders and windowing, and function descriptions. User
// code is not in protos, so the result has no operator factories; it is what
// a worker compares against the pipeline it rebuilt, and GraphToProto of it
// gives back the same proto.
func FromProto(p *pipepb.Pipeline) (*graph.Graph, error) {
	f := &fromProto{comps: p.GetComponents(), g: graph.New(), cols: map[string]*graph.Collection{}, trs: map[string]*graph.Transform{}}
	for _, id := range slices.SortedFunc(maps.Keys(f.comps.GetPcollections()), naturalCompare) {
		if err := f.collection(id); err != nil {
			return nil, err
		}
	}
	for _, id := range p.GetRootTransformIds() {
		if _, err := f.transform(id, nil, 0); err != nil {
			return nil, err
		}
	}
	return f.g, nil
}

type fromProto struct {
	comps *pipepb.Components
	g     *graph.Graph
	cols  map[string]*graph.Collection
	trs   map[string]*graph.Transform
}

func (f *fromProto) anyCoder(id string) (coder.Any, error) {
	s, err := decode.CoderSpec(f.comps.GetCoders(), id)
	if err != nil {
		return nil, err
	}
	c, err := coder.FromSpec(s)
	if err != nil {
		return nil, fmt.Errorf("translate: coder %q: %w", id, err)
	}
	return c, nil
}

func (f *fromProto) collection(id string) error {
	pc := f.comps.GetPcollections()[id]
	c, err := f.anyCoder(pc.GetCoderId())
	if err != nil {
		return fmt.Errorf("translate: PCollection %q: %w", pc.GetUniqueName(), err)
	}
	ws, ok := f.comps.GetWindowingStrategies()[pc.GetWindowingStrategyId()]
	if !ok {
		return fmt.Errorf("translate: PCollection %q: missing windowing strategy %q", pc.GetUniqueName(), pc.GetWindowingStrategyId())
	}
	strategy, err := decode.WindowingStrategy(ws)
	if err != nil {
		return fmt.Errorf("translate: PCollection %q: %w", pc.GetUniqueName(), err)
	}
	col := &graph.Collection{
		ID: id, Name: pc.GetUniqueName(), Coder: c,
		Windowing: graph.Windowing{Strategy: strategy},
		Bounded:   pc.GetIsBounded() != pipepb.IsBounded_UNBOUNDED,
	}
	f.cols[id] = col
	f.g.Collections = append(f.g.Collections, col)
	return nil
}

// transform rebuilds transform id, depth composites below a root, and its
// subtransforms. It recurses once per level of composites, at most
// validate.MaxTransformDepth.
func (f *fromProto) transform(id string, parent *graph.Transform, depth int) (*graph.Transform, error) {
	pt, ok := f.comps.GetTransforms()[id]
	if !ok {
		return nil, fmt.Errorf("translate: missing transform %q", id)
	}
	if depth > validate.MaxTransformDepth {
		return nil, fmt.Errorf("translate: transform %q (%s) is nested deeper than %d composites", id, pt.GetUniqueName(), validate.MaxTransformDepth)
	}
	if _, dup := f.trs[id]; dup {
		return nil, fmt.Errorf("translate: transform %q (%s) appears twice in the hierarchy", id, pt.GetUniqueName())
	}
	tr := &graph.Transform{ID: id, UniqueName: pt.GetUniqueName(), Parent: parent}
	f.trs[id] = tr
	f.g.Transforms = append(f.g.Transforms, tr)
	if parent != nil {
		parent.Children = append(parent.Children, tr)
	}
	if err := f.spec(tr, pt); err != nil {
		return nil, fmt.Errorf("translate: transform %q: %w", pt.GetUniqueName(), err)
	}
	sides := map[string]bool{}
	if tr.Kind == graph.KindParDo {
		var pd pipepb.ParDoPayload
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &pd); err != nil {
			return nil, fmt.Errorf("translate: transform %q: ParDo payload: %w", pt.GetUniqueName(), err)
		}
		for local, si := range pd.GetSideInputs() {
			sides[local] = true
			_ = si
		}
	}
	for _, local := range slices.SortedFunc(maps.Keys(pt.GetInputs()), naturalCompare) {
		col, ok := f.cols[pt.GetInputs()[local]]
		if !ok {
			return nil, fmt.Errorf("translate: transform %q: input %q names missing PCollection %q", pt.GetUniqueName(), local, pt.GetInputs()[local])
		}
		in := graph.Input{Local: local, Coll: col}
		if sides[local] {
			in.Side = &graph.SideInput{Pattern: sidePattern(pt, local)}
		}
		tr.Inputs = append(tr.Inputs, in)
	}
	for _, local := range slices.SortedFunc(maps.Keys(pt.GetOutputs()), naturalCompare) {
		col, ok := f.cols[pt.GetOutputs()[local]]
		if !ok {
			return nil, fmt.Errorf("translate: transform %q: output %q names missing PCollection %q", pt.GetUniqueName(), local, pt.GetOutputs()[local])
		}
		if col.Producer == nil || len(pt.GetSubtransforms()) == 0 {
			col.Producer = tr
		}
		tr.Outputs = append(tr.Outputs, graph.Output{Local: local, Coll: col})
	}
	for _, sub := range pt.GetSubtransforms() {
		if _, err := f.transform(sub, tr, depth+1); err != nil {
			return nil, err
		}
	}
	return tr, nil
}

func sidePattern(pt *pipepb.PTransform, local string) string {
	var pd pipepb.ParDoPayload
	if proto.Unmarshal(pt.GetSpec().GetPayload(), &pd) == nil &&
		pd.GetSideInputs()[local].GetAccessPattern().GetUrn() == urns.SideInputMultimap {
		return "multimap"
	}
	return "iterable"
}

// spec sets the kind and function description of tr from its spec.
func (f *fromProto) spec(tr *graph.Transform, pt *pipepb.PTransform) error {
	switch pt.GetSpec().GetUrn() {
	case urns.TransformImpulse:
		tr.Kind = graph.KindImpulse
	case urns.TransformGroupByKey:
		tr.Kind = graph.KindGroupByKey
	case urns.TransformFlatten:
		tr.Kind = graph.KindFlatten
	case urns.TransformReshuffle:
		tr.Kind = graph.KindReshuffle
	case urns.TransformTestStream:
		tr.Kind = graph.KindTestStream
		return f.testStream(tr, pt.GetSpec())
	case urns.TransformWindowInto:
		tr.Kind = graph.KindWindowInto
		var wp pipepb.WindowIntoPayload
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &wp); err != nil {
			return fmt.Errorf("WindowInto payload: %w", err)
		}
		fn, err := decode.WindowFn(wp.GetWindowFn())
		if err != nil {
			return err
		}
		tr.Window = &fn
	case urns.TransformParDo:
		tr.Kind = graph.KindParDo
		var pd pipepb.ParDoPayload
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &pd); err != nil {
			return fmt.Errorf("ParDo payload: %w", err)
		}
		info, err := fnInfo(pd.GetDoFn())
		if err != nil {
			return err
		}
		tr.Fn = info
		if tr.Stateful, err = f.stateful(&pd); err != nil {
			return err
		}
	case urns.TransformCombinePerKey:
		tr.Kind = graph.KindCombinePerKey
		var cp pipepb.CombinePayload
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &cp); err != nil {
			return fmt.Errorf("CombinePerKey payload: %w", err)
		}
		info, err := fnInfo(cp.GetCombineFn())
		if err != nil {
			return err
		}
		tr.Fn = info
		acc, err := f.anyCoder(cp.GetAccumulatorCoderId())
		if err != nil {
			return err
		}
		tr.Combine = &graph.CombineInfo{AccumCoder: acc}
	case "":
		tr.Kind = graph.KindComposite
	default:
		return fmt.Errorf("unsupported transform URN %q", pt.GetSpec().GetUrn())
	}
	return nil
}

// fnInfo decodes our function payload.
func fnInfo(spec *pipepb.FunctionSpec) (*graph.FnInfo, error) {
	if spec.GetUrn() != urns.PayloadDoFn && spec.GetUrn() != urns.PayloadCombineFn {
		return nil, fmt.Errorf("function URN %q is not this SDK's (%s or %s)", spec.GetUrn(), urns.PayloadDoFn, urns.PayloadCombineFn)
	}
	fp, err := decode.Fn(spec.GetPayload())
	if err != nil {
		return nil, err
	}
	return &graph.FnInfo{GoType: fp.Type, Config: fp.Config}, nil
}
