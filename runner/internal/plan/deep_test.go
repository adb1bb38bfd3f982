package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/stacktest"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

// deepChain is the length of the chains the tests below build: long enough
// that a walk recursing once per element would need far more than
// smallStack.
const deepChain = 20_000

// smallStack is the stack limit under which the deep pipelines are planned.
// Planning walks deep structures iteratively or up to validate's limits
// and needs little of it.
const smallStack = 1 << 20

// buildDeep plans p with a small stack, then describes every stage.
func buildDeep(t *testing.T, p *pipepb.Pipeline) (*plan.Plan, error) {
	t.Helper()
	var (
		pl  *plan.Plan
		err error
	)
	stacktest.Run(t, smallStack, func() {
		if pl, err = plan.Build(p, nil); err != nil {
			return
		}
		for _, s := range pl.Stages {
			if _, _, err = s.Descriptor(pl, string(s.ID), dataURL, stateURL); err != nil {
				return
			}
		}
	})
	return pl, err
}

// lengthPrefixChain adds n nested length-prefix coders around inner and
// returns the outermost. The outermost has the smallest id, so that walks
// in id order start there.
func lengthPrefixChain(b *builder, prefix string, n int, inner string) string {
	id := func(i int) string { return fmt.Sprintf("%s%06d", prefix, i) }
	for i := range n {
		next := inner
		if i < n-1 {
			next = id(i + 1)
		}
		b.comps().Coders[id(i)] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderLengthPrefix}, ComponentCoderIds: []string{next}}
	}
	return id(0)
}

func TestBuildRefusesDeeplyNestedCoders(t *testing.T) {
	b := newBuilder(t)
	b.sink("Write", b.do("Read", b.impulse("Impulse"), lengthPrefixChain(b, "lp", deepChain, "custom")))
	_, err := buildDeep(t, b.p)
	want := fmt.Sprintf("validate: coder %q: components nest deeper than %d levels", fmt.Sprintf("lp%06d", deepChain-1-validate.MaxCoderDepth), validate.MaxCoderDepth)
	if err == nil || err.Error() != want {
		t.Errorf("Build() = %v, want %s", err, want)
	}
}

func TestBuildRefusesLongCoderCycle(t *testing.T) {
	b := newBuilder(t)
	top := lengthPrefixChain(b, "ring", deepChain, "ring000000")
	b.sink("Write", b.do("Read", b.impulse("Impulse"), top))
	_, err := buildDeep(t, b.p)
	if want := `validate: coders: components form a cycle through ["ring000000" "ring000001" `; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Build() = %.200v, want an error starting %s", err, want)
	}
}

// nestComposites puts the transforms added by body at the bottom of n
// nested composites.
func nestComposites(b *builder, n int, body func()) {
	if n == 0 {
		body()
		return
	}
	b.composite("Nest", nil, nil, nil, func() { nestComposites(b, n-1, body) })
}

func TestBuildRefusesDeeplyNestedComposites(t *testing.T) {
	b := newBuilder(t)
	var read string
	// The builder nests by recursion; 2,000 levels is well past the limit.
	nestComposites(b, 2*validate.MaxTransformDepth, func() { read = b.do("Read", b.impulse("Impulse"), "string") })
	b.sink("Write", read)
	_, err := buildDeep(t, b.p)
	if want := fmt.Sprintf("is nested deeper than %d composites", validate.MaxTransformDepth); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Build() = %v, want an error containing %q", err, want)
	}
}

func TestBuildDropsDeepAndCyclicReshuffleBodies(t *testing.T) {
	b := newBuilder(t)
	kv := b.do("Key", b.impulse("Impulse"), "kv")
	shuffled := b.reshuffle("Reshuffle", kv)
	b.sink("Write", shuffled)
	// Below the Reshuffle's own body hangs a chain of composites whose last
	// contains the first again: the planner drops all of it unread.
	ts := b.comps().Transforms
	var reshuffle string
	for id, tr := range ts {
		if tr.GetUniqueName() == "Reshuffle" {
			reshuffle = id
		}
	}
	id := func(i int) string { return fmt.Sprintf("body%06d", i) }
	for i := range deepChain {
		ts[id(i)] = &pipepb.PTransform{UniqueName: "Body" + id(i), Subtransforms: []string{id((i + 1) % deepChain)}}
	}
	ts[reshuffle].Subtransforms = append(ts[reshuffle].Subtransforms, id(0), reshuffle)
	pl, err := buildDeep(t, b.p)
	if err != nil {
		t.Fatalf("Build() = %v, want a plan", err)
	}
	if got := len(pl.Components.GetTransforms()); got != 4 {
		t.Errorf("Build() kept %d transforms, want 4 (Impulse, Key, Reshuffle, Write):\n%v", got, pl)
	}
}

func TestBuildPlansLongChainOfStages(t *testing.T) {
	n := deepChain / 2
	if testing.Short() || raceEnabled {
		n = 3000 // Still checks the plan; only the full length overflows a recursive walk.
	}
	// Impulse -> Key -> GroupByKey -> Ungroup -> GroupByKey -> ... : one
	// stage per grouping. A last ParDo reads the first Key output as its
	// main input and the end of the chain as a side input, so fusion asks
	// whether the end of the chain depends on the first stage.
	b := newBuilder(t)
	first := b.do("Key", b.impulse("Impulse"), "kv")
	pc := first
	for range n {
		pc = b.do("Ungroup", b.gbk("GroupByKey", pc), "kv")
	}
	b.sink("Join", b.do("Join", first, "kv", iterable(pc)))
	pl, err := buildDeep(t, b.p)
	if err != nil {
		t.Fatalf("Build() = %v, want a plan", err)
	}
	if got, want := len(pl.Stages), n+2; got != want {
		t.Errorf("Build() made %d stages, want %d (one per grouping, then the Join)", got, want)
	}
	last := pl.Stages[len(pl.Stages)-1]
	if got := pl.Components.Transforms[last.Transforms[0]].GetUniqueName(); got != "Join" || len(last.SideInputs) != 1 {
		t.Errorf("Build() last stage runs %q with %d side inputs, want the Join with 1", got, len(last.SideInputs))
	}
}
