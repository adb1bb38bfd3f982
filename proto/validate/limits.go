package validate

import (
	"fmt"
	"maps"
	"slices"
)

// Limits on the shape of a pipeline. Legitimate pipelines stay far below
// them; a pipeline beyond them is refused, because the runners, harnesses
// and SDKs that walk coders and composites recursively (or expand a coder's
// components into a tree) would otherwise exhaust their stack or memory on
// one request.
const (
	// MaxCoderDepth is how deeply coder components may nest: a coder
	// without components has depth 0, and a coder one more than its deepest
	// component.
	MaxCoderDepth = 100
	// MaxCoderSize is how many coders a coder may expand to once every
	// component is resolved into a tree, the coder itself included. A coder
	// whose components share subcoders (KV<c, c> of KV<d, d> of ...) expands
	// exponentially in its depth.
	MaxCoderSize = 10000
	// MaxTransformDepth is how deeply composites may nest: a root transform
	// has depth 0, and a subtransform one more than its parent.
	MaxTransformDepth = 1000
)

// coderShape is the depth and expanded size of a coder, the size saturated
// at MaxCoderSize+1. A cyclic coder (one on or reaching a cycle of
// components) has neither; checkCoders reports the cycle.
type coderShape struct {
	depth, size int
	cyclic      bool
}

// checkCoderShapes reports coders that nest deeper than MaxCoderDepth or
// expand to more than MaxCoderSize coders. Only the coders at the boundary
// are reported (those over a limit whose components are all within it), so
// a chain of a million nested coders gives one error, and a coder past
// both limits is reported for its depth. It walks the components with an
// explicit stack; missing components count as leaves.
func (c *checker) checkCoderShapes() {
	coders := c.comps.GetCoders()
	shape := make(map[string]coderShape, len(coders))
	const (
		unvisited = iota
		active
		done
	)
	state := make(map[string]int, len(coders))
	type frame struct {
		id   string
		next int
	}
	for _, root := range slices.Sorted(maps.Keys(coders)) {
		if state[root] != unvisited {
			continue
		}
		stack := []frame{{id: root}}
		state[root] = active
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			comps := coders[f.id].GetComponentCoderIds()
			if f.next < len(comps) {
				cc := comps[f.next]
				f.next++
				if coders[cc] != nil && state[cc] == unvisited {
					state[cc] = active
					stack = append(stack, frame{id: cc})
				}
				continue
			}
			s := coderShape{size: 1}
			for _, cc := range comps {
				switch {
				case coders[cc] == nil:
				case state[cc] == active || shape[cc].cyclic:
					s.cyclic = true
				default:
					s.depth = max(s.depth, shape[cc].depth+1)
					s.size = min(s.size+shape[cc].size, MaxCoderSize+1)
				}
			}
			shape[f.id] = s
			state[f.id] = done
			stack = stack[:len(stack)-1]
		}
	}
	for _, id := range slices.Sorted(maps.Keys(coders)) {
		s := shape[id]
		if s.cyclic {
			continue
		}
		deepest, largest := 0, 0
		for _, cc := range coders[id].GetComponentCoderIds() {
			deepest = max(deepest, shape[cc].depth)
			largest = max(largest, shape[cc].size)
		}
		desc := fmt.Sprintf("coder %q", id)
		if s.depth > MaxCoderDepth && deepest <= MaxCoderDepth {
			c.addf(desc, "components nest deeper than %d levels", MaxCoderDepth)
		}
		if s.size > MaxCoderSize && largest <= MaxCoderSize && s.depth <= MaxCoderDepth {
			c.addf(desc, "expands to more than %d coders once its components are resolved", MaxCoderSize)
		}
	}
}

// checkTransformDepth reports the composites nested deeper than
// MaxTransformDepth below a root, walking the hierarchy breadth first.
// Only the first transform past the limit on each path is reported.
// Transforms listed twice or in cycles are visited once (checkHierarchy
// reports them).
func (c *checker) checkTransformDepth() {
	ts := c.comps.GetTransforms()
	depth := map[string]int{}
	var queue []string
	for _, id := range c.p.GetRootTransformIds() {
		if _, seen := depth[id]; !seen && ts[id] != nil {
			depth[id] = 0
			queue = append(queue, id)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, sub := range ts[id].GetSubtransforms() {
			if _, seen := depth[sub]; seen || ts[sub] == nil {
				continue
			}
			depth[sub] = depth[id] + 1
			if depth[sub] > MaxTransformDepth {
				c.addf(c.transformDesc(sub), "is nested deeper than %d composites", MaxTransformDepth)
				continue
			}
			queue = append(queue, sub)
		}
	}
}
