package plan

import (
	"container/heap"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/beamgo-dev/beamgo/proto/urns"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// graph is the data flow between the leaf transforms of a pipeline.
type graph struct {
	comps     *pipepb.Components
	leaves    []string
	rank      map[string]int      // position of a leaf in walk order
	producer  map[string]string   // PCollection -> producing leaf
	consumers map[string][]string // PCollection -> consuming leaves, each once, by rank
	sides     map[string][]SideInput
	sideLocal map[string]map[string]bool // transform -> local names of its side inputs
}

// newGraph indexes the leaves of comps. It checks that every PCollection a
// leaf mentions exists with its coder and windowing strategy, that each is
// produced by exactly one leaf, and that side inputs are inputs.
func newGraph(comps *pipepb.Components, leaves []string) (*graph, error) {
	g := &graph{
		comps:     comps,
		leaves:    leaves,
		rank:      map[string]int{},
		producer:  map[string]string{},
		consumers: map[string][]string{},
		sides:     map[string][]SideInput{},
		sideLocal: map[string]map[string]bool{},
	}
	for i, id := range leaves {
		g.rank[id] = i
		if err := g.addOutputs(id); err != nil {
			return nil, err
		}
		if err := g.addSideInputs(id); err != nil {
			return nil, err
		}
	}
	for _, id := range leaves {
		if err := g.addInputs(id); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *graph) transform(id string) *pipepb.PTransform { return g.comps.GetTransforms()[id] }

func (g *graph) describe(id string) string { return describeTransform(g.comps, id) }

func (g *graph) addOutputs(id string) error {
	outs := g.transform(id).GetOutputs()
	for _, local := range slices.Sorted(maps.Keys(outs)) {
		p := outs[local]
		if err := g.checkPCollection(id, "output", local, p); err != nil {
			return err
		}
		if other, ok := g.producer[p]; ok {
			return fmt.Errorf("plan: PCollection %q is produced by both %s and %s", p, g.describe(other), g.describe(id))
		}
		g.producer[p] = id
	}
	return nil
}

func (g *graph) addInputs(id string) error {
	ins := g.transform(id).GetInputs()
	for _, local := range slices.Sorted(maps.Keys(ins)) {
		p := ins[local]
		if err := g.checkPCollection(id, "input", local, p); err != nil {
			return err
		}
		if _, ok := g.producer[p]; !ok {
			return fmt.Errorf("plan: transform %s: input %q reads PCollection %q, which no transform produces", g.describe(id), local, p)
		}
		if cs := g.consumers[p]; len(cs) == 0 || cs[len(cs)-1] != id {
			g.consumers[p] = append(cs, id)
		}
	}
	return nil
}

// checkPCollection checks that PCollection p, named by port local of
// transform id, exists with the components a stage descriptor needs.
func (g *graph) checkPCollection(id, kind, local, p string) error {
	pc := g.comps.GetPcollections()[p]
	var problem string
	switch ws := g.comps.GetWindowingStrategies()[pc.GetWindowingStrategyId()]; {
	case pc == nil:
		problem = "is missing"
	case g.comps.GetCoders()[pc.GetCoderId()] == nil:
		problem = fmt.Sprintf("has missing coder %q", pc.GetCoderId())
	case ws == nil:
		problem = fmt.Sprintf("has missing windowing strategy %q", pc.GetWindowingStrategyId())
	case g.comps.GetCoders()[ws.GetWindowCoderId()] == nil:
		problem = fmt.Sprintf("has a windowing strategy with missing window coder %q", ws.GetWindowCoderId())
	default:
		return nil
	}
	return fmt.Errorf("plan: transform %s: %s %q: PCollection %q %s", g.describe(id), kind, local, p, problem)
}

// pardoLike reports whether transforms with urn carry a ParDoPayload.
func pardoLike(urn string) bool {
	switch urn {
	case urns.TransformParDo, urns.TransformPairWithRestriction, urns.TransformSplitAndSizeRestrictions,
		urns.TransformProcessSizedElementsAndRestrictions, urns.TransformTruncateSizedRestrictions:
		return true
	}
	return false
}

func (g *graph) addSideInputs(id string) error {
	t := g.transform(id)
	if !pardoLike(t.GetSpec().GetUrn()) {
		return nil
	}
	var pardo pipepb.ParDoPayload
	if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pardo); err != nil {
		return fmt.Errorf("plan: transform %s: payload is not a ParDoPayload: %w", g.describe(id), err)
	}
	for _, local := range slices.Sorted(maps.Keys(pardo.GetSideInputs())) {
		p, ok := t.GetInputs()[local]
		if !ok {
			return fmt.Errorf("plan: transform %s: side input %q is not an input", g.describe(id), local)
		}
		if g.sideLocal[id] == nil {
			g.sideLocal[id] = map[string]bool{}
		}
		g.sideLocal[id][local] = true
		g.sides[id] = append(g.sides[id], SideInput{
			Transform:     id,
			Local:         local,
			PCollection:   p,
			AccessPattern: pardo.GetSideInputs()[local].GetAccessPattern().GetUrn(),
		})
	}
	return nil
}

// mainInputs returns the PCollections transform id reads as main inputs, by
// local name; a PCollection read under two names appears twice.
func (g *graph) mainInputs(id string) []string {
	t := g.transform(id)
	var ins []string
	for _, local := range slices.Sorted(maps.Keys(t.GetInputs())) {
		if !g.isSide(id, local) {
			ins = append(ins, t.GetInputs()[local])
		}
	}
	return ins
}

func (g *graph) isSide(id, local string) bool {
	return g.sideLocal[id][local]
}

// outputs returns the PCollections transform id produces, by local name.
func (g *graph) outputs(id string) []string {
	outs := g.transform(id).GetOutputs()
	ps := make([]string, 0, len(outs))
	for _, local := range slices.Sorted(maps.Keys(outs)) {
		ps = append(ps, outs[local])
	}
	return ps
}

// topological returns the leaves in an order where every transform comes
// after the producers of its inputs, main and side. Among the transforms
// ready at a time it takes the first in walk order, so the order follows
// the pipeline's own. It fails if data flows in a cycle.
func (g *graph) topological() ([]string, error) {
	deps := map[string]map[string]bool{}
	ready := &rankHeap{rank: g.rank}
	for _, id := range g.leaves {
		deps[id] = map[string]bool{}
		for _, p := range g.transform(id).GetInputs() {
			deps[id][g.producer[p]] = true
		}
		if len(deps[id]) == 0 {
			heap.Push(ready, id)
		}
	}
	var order []string
	for ready.Len() > 0 {
		id := heap.Pop(ready).(string)
		order = append(order, id)
		for _, p := range g.outputs(id) {
			for _, c := range g.consumers[p] {
				if deps[c][id] {
					delete(deps[c], id)
					if len(deps[c]) == 0 {
						heap.Push(ready, c)
					}
				}
			}
		}
	}
	if len(order) < len(g.leaves) {
		return nil, fmt.Errorf("plan: data flows in a cycle through transforms %s", g.describeCycles(deps))
	}
	return order, nil
}

// describeCycles names the transforms on cycles, given the dependencies
// topological could not resolve: it trims transforms that no stuck
// transform depends on until only cycles (and paths between them) remain.
// Trimming is a worklist over counts of stuck dependents, linear in the
// dependencies however long the chains hanging off a cycle are.
func (g *graph) describeCycles(deps map[string]map[string]bool) string {
	stuck := map[string]bool{}
	for _, id := range g.leaves {
		if len(deps[id]) > 0 {
			stuck[id] = true
		}
	}
	dependents := map[string]int{} // stuck transforms depending on a transform
	for id := range stuck {
		for d := range deps[id] {
			dependents[d]++
		}
	}
	var trim []string
	for id := range stuck {
		if dependents[id] == 0 {
			trim = append(trim, id)
		}
	}
	for len(trim) > 0 {
		id := trim[len(trim)-1]
		trim = trim[:len(trim)-1]
		delete(stuck, id)
		for d := range deps[id] {
			if dependents[d]--; dependents[d] == 0 && stuck[d] {
				trim = append(trim, d)
			}
		}
	}
	var names []string
	for _, id := range g.leaves {
		if stuck[id] {
			names = append(names, g.describe(id))
		}
	}
	return strings.Join(names, ", ")
}

// rankHeap is a min-heap of transform ids by rank.
type rankHeap struct {
	ids  []string
	rank map[string]int
}

func (h *rankHeap) Len() int           { return len(h.ids) }
func (h *rankHeap) Less(i, j int) bool { return h.rank[h.ids[i]] < h.rank[h.ids[j]] }
func (h *rankHeap) Swap(i, j int)      { h.ids[i], h.ids[j] = h.ids[j], h.ids[i] }
func (h *rankHeap) Push(x any)         { h.ids = append(h.ids, x.(string)) }
func (h *rankHeap) Pop() any {
	x := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return x
}
