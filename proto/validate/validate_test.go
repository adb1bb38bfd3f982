package validate_test

import (
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

// errorLines splits a joined error into its messages; nil gives nil.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestPipeline(t *testing.T) {
	type mutation func(p *pipepb.Pipeline)
	tests := []struct {
		name   string
		mutate mutation
		opts   *validate.Options
		want   []string
	}{
		{
			name:   "a well formed word count passes",
			mutate: func(p *pipepb.Pipeline) {},
		},
		{
			name: "an input naming a missing PCollection is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_split"].Inputs["i0"] = "p9"
			},
			want: []string{`validate: transform "Split" (id t_split): input "i0" names missing PCollection "p9"`},
		},
		{
			name: "an output naming a missing PCollection is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_write"].Outputs = map[string]string{"o0": "p9"}
			},
			want: []string{`validate: transform "Write" (id t_write): output "o0" names missing PCollection "p9"`},
		},
		{
			name: "a side input that is not an input of the transform is reported",
			mutate: func(p *pipepb.Pipeline) {
				delete(p.Components.Transforms["t_format"].Inputs, "i1")
			},
			want: []string{`validate: transform "Format" (id t_format): side input "i1" is not among the transform's inputs`},
		},
		{
			name: "a side input with an unknown access pattern is reported",
			mutate: func(p *pipepb.Pipeline) {
				setPayload(t, p, "t_format", func(pd *pipepb.ParDoPayload) {
					pd.SideInputs["i1"].AccessPattern.Urn = "beam:side_input:singleton:v0"
				})
			},
			want: []string{`validate: transform "Format" (id t_format): side input "i1" has unknown access pattern "beam:side_input:singleton:v0"`},
		},
		{
			name: "a PCollection naming a missing coder is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Pcollections["p_lines"].CoderId = "c9"
			},
			want: []string{`validate: PCollection "pc/p_lines" (id p_lines): coder "c9" is missing`},
		},
		{
			name: "a PCollection without a coder is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Pcollections["p_lines"].CoderId = ""
			},
			want: []string{`validate: PCollection "pc/p_lines" (id p_lines): has no coder`},
		},
		{
			name: "a PCollection without a windowing strategy is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Pcollections["p_out"].WindowingStrategyId = ""
			},
			want: []string{`validate: PCollection "pc/p_out" (id p_out): has no windowing strategy`},
		},
		{
			name: "a PCollection naming a missing windowing strategy is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Pcollections["p_out"].WindowingStrategyId = "w9"
			},
			want: []string{`validate: PCollection "pc/p_out" (id p_out): windowing strategy "w9" is missing`},
		},
		{
			name: "a windowing strategy naming a missing window coder is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.WindowingStrategies["ws"].WindowCoderId = "c9"
			},
			want: []string{`validate: windowing strategy "ws": window coder "c9" is missing`},
		},
		{
			name: "a windowing strategy with an unknown window function is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.WindowingStrategies["ws"].WindowFn.Urn = "my:windowfn"
			},
			want: []string{`validate: windowing strategy "ws": unknown window function URN "my:windowfn"`},
		},
		{
			name: "a window function listed in the options is accepted",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.WindowingStrategies["ws"].WindowFn.Urn = "my:windowfn"
			},
			opts: &validate.Options{WindowFnURNs: []string{"my:windowfn"}},
		},
		{
			name: "a coder component naming a missing coder is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Coders["iter"].ComponentCoderIds = []string{"c9"}
			},
			want: []string{`validate: coder "iter": component 0 "c9" is missing`},
		},
		{
			name: "a length prefix naming a missing coder is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Coders["lpcustom"].ComponentCoderIds = []string{"c9"}
			},
			want: []string{`validate: coder "lpcustom": component 0 "c9" is missing`},
		},
		{
			name: "a KV coder with one component is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Coders["kv"].ComponentCoderIds = []string{"string"}
			},
			want: []string{`validate: coder "kv": beam:coder:kv:v1 has 1 components, want 2`},
		},
		{
			name: "a coder without an URN is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Coders["varint"].Spec = nil
			},
			want: []string{`validate: coder "varint": coder has no URN`},
		},
		{
			name: "a coder that contains itself is a cycle",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Coders["iter"].ComponentCoderIds = []string{"iter"}
			},
			want: []string{`validate: coders: components form a cycle through ["iter"]`},
		},
		{
			name: "coders that contain each other are a cycle",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Coders["iter"].ComponentCoderIds = []string{"kv_iter"}
			},
			want: []string{`validate: coders: components form a cycle through ["iter" "kv_iter"]`},
		},
		{
			name: "a subtransform naming a missing transform is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_count"].Subtransforms = append(p.Components.Transforms["t_count"].Subtransforms, "t9")
			},
			want: []string{`validate: transform "Count" (id t_count): subtransform 2 names missing transform "t9"`},
		},
		{
			name: "a root naming a missing transform is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.RootTransformIds = append(p.RootTransformIds, "t9")
			},
			want: []string{`validate: pipeline: root transform 7 names missing transform "t9"`},
		},
		{
			name: "a root listed twice is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.RootTransformIds = append(p.RootTransformIds, "t_imp")
			},
			want: []string{`validate: transform "Impulse" (id t_imp): listed twice as a root transform`},
		},
		{
			name: "a transform that is neither root nor subtransform is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.RootTransformIds = p.RootTransformIds[:len(p.RootTransformIds)-1]
			},
			want: []string{`validate: transform "Write" (id t_write): is neither a root transform nor a subtransform of any transform`},
		},
		{
			name: "a root transform that is also a subtransform is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.RootTransformIds = append(p.RootTransformIds, "t_gbk")
			},
			want: []string{`validate: transform "Count/GroupByKey" (id t_gbk): is a root transform and a subtransform of transform "Count" (id t_count)`},
		},
		{
			name: "a subtransform of two composites is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_other"] = &pipepb.PTransform{UniqueName: "Other", Subtransforms: []string{"t_gbk"}}
				p.RootTransformIds = append(p.RootTransformIds, "t_other")
			},
			want: []string{`validate: transform "Count/GroupByKey" (id t_gbk): is a subtransform of both transform "Count" (id t_count) and transform "Other" (id t_other)`},
		},
		{
			name: "composites that contain each other are a cycle",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_outer"] = &pipepb.PTransform{UniqueName: "Outer", Subtransforms: []string{"t_inner"}}
				p.Components.Transforms["t_inner"] = &pipepb.PTransform{UniqueName: "Inner", Subtransforms: []string{"t_outer"}}
			},
			want: []string{`validate: transforms: composites contain each other in a cycle through transform "Inner" (id t_inner), transform "Outer" (id t_outer)`},
		},
		{
			name: "a missing environment is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_read"].EnvironmentId = "java"
			},
			want: []string{`validate: transform "Read" (id t_read): environment "java" is missing`},
		},
		{
			name: "a missing environment of a windowing strategy is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.WindowingStrategies["ws"].EnvironmentId = "java"
			},
			want: []string{`validate: windowing strategy "ws": environment "java" is missing`},
		},
		{
			name: "transforms consuming each other's outputs are a cycle",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_read"].Inputs["i0"] = "p_custom"
			},
			want: []string{`validate: transforms: data flows in a cycle through transform "Read" (id t_read), transform "Split" (id t_split)`},
		},
		{
			name: "a transform consuming its own output is a cycle",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_format"].Inputs["i2"] = "p_out"
			},
			want: []string{`validate: transforms: data flows in a cycle through transform "Format" (id t_format)`},
		},
		{
			name: "an unknown leaf transform URN is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_imp"].Spec.Urn = "my:impulse"
			},
			want: []string{`validate: transform "Impulse" (id t_imp): unknown transform URN "my:impulse"`},
		},
		{
			name: "a leaf transform URN listed in the options is accepted",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_imp"].Spec.Urn = "my:impulse"
			},
			opts: &validate.Options{TransformURNs: []string{"my:impulse"}},
		},
		{
			name: "a leaf transform without an URN is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_imp"].Spec = nil
			},
			want: []string{`validate: transform "Impulse" (id t_imp): leaf transform has no URN`},
		},
		{
			name: "a composite may have any URN or none",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_count"].Spec = &pipepb.FunctionSpec{Urn: "my:count"}
				p.Components.Transforms["t_wrap"] = &pipepb.PTransform{UniqueName: "Wrap", Subtransforms: []string{"t_write"}}
				p.RootTransformIds[len(p.RootTransformIds)-1] = "t_wrap"
			},
		},
		{
			name: "an unknown coder used directly by a PCollection is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Pcollections["p_custom"].CoderId = "custom"
			},
			want: []string{`validate: PCollection "pc/p_custom" (id p_custom): coder "custom" has unknown URN "example:coder:opaque:v1" and is not wrapped in beam:coder:length_prefix:v1`},
		},
		{
			name: "an unknown coder inside a KV coder is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Coders["kv"].ComponentCoderIds[1] = "custom"
			},
			want: []string{`validate: coder "kv": component 1 "custom" has unknown URN "example:coder:opaque:v1" and is not wrapped in beam:coder:length_prefix:v1`},
		},
		{
			name: "an unknown coder listed in the options may be used directly",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Pcollections["p_custom"].CoderId = "custom"
			},
			opts: &validate.Options{CoderURNs: []string{"example:coder:opaque:v1"}},
		},
		{
			name: "with OpaqueCoders an unknown coder may be used anywhere",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Pcollections["p_custom"].CoderId = "custom"
				p.Components.Coders["kv"].ComponentCoderIds[1] = "custom"
				p.Components.Transforms["t_count"].Spec = newBuilder(t).combine(urns.TransformCombinePerKey, "custom")
			},
			opts: &validate.Options{OpaqueCoders: true},
		},
		{
			name: "with OpaqueCoders a missing coder is still reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Coders["kv"].ComponentCoderIds[1] = "c9"
			},
			opts: &validate.Options{OpaqueCoders: true},
			want: []string{`validate: coder "kv": component 1 "c9" is missing`},
		},
		{
			name: "an unknown accumulator coder is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_count"].Spec = newBuilder(t).combine(urns.TransformCombinePerKey, "custom")
			},
			want: []string{`validate: transform "Count" (id t_count): accumulator coder "custom" has unknown URN "example:coder:opaque:v1" and is not wrapped in beam:coder:length_prefix:v1`},
		},
		{
			name: "a missing accumulator coder is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_cgv"].Spec = newBuilder(t).combine(urns.TransformCombineGroupedValues, "c9")
			},
			want: []string{`validate: transform "Count/Combine" (id t_cgv): accumulator coder "c9" is missing`},
		},
		{
			name: "a ParDo whose payload does not decode is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_read"].Spec.Payload = []byte{0xff}
			},
			want: []string{`validate: transform "Read" (id t_read): payload is not a ParDoPayload: `},
		},
		{
			name: "a ParDo without a DoFn is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_read"].Spec.Payload = nil
			},
			want: []string{`validate: transform "Read" (id t_read): ParDo payload has no DoFn`},
		},
		{
			name: "a state coder naming a missing coder is reported",
			mutate: func(p *pipepb.Pipeline) {
				setPayload(t, p, "t_read", func(pd *pipepb.ParDoPayload) {
					pd.StateSpecs = map[string]*pipepb.StateSpec{"seen": {Spec: &pipepb.StateSpec_BagSpec{BagSpec: &pipepb.BagStateSpec{ElementCoderId: "c9"}}}}
				})
			},
			want: []string{`validate: transform "Read" (id t_read): state seen coder "c9" is missing`},
		},
		{
			name: "a leaf output produced twice is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_limit"].Outputs["o0"] = "p_lines"
			},
			want: []string{
				`validate: transform "Read" (id t_read): output "o0" names PCollection "p_lines" already produced by transform "Limit" (id t_limit)`,
				`validate: transform "Format" (id t_format): input "i1" names PCollection "p_limit" that no leaf transform produces`,
			},
		},
		{
			name: "an empty transform unique name is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_read"].UniqueName = ""
			},
			want: []string{`validate: transform (id t_read): unique name is empty`},
		},
		{
			name: "a composite may have an empty unique name",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_count"].UniqueName = ""
			},
		},
		{
			name: "a duplicate transform unique name is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_write"].UniqueName = "Read"
			},
			want: []string{`validate: transform "Read" (id t_write): unique name is also used by transform id t_read`},
		},
		{
			name: "a duplicate PCollection unique name is reported",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Pcollections["p_out"].UniqueName = "pc/p_lines"
			},
			want: []string{`validate: PCollection "pc/p_lines" (id p_out): unique name is also used by PCollection id p_lines`},
		},
		{
			name: "several problems are all reported, by rule and then by id",
			mutate: func(p *pipepb.Pipeline) {
				p.Components.Transforms["t_write"].Inputs["i0"] = "p9"
				p.Components.Transforms["t_read"].Inputs["i0"] = "p8"
				p.Components.Coders["iter"].ComponentCoderIds = []string{"c9"}
				p.Components.Pcollections["p_lines"].CoderId = "c8"
			},
			want: []string{
				`validate: transform "Read" (id t_read): input "i0" names missing PCollection "p8"`,
				`validate: transform "Write" (id t_write): input "i0" names missing PCollection "p9"`,
				`validate: PCollection "pc/p_lines" (id p_lines): coder "c8" is missing`,
				`validate: coder "iter": component 0 "c9" is missing`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wordCount(t)
			tt.mutate(p)
			before := proto.Clone(p)
			got := errorLines(validate.Pipeline(p, tt.opts))
			// A decode error's text belongs to the protobuf library: compare its prefix only.
			for i := range got {
				if i < len(tt.want) && strings.HasSuffix(tt.want[i], ": ") && strings.HasPrefix(got[i], tt.want[i]) {
					got[i] = tt.want[i]
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Pipeline() errors mismatch (-want +got):\n%s", diff)
			}
			if !proto.Equal(before, p) {
				t.Errorf("Pipeline() modified its argument")
			}
		})
	}
}

