package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/proto/urns"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// builder assembles pipepb.Pipeline values by hand for tests. Transforms
// get ids t1, t2, ... and PCollections p1, p2, ...; user code runs in the
// environment "go" unless env is changed.
type builder struct {
	t      testing.TB
	p      *pipepb.Pipeline
	n      int
	parent string // composite receiving new transforms; "" for the roots
	env    string
}

func newBuilder(t testing.TB) *builder {
	coder := func(urn string, comps ...string) *pipepb.Coder {
		return &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urn}, ComponentCoderIds: comps}
	}
	ws := func(fn, coder string, merge pipepb.MergeStatus_Enum) *pipepb.WindowingStrategy {
		return &pipepb.WindowingStrategy{
			WindowFn: &pipepb.FunctionSpec{Urn: fn}, WindowCoderId: coder, MergeStatus: merge,
			Trigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_Default_{Default: &pipepb.Trigger_Default{}}},
		}
	}
	return &builder{t: t, env: "go", p: &pipepb.Pipeline{Components: &pipepb.Components{
		Transforms:   map[string]*pipepb.PTransform{},
		Pcollections: map[string]*pipepb.PCollection{},
		Coders: map[string]*pipepb.Coder{
			"bytes":    coder(urns.CoderBytes),
			"string":   coder(urns.CoderStringUTF8),
			"varint":   coder(urns.CoderVarInt),
			"kv":       coder(urns.CoderKV, "string", "varint"),
			"custom":   {Spec: &pipepb.FunctionSpec{Urn: urns.CoderCustom, Payload: []byte("wordStats")}},
			"lpcustom": coder(urns.CoderLengthPrefix, "custom"),
			"row":      {Spec: &pipepb.FunctionSpec{Urn: urns.CoderRow, Payload: []byte("schema")}},
			"kv_row":   coder(urns.CoderKV, "string", "row"),
			"gwindow":  coder(urns.CoderGlobalWindow),
			"iwindow":  coder(urns.CoderIntervalWindow),
		},
		WindowingStrategies: map[string]*pipepb.WindowingStrategy{
			"global":   ws(urns.WindowFnGlobal, "gwindow", pipepb.MergeStatus_NON_MERGING),
			"fixed":    ws(urns.WindowFnFixed, "iwindow", pipepb.MergeStatus_NON_MERGING),
			"sessions": ws(urns.WindowFnSession, "iwindow", pipepb.MergeStatus_NEEDS_MERGE),
			"fixed_earliest": func() *pipepb.WindowingStrategy {
				w := ws(urns.WindowFnFixed, "iwindow", pipepb.MergeStatus_NON_MERGING)
				w.OutputTime = pipepb.OutputTime_EARLIEST_IN_PANE
				return w
			}(),
		},
		Environments: map[string]*pipepb.Environment{
			"go": {Urn: urns.EnvDefault},
			"py": {Urn: urns.EnvDocker},
		},
	}}}
}

func (b *builder) comps() *pipepb.Components { return b.p.Components }

func (b *builder) marshal(m proto.Message) []byte {
	b.t.Helper()
	bs, err := proto.Marshal(m)
	if err != nil {
		b.t.Fatalf("proto.Marshal(%v) = %v", m, err)
	}
	return bs
}

// pcoll adds a PCollection with the given coder and windowing strategy.
func (b *builder) pcoll(coder, ws string) string {
	b.n++
	id := fmt.Sprintf("p%d", b.n)
	b.comps().Pcollections[id] = &pipepb.PCollection{UniqueName: "pc" + id[1:], CoderId: coder, WindowingStrategyId: ws, IsBounded: pipepb.IsBounded_BOUNDED}
	return id
}

// ws returns the windowing strategy of PCollection p.
func (b *builder) ws(p string) string { return b.comps().Pcollections[p].WindowingStrategyId }

// add adds a transform named name under the current composite with inputs
// i0.. (side inputs first, then main inputs named after them) and outputs
// o0.., and returns its id.
func (b *builder) add(name string, spec *pipepb.FunctionSpec, ins, outs []string, env string) string {
	b.n++
	id := fmt.Sprintf("t%d", b.n)
	if b.parent != "" {
		name = b.comps().Transforms[b.parent].UniqueName + "/" + name
	}
	t := &pipepb.PTransform{UniqueName: name, Spec: spec, Inputs: map[string]string{}, Outputs: map[string]string{}, EnvironmentId: env}
	for i, in := range ins {
		t.Inputs[fmt.Sprintf("i%d", i)] = in
	}
	for i, out := range outs {
		t.Outputs[fmt.Sprintf("o%d", i)] = out
	}
	b.comps().Transforms[id] = t
	if b.parent == "" {
		b.p.RootTransformIds = append(b.p.RootTransformIds, id)
	} else {
		pt := b.comps().Transforms[b.parent]
		pt.Subtransforms = append(pt.Subtransforms, id)
	}
	return id
}

// composite adds a composite transform whose subtransforms body adds.
func (b *builder) composite(name string, spec *pipepb.FunctionSpec, ins, outs []string, body func()) string {
	id := b.add(name, spec, ins, outs, "")
	saved := b.parent
	b.parent = id
	body()
	b.parent = saved
	return id
}

