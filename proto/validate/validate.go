package validate

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

// Options adjusts what Pipeline accepts. A nil *Options means the defaults.
type Options struct {
	// TransformURNs lists URNs accepted on leaf transforms in addition to the
	// standard Beam transforms.
	TransformURNs []string
	// CoderURNs lists coder URNs that may be used directly (not only inside a
	// length prefix) in addition to the standard Beam coders.
	CoderURNs []string
	// WindowFnURNs lists window function URNs accepted in addition to the
	// standard window functions and beamgo:windowfn:v1.
	WindowFnURNs []string
	// OpaqueCoders accepts coders of any URN anywhere, as Beam's portable
	// runners do: a runner length-prefixes a coder it does not know where
	// it must skip over its bytes (the planner does, in every descriptor),
	// so a job server that takes pipelines from other SDKs (Beam Python's
	// pickled and tuple coders) sets it. Coders must still exist and keep
	// the arity the model fixes.
	OpaqueCoders bool
}

// Pipeline checks p and returns nil if it is well formed, or the
// errors.Join of every problem found. See the package documentation for the
// rules. Pipeline does not modify p and is safe for concurrent use.
func Pipeline(p *pipepb.Pipeline, opts *Options) error {
	if p == nil {
		return errors.New("validate: pipeline is nil")
	}
	if p.GetComponents() == nil {
		return errors.New("validate: pipeline has no components")
	}
	c := newChecker(p, opts)
	c.checkTransforms()
	c.checkHierarchy()
	c.checkTransformDepth()
	c.checkPCollections()
	c.checkWindowingStrategies()
	c.checkCoders()
	c.checkCoderCycles()
	c.checkCoderShapes()
	c.checkDataflow()
	return errors.Join(c.errs...)
}

// Coders checks the shape of a pipeline's coders (Components.Coders): no
// coder contains itself through its components, and none nests deeper than
// MaxCoderDepth or expands to more than MaxCoderSize coders. It returns nil
// or the errors.Join of the problems, as Pipeline reports them. These are
// the checks that bound every recursive walk over coders, so code that
// walks the coders of a pipeline it cannot assume valid (the planner) calls
// Coders first; Pipeline makes them too. Coders walks iteratively, is safe
// for concurrent use and does not modify coders.
func Coders(coders map[string]*pipepb.Coder) error {
	c := newChecker(&pipepb.Pipeline{Components: &pipepb.Components{Coders: coders}}, nil)
	c.checkCoderCycles()
	c.checkCoderShapes()
	return errors.Join(c.errs...)
}

// checker holds one validation run: the pipeline, the URNs it accepts and
// the problems found so far.
type checker struct {
	p      *pipepb.Pipeline
	comps  *pipepb.Components
	knownT map[string]bool
	knownC map[string]bool
	knownW map[string]bool
	opaque bool // Options.OpaqueCoders
	errs   []error
}

func newChecker(p *pipepb.Pipeline, opts *Options) *checker {
	if opts == nil {
		opts = &Options{}
	}
	return &checker{
		p:      p,
		comps:  p.GetComponents(),
		knownT: withExtra(standardTransforms, opts.TransformURNs),
		knownC: withExtra(standardCoders, opts.CoderURNs),
		knownW: withExtra(standardWindowFns, opts.WindowFnURNs),
		opaque: opts.OpaqueCoders,
	}
}

// addf records a problem with the given component description.
func (c *checker) addf(what, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("validate: %s: %s", what, fmt.Sprintf(format, args...)))
}

// transformDesc names a transform for an error message.
func (c *checker) transformDesc(id string) string {
	return describe("transform", c.comps.GetTransforms()[id].GetUniqueName(), id)
}

// pcollectionDesc names a PCollection for an error message.
func (c *checker) pcollectionDesc(id string) string {
	return describe("PCollection", c.comps.GetPcollections()[id].GetUniqueName(), id)
}

func describe(kind, name, id string) string {
	if name == "" {
		return fmt.Sprintf("%s (id %s)", kind, id)
	}
	return fmt.Sprintf("%s %q (id %s)", kind, name, id)
}

// isLeaf reports whether t is executed as is rather than through its
// subtransforms.
func isLeaf(t *pipepb.PTransform) bool {
	return len(t.GetSubtransforms()) == 0
}

// checkTransforms checks each transform on its own: names, URN, environment,
// references to PCollections and subtransforms, and the references inside
// its payload.
func (c *checker) checkTransforms() {
	ts := c.comps.GetTransforms()
	byName := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(ts)) {
		t := ts[id]
		desc := c.transformDesc(id)
		if t == nil {
			c.addf(desc, "transform is nil")
			continue
		}
		// A composite may be unnamed: Beam Python's combiner packing leaves
		// the composites that wrap its stages so, and runners execute leaves.
		if t.GetUniqueName() != "" || isLeaf(t) {
			c.checkUniqueName(desc, id, t.GetUniqueName(), "transform", byName)
		}
		if isLeaf(t) {
			if urn := t.GetSpec().GetUrn(); urn == "" {
				c.addf(desc, "leaf transform has no URN")
			} else if !c.knownT[urn] {
				c.addf(desc, "unknown transform URN %q", urn)
			}
		}
		if env := t.GetEnvironmentId(); env != "" && c.comps.GetEnvironments()[env] == nil {
			c.addf(desc, "environment %q is missing", env)
		}
		c.checkPorts(desc, "input", t.GetInputs())
		c.checkPorts(desc, "output", t.GetOutputs())
		for i, sub := range t.GetSubtransforms() {
			if ts[sub] == nil {
				c.addf(desc, "subtransform %d names missing transform %q", i, sub)
			}
		}
		c.checkPayload(desc, t)
	}
}

