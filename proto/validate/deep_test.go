package validate_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/stacktest"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

// deepChain is the length of the chains the tests below build: long enough
// that a recursive walk would need far more than smallStack.
const deepChain = 20_000

// smallStack is the stack limit under which the deep pipelines are
// validated. Validation walks iteratively and needs little of it; a walk
// recursing once per coder or transform of a deepChain chain would need
// several megabytes and crash the test binary.
const smallStack = 1 << 20

// validateDeep validates p with a small stack and returns the error.
func validateDeep(t *testing.T, p *pipepb.Pipeline) error {
	t.Helper()
	var err error
	stacktest.Run(t, smallStack, func() { err = validate.Pipeline(p, nil) })
	return err
}

// wantOnly checks that err consists of exactly the messages want.
func wantOnly(t *testing.T, err error, want ...string) {
	t.Helper()
	got := errorLines(err)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		if len(got) > 5 {
			got = append(got[:5], fmt.Sprintf("... and %d more", len(got)-5))
		}
		t.Errorf("Pipeline() = %q, want %q", got, want)
	}
}

func TestPipelineRefusesDeeplyNestedCoders(t *testing.T) {
	p := wordCount(t)
	// lp000000 wraps lp000001, which wraps lp000002 ... which wraps bytes:
	// the walks, in id order, start at the outermost coder.
	id := func(i int) string { return fmt.Sprintf("lp%06d", i) }
	for i := range deepChain {
		inner := id(i + 1)
		if i == deepChain-1 {
			inner = "bytes"
		}
		p.Components.Coders[id(i)] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderLengthPrefix}, ComponentCoderIds: []string{inner}}
	}
	p.Components.Pcollections["p_lines"].CoderId = id(0)
	// The innermost length prefix has depth 1, so the one 100 levels out is
	// the first past the limit.
	wantOnly(t, validateDeep(t, p),
		fmt.Sprintf(`validate: coder %q: components nest deeper than %d levels`, id(deepChain-1-validate.MaxCoderDepth), validate.MaxCoderDepth))
}

func TestPipelineRefusesCodersExpandingExponentially(t *testing.T) {
	p := wordCount(t)
	prev := "varint"
	for i := range 40 {
		id := fmt.Sprintf("kv%d", i)
		p.Components.Coders[id] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderKV}, ComponentCoderIds: []string{prev, prev}}
		prev = id
	}
	p.Components.Pcollections["p_words"].CoderId = prev
	// kv<i> expands to 2^(i+2)-1 coders: kv12 to 16383, its components to 8191.
	wantOnly(t, validateDeep(t, p),
		fmt.Sprintf(`validate: coder "kv12": expands to more than %d coders once its components are resolved`, validate.MaxCoderSize))
}

func TestPipelineReportsLongCoderCycle(t *testing.T) {
	p := wordCount(t)
	for i := range deepChain {
		p.Components.Coders[fmt.Sprintf("ring%06d", i)] = &pipepb.Coder{
			Spec:              &pipepb.FunctionSpec{Urn: urns.CoderLengthPrefix},
			ComponentCoderIds: []string{fmt.Sprintf("ring%06d", (i+1)%deepChain)},
		}
	}
	err := validateDeep(t, p)
	lines := errorLines(err)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `validate: coders: components form a cycle through ["ring000000" "ring000001" `) {
		if len(lines) > 0 {
			lines[0] = lines[0][:min(len(lines[0]), 200)]
		}
		t.Errorf("Pipeline() = %d problems starting %q, want one cycle through the ring", len(lines), lines[:min(len(lines), 3)])
	}
}

func TestPipelineRefusesDeeplyNestedComposites(t *testing.T) {
	p := wordCount(t)
	ts := p.Components.Transforms
	// t_write becomes the innermost leaf of a chain of composites.
	p.RootTransformIds = slicesWithout(p.RootTransformIds, "t_write")
	parent := ""
	for i := range deepChain {
		id := fmt.Sprintf("nest%d", i)
		ts[id] = &pipepb.PTransform{UniqueName: "Nest" + id}
		if parent == "" {
			p.RootTransformIds = append(p.RootTransformIds, id)
		} else {
			ts[parent].Subtransforms = []string{id}
		}
		parent = id
	}
	ts[parent].Subtransforms = []string{"t_write"}
	wantOnly(t, validateDeep(t, p),
		fmt.Sprintf(`validate: transform "Nestnest%d" (id nest%d): is nested deeper than %d composites`,
			validate.MaxTransformDepth+1, validate.MaxTransformDepth+1, validate.MaxTransformDepth))
}

func TestPipelineReportsLongCompositeCycle(t *testing.T) {
	p := wordCount(t)
	ts := p.Components.Transforms
	for i := range deepChain {
		ts[fmt.Sprintf("ring%06d", i)] = &pipepb.PTransform{
			UniqueName:    fmt.Sprintf("Ring%06d", i),
			Subtransforms: []string{fmt.Sprintf("ring%06d", (i+1)%deepChain)},
		}
	}
	// Every ring transform has a parent, so only the cycle is reported.
	lines := errorLines(validateDeep(t, p))
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `validate: transforms: composites contain each other in a cycle through transform "Ring000000" (id ring000000), transform "Ring000001"`) {
		t.Errorf("Pipeline() = %d problems starting %.200q, want one cycle through the ring", len(lines), lines[0])
	}
}

func TestPipelineAcceptsLongChainOfTransforms(t *testing.T) {
	p := wordCount(t)
	// Insert deepChain ParDos between Format and Write, the last one with
	// the smallest id, so that a walk in id order along producers starts at
	// the end of the chain.
	prev := "p_out"
	for i := range deepChain {
		id, out := fmt.Sprintf("chain%06d", deepChain-1-i), fmt.Sprintf("p_chain%d", i)
		p.Components.Pcollections[out] = &pipepb.PCollection{
			UniqueName: "pc/" + out, CoderId: "string", WindowingStrategyId: "ws", IsBounded: pipepb.IsBounded_BOUNDED,
		}
		p.Components.Transforms[id] = &pipepb.PTransform{
			UniqueName: "Chain" + id, Spec: p.Components.Transforms["t_read"].Spec, EnvironmentId: "go",
			Inputs: map[string]string{"i0": prev}, Outputs: map[string]string{"o0": out},
		}
		p.RootTransformIds = append(p.RootTransformIds, id)
		prev = out
	}
	p.Components.Transforms["t_write"].Inputs["i0"] = prev
	if err := validateDeep(t, p); err != nil {
		t.Errorf("Pipeline() = %.300v, want nil", err)
	}
}

func slicesWithout(xs []string, x string) []string {
	var out []string
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}