func (b *builder) impulse(name string) string {
	out := b.pcoll("bytes", "global")
	b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformImpulse}, nil, []string{out}, "")
	return out
}

// side describes a side input of a ParDo: a PCollection and access pattern.
type side struct{ pc, pattern string }

func iterable(pc string) side { return side{pc, urns.SideInputIterable} }
func multimap(pc string) side { return side{pc, urns.SideInputMultimap} }

func (b *builder) pardoSpec(urn string, sides []side) *pipepb.FunctionSpec {
	payload := &pipepb.ParDoPayload{DoFn: &pipepb.FunctionSpec{Urn: urns.PayloadDoFn, Payload: []byte("fn")}}
	for i, s := range sides {
		if payload.SideInputs == nil {
			payload.SideInputs = map[string]*pipepb.SideInput{}
		}
		payload.SideInputs[fmt.Sprintf("i%d", i)] = &pipepb.SideInput{AccessPattern: &pipepb.FunctionSpec{Urn: s.pattern}}
	}
	return &pipepb.FunctionSpec{Urn: urn, Payload: b.marshal(payload)}
}

// pardo adds a ParDo reading in (and the side inputs) and producing one
// output per coder in outCoders, in the windowing of in.
func (b *builder) pardo(name, in string, outCoders []string, sides ...side) []string {
	var ins, outs []string
	for _, s := range sides {
		ins = append(ins, s.pc)
	}
	ins = append(ins, in)
	for _, c := range outCoders {
		outs = append(outs, b.pcoll(c, b.ws(in)))
	}
	b.add(name, b.pardoSpec(urns.TransformParDo, sides), ins, outs, b.env)
	return outs
}

// do adds a ParDo with one output of the given coder.
func (b *builder) do(name, in, coder string, sides ...side) string {
	return b.pardo(name, in, []string{coder}, sides...)[0]
}

// sink adds a ParDo without outputs.
func (b *builder) sink(name, in string) { b.pardo(name, in, nil) }

// coder returns the id of a coder with the given URN and components,
// adding it if needed.
func (b *builder) coder(urn string, comps ...string) string {
	id := strings.TrimPrefix(strings.TrimSuffix(urn, ":v1"), "beam:coder:") + "(" + strings.Join(comps, ",") + ")"
	if _, ok := b.comps().Coders[id]; !ok {
		b.comps().Coders[id] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urn}, ComponentCoderIds: comps}
	}
	return id
}

// groupedCoder returns KV<K, Iterable<V>> for a KV<K, V> coder.
func (b *builder) groupedCoder(kv string) string {
	c := b.comps().Coders[kv]
	return b.coder(urns.CoderKV, c.ComponentCoderIds[0], b.coder(urns.CoderIterable, c.ComponentCoderIds[1]))
}

func (b *builder) gbk(name, in string) string {
	out := b.pcoll(b.groupedCoder(b.comps().Pcollections[in].CoderId), b.ws(in))
	b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformGroupByKey}, []string{in}, []string{out}, "")
	return out
}

func (b *builder) combineSpec(urn string) *pipepb.FunctionSpec {
	return &pipepb.FunctionSpec{Urn: urn, Payload: b.marshal(&pipepb.CombinePayload{
		CombineFn:          &pipepb.FunctionSpec{Urn: urns.PayloadCombineFn, Payload: []byte("sum")},
		AccumulatorCoderId: "lpcustom",
	})}
}

// combinePerKey adds a CombinePerKey composite with the subtransforms an SDK
// emits (GroupByKey, combine_grouped_values), keeping the input's coder.
func (b *builder) combinePerKey(name, in string) string {
	out := b.pcoll(b.comps().Pcollections[in].CoderId, b.ws(in))
	b.composite(name, b.combineSpec(urns.TransformCombinePerKey), []string{in}, []string{out}, func() {
		grouped := b.gbk("GroupByKey", in)
		b.add("Combine", b.combineSpec(urns.TransformCombineGroupedValues), []string{grouped}, []string{out}, b.env)
	})
	return out
}

func (b *builder) flatten(name string, ins ...string) string {
	out := b.pcoll(b.comps().Pcollections[ins[0]].CoderId, b.ws(ins[0]))
	b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformFlatten}, ins, []string{out}, "")
	return out
}

// reshuffle adds a Reshuffle composite expanded the way SDKs do: pair with a
// random key, group, and drop the key again.
func (b *builder) reshuffle(name, in string) string {
	out := b.pcoll(b.comps().Pcollections[in].CoderId, b.ws(in))
	b.composite(name, &pipepb.FunctionSpec{Urn: urns.TransformReshuffle}, []string{in}, []string{out}, func() {
		keyed := b.do("AddRandomKey", in, "kv")
		grouped := b.gbk("GroupByKey", keyed)
		b.add("DropKey", b.pardoSpec(urns.TransformParDo, nil), []string{grouped}, []string{out}, b.env)
	})
	return out
}

func (b *builder) windowInto(name, in, ws string) string {
	out := b.pcoll(b.comps().Pcollections[in].CoderId, ws)
	payload := b.marshal(&pipepb.WindowIntoPayload{WindowFn: b.comps().WindowingStrategies[ws].WindowFn})
	b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformWindowInto, Payload: payload}, []string{in}, []string{out}, b.env)
	return out
}
