package plan_test

import (
	"math/rand"
	"testing"

	"github.com/beamgo-dev/beamgo/runner/internal/plan"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// randomPipeline builds a random pipeline over KV<string, int> PCollections
// in the global window: impulses and reads, then a random mix of ParDos with
// side inputs (possibly of their own main input), several outputs or
// another environment, GroupByKeys, CombinePerKeys, Flattens and
// Reshuffles, with sinks on some results.
func randomPipeline(t testing.TB, r *rand.Rand) *pipepb.Pipeline {
	b := newBuilder(t)
	var pcs []string
	for i := 0; i <= r.Intn(2); i++ {
		pcs = append(pcs, b.do("Read", b.impulse("Impulse"), "kv"))
	}
	pick := func() string { return pcs[r.Intn(len(pcs))] }
	for i := 0; i < 4+r.Intn(16); i++ {
		switch r.Intn(8) {
		case 0:
			pcs = append(pcs, b.do("Ungroup", b.gbk("GroupByKey", pick()), "kv"))
		case 1:
			ins := []string{pick()}
			for j := 0; j < r.Intn(3); j++ {
				ins = append(ins, pick())
			}
			pcs = append(pcs, b.flatten("Flatten", ins...))
		case 2:
			pcs = append(pcs, b.reshuffle("Reshuffle", pick()))
		case 3:
			pcs = append(pcs, b.combinePerKey("Combine", pick()))
		case 4:
			var sides []side
			for j := 0; j < r.Intn(3); j++ {
				sides = append(sides, side{pick(), []string{iterable("").pattern, multimap("").pattern}[r.Intn(2)]})
			}
			pcs = append(pcs, b.do("Join", pick(), "kv", sides...))
		case 5:
			b.env = []string{"go", "py"}[r.Intn(2)]
			pcs = append(pcs, b.do("Switch", pick(), "kv"))
		case 6:
			pcs = append(pcs, b.pardo("Split", pick(), []string{"kv", "kv"})...)
		case 7:
			b.sink("Write", pick())
		}
	}
	return b.p
}

func TestBuildRandomPipelinesKeepsInvariants(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 50
	}
	for seed := int64(0); seed < int64(n); seed++ {
		p := randomPipeline(t, rand.New(rand.NewSource(seed)))
		for _, opts := range []*plan.Options{nil, {DisableLifting: true}} {
			pl, err := plan.Build(p, opts)
			if err != nil {
				t.Fatalf("seed %d: Build() = %v", seed, err)
			}
			if err := checkPlan(pl, true); err != nil {
				t.Fatalf("seed %d: Build() plan breaks invariants:\n%v\nplan:\n%v", seed, err, pl)
			}
			for _, s := range pl.Stages {
				desc, w, err := s.Descriptor(pl, string(s.ID), dataURL, stateURL)
				if err != nil {
					t.Fatalf("seed %d: Descriptor(%s) = %v", seed, s.ID, err)
				}
				if err := checkDescriptor(desc, w); err != nil {
					t.Fatalf("seed %d: Descriptor(%s) is not well formed:\n%v", seed, s.ID, err)
				}
			}
		}
	}
}

// FuzzBuild checks that Build and Descriptor never panic on arbitrary
// pipelines, and that the plans Build accepts keep the plan invariants.
func FuzzBuild(f *testing.F) {
	for _, sc := range scenarios {
		b := newBuilder(f)
		sc.build(b)
		f.Add(b.marshal(b.p))
	}
	for seed := int64(0); seed < 4; seed++ {
		bs, err := proto.Marshal(randomPipeline(f, rand.New(rand.NewSource(seed))))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bs)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p pipepb.Pipeline
		if proto.Unmarshal(data, &p) != nil {
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
			_, _, _ = s.Descriptor(pl, string(s.ID), dataURL, stateURL)
		}
	})
}
