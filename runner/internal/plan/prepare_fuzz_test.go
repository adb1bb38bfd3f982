package plan_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// prepareSeeds returns the pipelines FuzzPrepare starts from: every golden
// scenario and a few random pipelines, with unique names made unique so
// that they pass validation, and pipelines past validate's limits: a chain
// of nested length-prefix coders and a chain of nested composites.
func prepareSeeds(t testing.TB) []*pipepb.Pipeline {
	var seeds []*pipepb.Pipeline
	for _, sc := range scenarios {
		b := newBuilder(t)
		sc.build(b)
		seeds = append(seeds, b.p)
	}
	for seed := int64(0); seed < 4; seed++ {
		seeds = append(seeds, randomPipeline(t, rand.New(rand.NewSource(seed))))
	}
	for _, p := range seeds {
		for id, tr := range p.Components.Transforms {
			tr.UniqueName += "@" + id
		}
	}
	deep := newBuilder(t)
	deep.sink("Write", deep.do("Read", deep.impulse("Impulse"), lengthPrefixChain(deep, "lp", 2*validate.MaxCoderDepth, "custom")))
	// Composites nested past the limit, with short names to keep the seed
	// small for the mutator.
	nested := newBuilder(t)
	nested.sink("Write", nested.do("Read", nested.impulse("Impulse"), "string"))
	ts := nested.comps().Transforms
	leaves := nested.p.RootTransformIds
	nested.p.RootTransformIds = []string{"n0"}
	for i := range validate.MaxTransformDepth + 1 {
		id := fmt.Sprintf("n%d", i)
		ts[id] = &pipepb.PTransform{UniqueName: id, Subtransforms: []string{fmt.Sprintf("n%d", i+1)}}
	}
	ts[fmt.Sprintf("n%d", validate.MaxTransformDepth)].Subtransforms = leaves
	return append(seeds, deep.p, nested.p)
}

// FuzzPrepare feeds arbitrary pipelines through what a job server's Prepare
// does with them: validate.Pipeline, then, for a pipeline validation
// accepts, Build and the descriptor of every stage. Nothing may panic or
// overflow the stack, and a pipeline validation accepts must either plan,
// with the plan invariants kept and every stage described, or be refused
// by Build with an error.
func FuzzPrepare(f *testing.F) {
	for _, p := range prepareSeeds(f) {
		bs, err := proto.Marshal(p)
		if err != nil {
			f.Fatalf("proto.Marshal() = %v", err)
		}
		f.Add(bs)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p pipepb.Pipeline
		if proto.Unmarshal(data, &p) != nil {
			return
		}
		if validate.Pipeline(&p, nil) != nil {
			return
		}
		pl, err := plan.Build(&p, nil)
		if err != nil {
			return
		}
		if err := checkPlan(pl, false); err != nil {
			t.Fatalf("Build() plan breaks invariants:\n%v\nplan:\n%v", err, pl)
		}
		for _, s := range pl.Stages {
			desc, w, err := s.Descriptor(pl, string(s.ID), dataURL, stateURL)
			if err != nil {
				t.Fatalf("Descriptor(%s) of a validated, planned pipeline = %v\nplan:\n%v", s.ID, err, pl)
			}
			if err := checkDescriptor(desc, w); err != nil {
				t.Fatalf("Descriptor(%s) is not well formed:\n%v", s.ID, err)
			}
		}
	})
}

// TestPrepareSeedsReachPlanning checks that FuzzPrepare's seeds are useful
// and that validation agrees with planning on them: the seeds Build plans
// pass validation (so the fuzzer starts inside the planner), the scenarios
// Build refuses (a cycle, a missing PCollection) and the seeds past
// validate's limits do not.
func TestPrepareSeedsReachPlanning(t *testing.T) {
	seeds := prepareSeeds(t)
	for i, p := range seeds {
		verr := validate.Pipeline(p, nil)
		_, berr := plan.Build(p, nil)
		wantInvalid := berr != nil
		if (verr != nil) != wantInvalid {
			t.Errorf("seed %d: validate.Pipeline() = %v, but Build() = %v", i, verr, berr)
		}
	}
	if err := validate.Pipeline(seeds[len(seeds)-1], nil); err == nil {
		t.Errorf("the seed of nested composites passes validation, want it past MaxTransformDepth")
	}
}
