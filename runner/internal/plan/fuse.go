package plan

import (
	"container/heap"
	"fmt"
	"slices"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

// fuser assigns the leaves of a graph to stages.
type fuser struct {
	g      *graph
	stages []*Stage // in creation order
	// stageOf maps a PCollection to the stage that produces it: the stage
	// of its producing transform, or the stage whose runner-side input
	// makes it.
	stageOf map[string]*Stage
	// breaks maps a PCollection to the stages created to read it after
	// fusion with its producer broke, so that siblings can share them.
	breaks map[string][]*Stage
	// upstream maps a stage to the stages it reads from directly.
	upstream map[*Stage]map[*Stage]struct{}
}

// fuse assigns the leaves, visited in topological order, to stages by
// greedy producer-consumer fusion: a transform joins the stage producing its
// main input. Fusion breaks, and a transform starts a new stage, when:
//
//   - it is an Impulse (InputImpulse), a GroupByKey (InputGrouped), or a
//     Reshuffle the runner executes (InputData); these run in the runner,
//     which feeds the new stage;
//   - it is a Flatten whose inputs come from different stages (InputData
//     with several PCollections); a Flatten within one stage stays there;
//   - it reads a side input produced in that stage, or in a stage that
//     depends on it: side inputs must be complete before the reader starts,
//     so the reader must run in a later stage, and joining would make the
//     stages depend on each other;
//   - its environment differs from the stage's (transforms without an
//     environment, like Flatten, fit anywhere);
//   - it processes the restrictions of a splittable DoFn: it must read the
//     stage input directly, so the runner can split the input channel;
//   - it reads a windowed side input with an unbounded main input: it must
//     read the stage input directly, whose windows the engine screens for
//     side-input readiness (screensSides).
//
// A transform that cannot join its producer's stage joins a stage reading
// its main input after a fusion break (InputData, no runner transform),
// shared with siblings that broke away too when possible. A PCollection with
// several consumers in one stage fans out within the stage.
func fuse(g *graph, order []string) ([]*Stage, error) {
	f := &fuser{g: g, stageOf: map[string]*Stage{}, breaks: map[string][]*Stage{}, upstream: map[*Stage]map[*Stage]struct{}{}}
	for _, id := range order {
		if err := f.place(id); err != nil {
			return nil, err
		}
	}
	return f.finish()
}

// place assigns transform id to a stage.
func (f *fuser) place(id string) error {
	switch urn := f.g.transform(id).GetSpec().GetUrn(); {
	case urn == urns.TransformImpulse:
		return f.runnerSide(id, InputImpulse, nil)
	case urn == urns.TransformGroupByKey:
		return f.runnerSide(id, InputGrouped, f.g.mainInputs(id))
	case isRedistribute(urn):
		return f.runnerSide(id, InputData, f.g.mainInputs(id))
	case urn == urns.TransformTestStream:
		return f.placeTestStream(id)
	case urn == urnKeyedBundles:
		return f.runnerSide(id, InputKeyed, f.g.mainInputs(id))
	case urn == urns.TransformFlatten:
		ins := f.g.mainInputs(id)
		if s := f.onlyStage(ins); s != nil && f.canJoin(id, s) {
			f.join(s, id)
			return nil
		}
		return f.runnerSide(id, InputData, ins)
	}
	return f.placeFused(id)
}

// runnerSide starts a stage whose input the runner makes by executing
// transform id over the PCollections ins.
func (f *fuser) runnerSide(id string, kind InputKind, ins []string) error {
	outs := f.g.outputs(id)
	switch {
	case len(outs) != 1:
		return fmt.Errorf("plan: transform %s: a runner-side %s needs one output, has %d", f.g.describe(id), kind, len(outs))
	case kind == InputGrouped && len(ins) != 1, kind == InputKeyed && len(ins) != 1, kind == InputData && len(ins) != 1 && !f.isFlatten(id):
		return fmt.Errorf("plan: transform %s: a runner-side %s needs one input, has %d", f.g.describe(id), kind, len(ins))
	}
	s := f.newStage(Input{Kind: kind, Transform: id, PCollections: ins, Target: outs[0]})
	for _, p := range ins {
		f.depend(s, f.stageOf[p])
	}
	f.stageOf[outs[0]] = s
	return nil
}

func (f *fuser) isFlatten(id string) bool {
	return f.g.transform(id).GetSpec().GetUrn() == urns.TransformFlatten
}

// placeFused places a transform the SDK harness executes.
func (f *fuser) placeFused(id string) error {
	mains := f.g.mainInputs(id)
	if len(mains) == 0 {
		return fmt.Errorf("plan: transform %s (%s) has no main input; only an Impulse may start a stage",
			f.g.describe(id), f.g.transform(id).GetSpec().GetUrn())
	}
	s := f.onlyStage(mains)
	if s == nil {
		return fmt.Errorf("plan: transform %s reads main inputs produced in different stages", f.g.describe(id))
	}
	lead := mustLead(f.g.transform(id).GetSpec().GetUrn()) || f.screensSides(id, mains)
	if (!lead || s.Input.Target == mains[0]) && f.canJoin(id, s) {
		f.join(s, id)
		return nil
	}
	if len(mains) > 1 {
		return fmt.Errorf("plan: transform %s cannot start a stage: it has %d main inputs", f.g.describe(id), len(mains))
	}
	p := mains[0]
	for _, b := range f.breaks[p] {
		if f.canJoin(id, b) {
			f.join(b, id)
			return nil
		}
	}
	b := f.newStage(Input{Kind: InputData, PCollections: []string{p}, Target: p})
	f.depend(b, s)
	f.breaks[p] = append(f.breaks[p], b)
	f.join(b, id)
	return nil
}

// screensSides reports whether transform id, reading mains, must read its
// stage's input directly because the engine holds its main-input elements
// back until their side inputs are ready for their windows: its main input
// is unbounded and a side input is windowed (not in the global window).
// The windows the engine reads at the stage's input are then the windows
// the transform sees, which a fused WindowInto before it would change.
func (f *fuser) screensSides(id string, mains []string) bool {
	if len(mains) != 1 || len(f.g.sides[id]) == 0 {
		return false
	}
	comps := f.g.comps
	if comps.GetPcollections()[mains[0]].GetIsBounded() != pipepb.IsBounded_UNBOUNDED {
		return false
	}
	for _, si := range f.g.sides[id] {
		ws := comps.GetWindowingStrategies()[comps.GetPcollections()[si.PCollection].GetWindowingStrategyId()]
		if ws.GetWindowFn().GetUrn() != urns.WindowFnGlobal {
			return true
		}
	}
	return false
}

// mustLead reports whether a transform with urn must read its stage's input
// directly.
func mustLead(urn string) bool {
	return urn == urns.TransformProcessSizedElementsAndRestrictions
}

// onlyStage returns the stage producing all of ps, or nil if they come from
// different stages or ps is empty.
func (f *fuser) onlyStage(ps []string) *Stage {
	var s *Stage
	for _, p := range ps {
		switch {
		case s == nil:
			s = f.stageOf[p]
		case s != f.stageOf[p]:
			return nil
		}
	}
	return s
}

// canJoin reports whether transform id may be added to stage s, whose
// stage produces its main input: environments agree, and no side input is
// produced in s or in a stage depending on s.
func (f *fuser) canJoin(id string, s *Stage) bool {
	env := f.g.transform(id).GetEnvironmentId()
	if env != "" && s.Environment != "" && env != s.Environment {
		return false
	}
	for _, si := range f.g.sides[id] {
		if p := f.stageOf[si.PCollection]; p == s || f.dependsOn(p, s) {
			return false
		}
	}
	return true
}

// dependsOn reports whether stage a reads, directly or through other
// stages, from stage b. It searches a's upstream stages with an explicit
// stack, since a chain of stages may be as long as the pipeline.
func (f *fuser) dependsOn(a, b *Stage) bool {
	if a == nil {
		return false
	}
	seen := map[*Stage]bool{a: true}
	pending := []*Stage{a}
	for len(pending) > 0 {
		s := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		for up := range f.upstream[s] {
			if up == b {
				return true
			}
			if !seen[up] {
				seen[up] = true
				pending = append(pending, up)
			}
		}
	}
	return false
}

// join adds transform id to stage s.
func (f *fuser) join(s *Stage, id string) {
	s.Transforms = append(s.Transforms, id)
	if s.Environment == "" {
		s.Environment = f.g.transform(id).GetEnvironmentId()
	}
	for _, si := range f.g.sides[id] {
		f.depend(s, f.stageOf[si.PCollection])
		s.SideInputs = append(s.SideInputs, si)
	}
	for _, p := range f.g.outputs(id) {
		f.stageOf[p] = s
	}
}

func (f *fuser) newStage(in Input) *Stage {
	s := &Stage{Input: in}
	f.stages = append(f.stages, s)
	f.upstream[s] = map[*Stage]struct{}{}
	return s
}

// depend records that stage s reads from stage up.
func (f *fuser) depend(s, up *Stage) {
	if up != nil && up != s {
		f.upstream[s][up] = struct{}{}
	}
}

// finish orders the stages topologically (ties by creation order), names
// them, and fills in Outputs and Upstream.
func (f *fuser) finish() ([]*Stage, error) {
	ordered, err := orderStages(f.stages, f.upstream)
	if err != nil {
		return nil, err
	}
	pos := map[StageID]int{}
	for i, s := range ordered {
		s.ID = StageID(fmt.Sprintf("s%d", i))
		pos[s.ID] = i
	}
	read := f.readElsewhere()
	for _, s := range ordered {
		s.Input.Unbounded = f.unbounded(s.Input)
		if s.Input.Kind == InputGrouped || s.Input.Kind == InputKeyed {
			if err := f.windowing(s); err != nil {
				return nil, err
			}
		}
		if s.Input.Kind == InputKeyed {
			if err := f.stateful(s); err != nil {
				return nil, err
			}
		}
		s.Outputs = f.outputsOf(s, read)
		for up := range f.upstream[s] {
			s.Upstream = append(s.Upstream, up.ID)
		}
		slices.SortFunc(s.Upstream, func(a, b StageID) int { return pos[a] - pos[b] })
	}
	return ordered, nil
}

// windowing decodes the windowing strategy of grouped stage s's input.
func (f *fuser) windowing(s *Stage) error {
	comps := f.g.comps
	ws := comps.GetWindowingStrategies()[comps.GetPcollections()[s.Input.PCollections[0]].GetWindowingStrategyId()]
	w, err := decode.WindowingStrategy(ws)
	if err != nil {
		return fmt.Errorf("plan: transform %s: windowing strategy of its input: %w", f.g.describe(s.Input.Transform), err)
	}
	s.Input.Windowing = &w
	rs := ReduceStrategy(w)
	s.Input.Reduce = &rs
	return nil
}

// unbounded reports whether an input reads an unbounded PCollection.
func (f *fuser) unbounded(in Input) bool {
	pcs := in.PCollections
	if in.Kind == InputTestStream {
		pcs = []string{in.Target}
	}
	for _, p := range pcs {
		if f.g.comps.GetPcollections()[p].GetIsBounded() == pipepb.IsBounded_UNBOUNDED {
			return true
		}
	}
	return false
}

// readElsewhere returns the PCollections read outside the stage producing
// them: by a transform of another stage or by a stage's runner-side input.
func (f *fuser) readElsewhere() map[string]bool {
	read := map[string]bool{}
	for _, s := range f.stages {
		for _, p := range s.Input.PCollections {
			read[p] = true
		}
		for _, id := range s.Transforms {
			for _, p := range f.g.transform(id).GetInputs() {
				if f.stageOf[p] != s {
					read[p] = true
				}
			}
		}
	}
	return read
}

// outputsOf returns the PCollections produced in s and read elsewhere, in
// the order they are produced.
func (f *fuser) outputsOf(s *Stage, read map[string]bool) []string {
	var made []string
	if s.Input.Transform != "" {
		made = append(made, s.Input.Target)
	}
	for _, id := range s.Transforms {
		made = append(made, f.g.outputs(id)...)
	}
	var outs []string
	listed := map[string]bool{}
	for _, p := range made {
		if read[p] && f.stageOf[p] == s && !listed[p] {
			listed[p] = true
			outs = append(outs, p)
		}
	}
	return outs
}

// orderStages sorts stages so that each comes after its upstream stages,
// keeping creation order where the dependencies allow: each step takes the
// earliest created stage whose upstream stages are all placed. A heap of
// ready stages by creation index keeps this O(E + S log S).
func orderStages(stages []*Stage, upstream map[*Stage]map[*Stage]struct{}) ([]*Stage, error) {
	created := make(map[*Stage]int, len(stages))
	for i, s := range stages {
		created[s] = i
	}
	waiting := make([]int, len(stages))      // upstream stages not yet placed
	downstream := make([][]int, len(stages)) // by creation index
	ready := &indexHeap{}
	for i, s := range stages {
		waiting[i] = len(upstream[s])
		for up := range upstream[s] {
			downstream[created[up]] = append(downstream[created[up]], i)
		}
		if waiting[i] == 0 {
			heap.Push(ready, i)
		}
	}
	ordered := make([]*Stage, 0, len(stages))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		ordered = append(ordered, stages[i])
		for _, d := range downstream[i] {
			if waiting[d]--; waiting[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
	if len(ordered) < len(stages) {
		return nil, fmt.Errorf("plan: internal error: stages depend on each other in a cycle")
	}
	return ordered, nil
}

// indexHeap is a min-heap of ints.
type indexHeap []int

func (h indexHeap) Len() int           { return len(h) }
func (h indexHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h indexHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *indexHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *indexHeap) Pop() any {
	x := (*h)[len(*h)-1]
	*h = (*h)[:len(*h)-1]
	return x
}
