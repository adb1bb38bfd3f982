package validate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// checkCoders checks every coder: it has an URN, the standard ones have the
// right number of components, and components exist and, outside a length
// prefix, have known URNs.
func (c *checker) checkCoders() {
	coders := c.comps.GetCoders()
	for _, id := range slices.Sorted(maps.Keys(coders)) {
		coder := coders[id]
		desc := fmt.Sprintf("coder %q", id)
		urn := coder.GetSpec().GetUrn()
		if urn == "" {
			c.addf(desc, "coder has no URN")
			continue
		}
		comps := coder.GetComponentCoderIds()
		if n, ok := coderArity[urn]; ok && len(comps) != n {
			c.addf(desc, "%s has %d components, want %d", urn, len(comps), n)
		}
		for i, cc := range comps {
			role := fmt.Sprintf("component %d", i)
			if urn == lengthPrefix {
				if coders[cc] == nil {
					c.addf(desc, "%s %q is missing", role, cc)
				}
				continue
			}
			c.checkCoderRef(desc, role, cc)
		}
	}
}

// checkCoderCycles reports the coders that contain themselves through
// their components.
func (c *checker) checkCoderCycles() {
	coders := c.comps.GetCoders()
	for _, cycle := range cycles(slices.Sorted(maps.Keys(coders)), func(id string) []string { return coders[id].GetComponentCoderIds() }) {
		c.addf("coders", "components form a cycle through %q", cycle)
	}
}

// checkDataflow checks the graph of leaf transforms and PCollections: each
// PCollection is produced by at most one leaf, every consumed PCollection is
// produced by some leaf, and data never flows in a cycle.
func (c *checker) checkDataflow() {
	ts := c.comps.GetTransforms()
	var leaves []string
	producer := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(ts)) {
		t := ts[id]
		if !isLeaf(t) {
			continue
		}
		leaves = append(leaves, id)
		for _, local := range slices.Sorted(maps.Keys(t.GetOutputs())) {
			pid := t.GetOutputs()[local]
			if p, ok := producer[pid]; ok {
				c.addf(c.transformDesc(id), "output %q names PCollection %q already produced by %s", local, pid, c.transformDesc(p))
				continue
			}
			producer[pid] = id
		}
	}
	for _, id := range leaves {
		in := ts[id].GetInputs()
		for _, local := range slices.Sorted(maps.Keys(in)) {
			pid := in[local]
			if _, ok := producer[pid]; !ok && c.comps.GetPcollections()[pid] != nil {
				c.addf(c.transformDesc(id), "input %q names PCollection %q that no leaf transform produces", local, pid)
			}
		}
	}
	producersOf := func(id string) []string {
		var next []string
		for _, local := range slices.Sorted(maps.Keys(ts[id].GetInputs())) {
			if p, ok := producer[ts[id].GetInputs()[local]]; ok {
				next = append(next, p)
			}
		}
		return next
	}
	for _, cycle := range cycles(leaves, producersOf) {
		c.addf("transforms", "data flows in a cycle through %s", c.transformList(cycle))
	}
}

// cycles returns the strongly connected components of the graph that contain
// a cycle (more than one node, or a node with an edge to itself), each sorted,
// in the order of their smallest node. Edges to nodes outside nodes are
// ignored. It is Tarjan's algorithm with an explicit stack instead of
// recursion, since the graph comes from an untrusted pipeline and its paths
// may be millions of nodes long.
func cycles(nodes []string, edges func(string) []string) [][]string {
	in := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		in[n] = true
	}
	t := tarjan{index: map[string]int{}, low: map[string]int{}, onStack: map[string]bool{}, edges: edges, in: in}
	for _, n := range nodes {
		if _, seen := t.index[n]; !seen {
			t.visit(n)
		}
	}
	var out [][]string
	for _, scc := range t.sccs {
		if len(scc) > 1 || slices.Contains(edges(scc[0]), scc[0]) {
			slices.Sort(scc)
			out = append(out, scc)
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return cmp.Compare(a[0], b[0]) })
	return out
}

// tarjan is the state of one run of Tarjan's strongly connected components
// algorithm.
type tarjan struct {
	next    int
	index   map[string]int
	low     map[string]int
	stack   []string // Tarjan's stack of nodes not yet in a component
	onStack map[string]bool
	sccs    [][]string
	edges   func(string) []string
	in      map[string]bool
}

// frame is a node being visited by tarjan.visit, with its edges and how
// many of them have been followed: one level of the recursion the
// explicit call stack replaces.
type frame struct {
	node  string
	edges []string
	next  int
}

// visit runs the depth-first search of Tarjan's algorithm from root, which
// has not been visited yet.
func (t *tarjan) visit(root string) {
	calls := []frame{t.enter(root)}
	for len(calls) > 0 {
		f := &calls[len(calls)-1]
		if f.next < len(f.edges) {
			m := f.edges[f.next]
			f.next++
			if !t.in[m] {
				continue
			}
			if _, seen := t.index[m]; !seen {
				calls = append(calls, t.enter(m))
			} else if t.onStack[m] {
				t.low[f.node] = min(t.low[f.node], t.index[m])
			}
			continue
		}
		n := f.node
		calls = calls[:len(calls)-1]
		if len(calls) > 0 {
			caller := calls[len(calls)-1].node
			t.low[caller] = min(t.low[caller], t.low[n])
		}
		if t.low[n] == t.index[n] {
			t.popComponent(n)
		}
	}
}

// enter numbers node n, pushes it on Tarjan's stack and returns its frame.
func (t *tarjan) enter(n string) frame {
	t.index[n], t.low[n] = t.next, t.next
	t.next++
	t.stack = append(t.stack, n)
	t.onStack[n] = true
	return frame{node: n, edges: t.edges(n)}
}

// popComponent pops the strongly connected component whose root is n.
func (t *tarjan) popComponent(n string) {
	var scc []string
	for {
		m := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.onStack[m] = false
		scc = append(scc, m)
		if m == n {
			break
		}
	}
	t.sccs = append(t.sccs, scc)
}