// checkUniqueName reports an empty name, or a name already used by another
// component of the same kind (byName maps names to the first id using them).
func (c *checker) checkUniqueName(desc, id, name, kind string, byName map[string]string) {
	if name == "" {
		c.addf(desc, "unique name is empty")
		return
	}
	if first, ok := byName[name]; ok {
		c.addf(desc, "unique name is also used by %s id %s", kind, first)
		return
	}
	byName[name] = id
}

// checkPorts checks that every input or output names an existing PCollection.
func (c *checker) checkPorts(desc, kind string, ports map[string]string) {
	for _, local := range slices.Sorted(maps.Keys(ports)) {
		if pid := ports[local]; c.comps.GetPcollections()[pid] == nil {
			c.addf(desc, "%s %q names missing PCollection %q", kind, local, pid)
		}
	}
}

// checkHierarchy checks the composite structure: roots and subtransforms
// exist, every transform has at most one parent and is reachable from a
// root, and no transform contains itself.
func (c *checker) checkHierarchy() {
	ts := c.comps.GetTransforms()
	parent := map[string]string{}
	roots := map[string]bool{}
	for i, id := range c.p.GetRootTransformIds() {
		switch {
		case ts[id] == nil:
			c.addf("pipeline", "root transform %d names missing transform %q", i, id)
		case roots[id]:
			c.addf(c.transformDesc(id), "listed twice as a root transform")
		}
		roots[id] = true
	}
	for _, id := range slices.Sorted(maps.Keys(ts)) {
		for _, sub := range ts[id].GetSubtransforms() {
			if ts[sub] == nil {
				continue // Reported by checkTransforms.
			}
			if p, ok := parent[sub]; ok && p != id {
				c.addf(c.transformDesc(sub), "is a subtransform of both %s and %s", c.transformDesc(p), c.transformDesc(id))
				continue
			}
			parent[sub] = id
		}
	}
	for _, id := range slices.Sorted(maps.Keys(ts)) {
		_, hasParent := parent[id]
		switch {
		case roots[id] && hasParent:
			c.addf(c.transformDesc(id), "is a root transform and a subtransform of %s", c.transformDesc(parent[id]))
		case !roots[id] && !hasParent:
			c.addf(c.transformDesc(id), "is neither a root transform nor a subtransform of any transform")
		}
	}
	for _, cycle := range cycles(slices.Sorted(maps.Keys(ts)), func(id string) []string { return ts[id].GetSubtransforms() }) {
		c.addf("transforms", "composites contain each other in a cycle through %s", c.transformList(cycle))
	}
}

// transformList renders transform ids for a cycle report.
func (c *checker) transformList(ids []string) string {
	descs := make([]string, len(ids))
	for i, id := range ids {
		descs[i] = c.transformDesc(id)
	}
	return strings.Join(descs, ", ")
}

// checkPCollections checks names, coders and windowing strategies of every
// PCollection.
func (c *checker) checkPCollections() {
	pcs := c.comps.GetPcollections()
	byName := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(pcs)) {
		pc := pcs[id]
		desc := c.pcollectionDesc(id)
		if pc == nil {
			c.addf(desc, "PCollection is nil")
			continue
		}
		c.checkUniqueName(desc, id, pc.GetUniqueName(), "PCollection", byName)
		c.checkCoderRef(desc, "coder", pc.GetCoderId())
		switch ws := pc.GetWindowingStrategyId(); {
		case ws == "":
			c.addf(desc, "has no windowing strategy")
		case c.comps.GetWindowingStrategies()[ws] == nil:
			c.addf(desc, "windowing strategy %q is missing", ws)
		}
	}
}

// checkWindowingStrategies checks window functions, window coders and
// environments of every windowing strategy.
func (c *checker) checkWindowingStrategies() {
	wss := c.comps.GetWindowingStrategies()
	for _, id := range slices.Sorted(maps.Keys(wss)) {
		ws := wss[id]
		desc := fmt.Sprintf("windowing strategy %q", id)
		if ws == nil {
			c.addf(desc, "windowing strategy is nil")
			continue
		}
		switch urn := ws.GetWindowFn().GetUrn(); {
		case urn == "":
			c.addf(desc, "has no window function")
		case !c.knownW[urn]:
			c.addf(desc, "unknown window function URN %q", urn)
		}
		c.checkCoderRef(desc, "window coder", ws.GetWindowCoderId())
		if env := ws.GetEnvironmentId(); env != "" && c.comps.GetEnvironments()[env] == nil {
			c.addf(desc, "environment %q is missing", env)
		}
	}
}

// checkCoderRef checks a reference to a coder from outside a length prefix:
// the coder must exist and, unless coders are opaque, have a known URN.
func (c *checker) checkCoderRef(desc, role, id string) {
	if id == "" {
		c.addf(desc, "has no %s", role)
		return
	}
	coder := c.comps.GetCoders()[id]
	if coder == nil {
		c.addf(desc, "%s %q is missing", role, id)
		return
	}
	if urn := coder.GetSpec().GetUrn(); urn != "" && !c.knownC[urn] && !c.opaque {
		c.addf(desc, "%s %q has unknown URN %q and is not wrapped in %s", role, id, urn, lengthPrefix)
	}
}