func TestPipelineRejectsMissingPipeline(t *testing.T) {
	tests := []struct {
		name string
		p    *pipepb.Pipeline
		want string
	}{
		{"a nil pipeline is rejected", nil, "validate: pipeline is nil"},
		{"a pipeline without components is rejected", &pipepb.Pipeline{}, "validate: pipeline has no components"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validate.Pipeline(tt.p, nil); err == nil || err.Error() != tt.want {
				t.Errorf("Pipeline(%v) = %v, want %q", tt.p, err, tt.want)
			}
		})
	}
}

func TestPipelineIsDeterministic(t *testing.T) {
	p := wordCount(t)
	for _, id := range []string{"t_read", "t_split", "t_write", "t_limit"} {
		p.Components.Transforms[id].Inputs["x"] = "missing_" + id
		p.Components.Transforms[id].UniqueName = "same"
	}
	first := validate.Pipeline(p, nil).Error()
	for i := 0; i < 20; i++ {
		if got := validate.Pipeline(p, nil).Error(); got != first {
			t.Fatalf("Pipeline() run %d =\n%s\nwant the first run's\n%s", i, got, first)
		}
	}
}

// setPayload decodes the ParDoPayload of transform id, applies change and
// stores it back.
func setPayload(t *testing.T, p *pipepb.Pipeline, id string, change func(*pipepb.ParDoPayload)) {
	t.Helper()
	spec := p.Components.Transforms[id].Spec
	var pd pipepb.ParDoPayload
	if err := proto.Unmarshal(spec.Payload, &pd); err != nil {
		t.Fatalf("proto.Unmarshal(ParDoPayload of %s) = %v", id, err)
	}
	change(&pd)
	bs, err := proto.Marshal(&pd)
	if err != nil {
		t.Fatalf("proto.Marshal(%v) = %v", &pd, err)
	}
	spec.Payload = bs
}
