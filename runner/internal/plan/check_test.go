package plan_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// checkPlan checks the invariants every plan must keep and returns the
// violations found, joined. With all, every leaf of the components must be
// placed in the plan; otherwise only placed leaves are checked (a fuzzed
// pipeline may hold unreachable transforms).
func checkPlan(pl *plan.Plan, all bool) error {
	c := &planChecker{pl: pl, pos: map[plan.StageID]int{}, producedIn: map[string]*plan.Stage{}, placed: map[string]int{}}
	c.index()
	for _, s := range pl.Stages {
		c.checkInput(s)
		c.checkTransforms(s)
		c.checkUpstream(s)
		c.checkOutputs(s)
	}
	for id, t := range pl.Components.GetTransforms() {
		if len(t.GetSubtransforms()) == 0 && c.placed[id] != 1 && (all || c.placed[id] > 1) {
			c.errorf("leaf %q is placed %d times, want once", id, c.placed[id])
		}
	}
	return errors.Join(c.errs...)
}

type planChecker struct {
	pl         *plan.Plan
	pos        map[plan.StageID]int
	producedIn map[string]*plan.Stage
	placed     map[string]int
	errs       []error
}

func (c *planChecker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// index records stage positions, where each PCollection is produced and how
// often each transform is placed.
func (c *planChecker) index() {
	for i, s := range c.pl.Stages {
		if _, dup := c.pos[s.ID]; dup {
			c.errorf("stage id %s used twice", s.ID)
		}
		c.pos[s.ID] = i
		if s.Input.Transform != "" {
			c.placed[s.Input.Transform]++
			c.producedIn[s.Input.Target] = s
		}
		for _, id := range s.Transforms {
			c.placed[id]++
			for _, p := range c.pl.Components.GetTransforms()[id].GetOutputs() {
				c.producedIn[p] = s
			}
		}
	}
}

func (c *planChecker) urn(id string) string {
	return c.pl.Components.GetTransforms()[id].GetSpec().GetUrn()
}

func (c *planChecker) checkInput(s *plan.Stage) {
	in := s.Input
	switch {
	case in.Kind == plan.InputImpulse && (c.urn(in.Transform) != urns.TransformImpulse || len(in.PCollections) != 0):
		c.errorf("stage %s: impulse input %+v", s.ID, in)
	case in.Kind == plan.InputGrouped && (c.urn(in.Transform) != urns.TransformGroupByKey || len(in.PCollections) != 1):
		c.errorf("stage %s: grouped input %+v", s.ID, in)
	case in.Kind == plan.InputData && in.Transform == "" && (len(in.PCollections) != 1 || in.PCollections[0] != in.Target):
		c.errorf("stage %s: data input after a fusion break %+v", s.ID, in)
	case in.Kind == plan.InputData && in.Transform != "" && c.urn(in.Transform) != urns.TransformFlatten && c.urn(in.Transform) != urns.TransformReshuffle:
		c.errorf("stage %s: data input made by %s", s.ID, c.urn(in.Transform))
	}
	for _, p := range in.PCollections {
		c.checkReadable(s, p, "input")
	}
}

// checkReadable checks that stage s may read PCollection p produced by
// another, earlier stage that lists it as an output.
func (c *planChecker) checkReadable(s *plan.Stage, p, what string) {
	src := c.producedIn[p]
	switch {
	case src == nil:
		c.errorf("stage %s: %s %s is produced by no stage", s.ID, what, p)
	case src == s:
		c.errorf("stage %s: %s %s is produced in the stage itself", s.ID, what, p)
	case c.pos[src.ID] >= c.pos[s.ID]:
		c.errorf("stage %s: %s %s comes from later stage %s", s.ID, what, p, src.ID)
	case !slices.Contains(src.Outputs, p):
		c.errorf("stage %s: %s %s is not an output of stage %s", s.ID, what, p, src.ID)
	case !slices.Contains(s.Upstream, src.ID):
		c.errorf("stage %s: %s %s comes from stage %s, which is not upstream", s.ID, what, p, src.ID)
	}
}

// checkTransforms checks that each transform reads the stage's target or an
// output of an earlier transform of the stage, side inputs from earlier
// stages, and that environments agree.
func (c *planChecker) checkTransforms(s *plan.Stage) {
	avail := map[string]bool{s.Input.Target: true}
	for _, id := range s.Transforms {
		t := c.pl.Components.GetTransforms()[id]
		for local, p := range t.GetInputs() {
			if isSide(s, id, local) {
				c.checkReadable(s, p, "side input")
			} else if !avail[p] {
				c.errorf("stage %s: transform %s reads %s before it is produced in the stage", s.ID, id, p)
			}
		}
		for _, p := range t.GetOutputs() {
			avail[p] = true
		}
		if env := t.GetEnvironmentId(); env != "" && env != s.Environment {
			c.errorf("stage %s (env %q): transform %s has env %q", s.ID, s.Environment, id, env)
		}
	}
}

func isSide(s *plan.Stage, id, local string) bool {
	for _, si := range s.SideInputs {
		if si.Transform == id && si.Local == local {
			return true
		}
	}
	return false
}

// checkUpstream checks that Upstream lists exactly the stages s reads from.
func (c *planChecker) checkUpstream(s *plan.Stage) {
	want := map[plan.StageID]bool{}
	for _, p := range s.Input.PCollections {
		want[c.producedIn[p].ID] = true
	}
	for _, si := range s.SideInputs {
		want[c.producedIn[si.PCollection].ID] = true
	}
	if len(want) != len(s.Upstream) {
		c.errorf("stage %s: upstream %v, want the %d stages it reads from", s.ID, s.Upstream, len(want))
	}
}

// checkOutputs checks that every output is produced in s and read by
// another stage.
func (c *planChecker) checkOutputs(s *plan.Stage) {
	for _, o := range s.Outputs {
		if c.producedIn[o] != s {
			c.errorf("stage %s: output %s is not produced there", s.ID, o)
		}
		if !c.readElsewhere(s, o) {
			c.errorf("stage %s: output %s is read by no other stage", s.ID, o)
		}
	}
}

func (c *planChecker) readElsewhere(s *plan.Stage, p string) bool {
	for _, other := range c.pl.Stages {
		if other == s {
			continue
		}
		if slices.Contains(other.Input.PCollections, p) {
			return true
		}
		for _, si := range other.SideInputs {
			if si.PCollection == p {
				return true
			}
		}
	}
	return false
}
