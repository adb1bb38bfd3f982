package validate_test

import (
	"fmt"
	"testing"

	"github.com/beamgo-dev/beamgo/proto/urns"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// builder assembles pipepb.Pipeline values by hand for tests. Every
// PCollection uses the global windowing strategy "ws"; leaf transforms
// without an environment are given "go" when they run user code.
type builder struct {
	t *testing.T
	p *pipepb.Pipeline
}

func newBuilder(t *testing.T) *builder {
	t.Helper()
	coder := func(urn string, comps ...string) *pipepb.Coder {
		return &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urn}, ComponentCoderIds: comps}
	}
	return &builder{t: t, p: &pipepb.Pipeline{
		Components: &pipepb.Components{
			Transforms:   map[string]*pipepb.PTransform{},
			Pcollections: map[string]*pipepb.PCollection{},
			Coders: map[string]*pipepb.Coder{
				"bytes":    coder(urns.CoderBytes),
				"string":   coder(urns.CoderStringUTF8),
				"varint":   coder(urns.CoderVarInt),
				"kv":       coder(urns.CoderKV, "string", "varint"),
				"iter":     coder(urns.CoderIterable, "varint"),
				"kv_iter":  coder(urns.CoderKV, "string", "iter"),
				"gwindow":  coder(urns.CoderGlobalWindow),
				"custom":   {Spec: &pipepb.FunctionSpec{Urn: "example:coder:opaque:v1", Payload: []byte("type")}},
				"lpcustom": coder(urns.CoderLengthPrefix, "custom"),
			},
			WindowingStrategies: map[string]*pipepb.WindowingStrategy{
				"ws": {
					WindowFn:         &pipepb.FunctionSpec{Urn: urns.WindowFnGlobal},
					MergeStatus:      pipepb.MergeStatus_NON_MERGING,
					WindowCoderId:    "gwindow",
					AccumulationMode: pipepb.AccumulationMode_DISCARDING,
				},
			},
			Environments: map[string]*pipepb.Environment{"go": {Urn: urns.EnvDefault}},
		},
	}}
}

// pcoll adds a PCollection with the given id and coder.
func (b *builder) pcoll(id, coder string) {
	b.p.Components.Pcollections[id] = &pipepb.PCollection{
		UniqueName: "pc/" + id, CoderId: coder, WindowingStrategyId: "ws", IsBounded: pipepb.IsBounded_BOUNDED,
	}
}

// transform adds a transform with inputs i0, i1, ... and outputs o0, o1, ...
// as a root transform, and returns it for further changes.
func (b *builder) transform(id, name string, spec *pipepb.FunctionSpec, ins, outs []string) *pipepb.PTransform {
	t := &pipepb.PTransform{UniqueName: name, Spec: spec, Inputs: map[string]string{}, Outputs: map[string]string{}}
	for i, in := range ins {
		t.Inputs[fmt.Sprintf("i%d", i)] = in
	}
	for i, out := range outs {
		t.Outputs[fmt.Sprintf("o%d", i)] = out
	}
	if spec.GetUrn() == urns.TransformParDo || spec.GetUrn() == urns.TransformCombineGroupedValues {
		t.EnvironmentId = "go"
	}
	b.p.Components.Transforms[id] = t
	b.p.RootTransformIds = append(b.p.RootTransformIds, id)
	return t
}

// nest makes subs the subtransforms of parent and removes them from the roots.
func (b *builder) nest(parent string, subs ...string) {
	b.p.Components.Transforms[parent].Subtransforms = subs
	var roots []string
	for _, r := range b.p.RootTransformIds {
		isSub := false
		for _, s := range subs {
			isSub = isSub || s == r
		}
		if !isSub {
			roots = append(roots, r)
		}
	}
	b.p.RootTransformIds = roots
}

func (b *builder) marshal(m proto.Message) []byte {
	b.t.Helper()
	bs, err := proto.Marshal(m)
	if err != nil {
		b.t.Fatalf("proto.Marshal(%v) = %v", m, err)
	}
	return bs
}

// pardo returns the spec of a ParDo whose side inputs are the given local
// names with the given access patterns.
func (b *builder) pardo(sideInputs map[string]string) *pipepb.FunctionSpec {
	payload := &pipepb.ParDoPayload{
		DoFn:       &pipepb.FunctionSpec{Urn: urns.PayloadDoFn, Payload: []byte("fn")},
		SideInputs: map[string]*pipepb.SideInput{},
	}
	for local, pattern := range sideInputs {
		payload.SideInputs[local] = &pipepb.SideInput{AccessPattern: &pipepb.FunctionSpec{Urn: pattern}}
	}
	return &pipepb.FunctionSpec{Urn: urns.TransformParDo, Payload: b.marshal(payload)}
}

// combine returns the spec of a combine transform with the given URN and
// accumulator coder.
func (b *builder) combine(urn, accumCoder string) *pipepb.FunctionSpec {
	return &pipepb.FunctionSpec{Urn: urn, Payload: b.marshal(&pipepb.CombinePayload{
		CombineFn:          &pipepb.FunctionSpec{Urn: urns.PayloadCombineFn, Payload: []byte("fn")},
		AccumulatorCoderId: accumCoder,
	})}
}

func spec(urn string) *pipepb.FunctionSpec { return &pipepb.FunctionSpec{Urn: urn} }

// wordCount builds a valid word-count shaped pipeline:
//
//	impulse -> read (pardo) -> split (pardo) -> count (combine_per_key: gbk, combine_grouped_values)
//	  -> format (pardo, side input from limits) -> write (pardo); limits: impulse -> pardo
func wordCount(t *testing.T) *pipepb.Pipeline {
	b := newBuilder(t)
	for id, coder := range map[string]string{
		"p_imp": "bytes", "p_lines": "string", "p_words": "kv", "p_grouped": "kv_iter",
		"p_counts": "kv", "p_out": "string", "p_limit": "varint", "p_custom": "lpcustom",
	} {
		b.pcoll(id, coder)
	}
	b.transform("t_imp", "Impulse", spec(urns.TransformImpulse), nil, []string{"p_imp"})
	b.transform("t_read", "Read", b.pardo(nil), []string{"p_imp"}, []string{"p_lines"})
	b.transform("t_split", "Split", b.pardo(nil), []string{"p_lines"}, []string{"p_words", "p_custom"})
	b.transform("t_count", "Count", b.combine(urns.TransformCombinePerKey, "varint"), []string{"p_words"}, []string{"p_counts"})
	b.transform("t_gbk", "Count/GroupByKey", spec(urns.TransformGroupByKey), []string{"p_words"}, []string{"p_grouped"})
	b.transform("t_cgv", "Count/Combine", b.combine(urns.TransformCombineGroupedValues, "varint"), []string{"p_grouped"}, []string{"p_counts"})
	b.nest("t_count", "t_gbk", "t_cgv")
	b.transform("t_limit", "Limit", b.pardo(nil), []string{"p_imp"}, []string{"p_limit"})
	format := b.transform("t_format", "Format", b.pardo(map[string]string{"i1": urns.SideInputIterable}), []string{"p_counts", "p_limit"}, []string{"p_out"})
	_ = format
	b.transform("t_write", "Write", b.pardo(nil), []string{"p_out"}, nil)
	return b.p
}
