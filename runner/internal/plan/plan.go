package plan

import (
	"errors"
	"fmt"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
)

// StageID identifies a stage within a Plan.
type StageID string

// Options adjusts planning. A nil *Options means the defaults.
type Options struct {
	// DisableLifting runs every CombinePerKey through its subtransforms
	// (GroupByKey then combine_grouped_values) instead of lifting it.
	DisableLifting bool
	// KnownCoders are coder URNs, beyond Beam's standard ones, whose
	// encoded length the runner can find itself (the local runner knows
	// row and this SDK's custom coders). Descriptors do not length-prefix
	// them.
	KnownCoders []string
}

// Plan is a pipeline prepared for execution. A Plan is not modified after
// Build returns, so it is safe for concurrent use by readers.
type Plan struct {
	// knownCoders holds Options.KnownCoders.
	knownCoders map[string]bool

	// Components is a deep copy of the pipeline's components after the
	// rewrites of planning: lifted combiners, runner-side reshuffles and
	// re-encoding flattens. Every transform a stage names is in it.
	Components *pipepb.Components
	// Stages lists the stages in topological order: each stage comes after
	// every stage in its Upstream.
	Stages []*Stage
}

// Stage is a set of leaf transforms executed together in one bundle.
type Stage struct {
	// ID identifies the stage in the plan.
	ID StageID
	// Environment is the environment id of the stage's transforms, or empty
	// when none of them names one.
	Environment string
	// Transforms lists the leaf transforms executed in the stage by an SDK
	// harness, in topological order. It excludes the runner-side transform
	// of the Input. It is empty when the stage only passes its input on.
	Transforms []string
	// Input is what the runner feeds the stage.
	Input Input
	// SideInputs lists the side inputs read by the stage's transforms, by
	// transform and then by local name.
	SideInputs []SideInput
	// Outputs lists the PCollections produced in the stage (including a
	// runner-side Input's Target) that other stages read, as a main input,
	// a side input or the input of a runner-side transform.
	Outputs []string
	// Upstream lists, in plan order, every stage producing a PCollection this
	// stage reads, main or side.
	Upstream []StageID
}

// InputKind tells how the runner produces a stage's input.
type InputKind int

const (
	// InputImpulse means the runner feeds one impulse element.
	InputImpulse InputKind = iota + 1
	// InputData means the runner feeds the elements of PCollections produced
	// by other stages.
	InputData
	// InputGrouped means the runner groups a PCollection by key and window.
	InputGrouped
	// InputKeyed means the runner feeds the elements of a PCollection of
	// KVs to a ParDo with user state or timers (Input.Stateful), in bundles
	// that own their keys: a key is in at most one running bundle, and the
	// runner keeps the key's state and timers between bundles.
	InputKeyed
	// InputTestStream means the runner feeds the elements a TestStream's
	// events add to one of its outputs (Input.TestStream).
	InputTestStream
)

// String returns the kind in lower case ("impulse", "data", "grouped",
// "keyed", "teststream").
func (k InputKind) String() string {
	switch k {
	case InputImpulse:
		return "impulse"
	case InputData:
		return "data"
	case InputGrouped:
		return "grouped"
	case InputKeyed:
		return "keyed"
	case InputTestStream:
		return "teststream"
	}
	return fmt.Sprintf("InputKind(%d)", int(k))
}

// Input describes the main input of a stage.
type Input struct {
	// Kind tells how the runner produces the input.
	Kind InputKind
	// Transform is the runner-side transform that makes the input: the
	// Impulse, the GroupByKey, the Flatten merging outputs of several stages
	// or the Reshuffle. It is empty when fusion broke for another reason and
	// the stage reads a PCollection of another stage as is.
	Transform string
	// PCollections are the PCollections, produced by upstream stages, whose
	// elements the runner feeds (Data) or groups (Grouped). It is empty for
	// an Impulse and for a Flatten without inputs. A Flatten reading the
	// same PCollection twice lists it twice.
	PCollections []string
	// Target is the PCollection the stage's transforms read: the output of
	// Transform, or the single element of PCollections when Transform is
	// empty.
	Target string
	// Unbounded is set when a PCollection of PCollections (or the Target
	// of a TestStream) is unbounded: its watermark may never reach the end
	// of time, so a grouping cannot wait for it.
	Unbounded bool
	// TestStream is the script of an InputTestStream input.
	TestStream *TestStream
	// Windowing is the windowing strategy of a grouped input's
	// PCollection, decoded: the engine groups and fires panes by it.
	Windowing *window.Strategy
	// Stateful describes the stateful ParDo of a keyed input.
	Stateful *Stateful
	// Reduce is Windowing in the form of the streaming reducer, which
	// groups inputs that the shuffle does not (unbounded ones, triggers
	// other than the default, timestamp combiners other than the end of
	// the window).
	Reduce *reduce.Strategy
	// CombineFn is set on the GroupByKey of a lifted combine: its
	// CombineFn, whose accumulators the grouped values are. A runner that
	// can run it merges a window's accumulators as it groups them.
	CombineFn *pipepb.FunctionSpec
}

// SideInput is a PCollection that a transform of a stage reads as a side
// input. The runner serves it over the state API once it is complete.
type SideInput struct {
	// Transform is the id of the consuming transform.
	Transform string
	// Local is the input name of the side input in the transform.
	Local string
	// PCollection is the id of the PCollection read.
	PCollection string
	// AccessPattern is the side input URN (urns.SideInputIterable or
	// urns.SideInputMultimap).
	AccessPattern string
}

// Stage returns the stage with the given id, or nil.
func (p *Plan) Stage(id StageID) *Stage {
	for _, s := range p.Stages {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Build plans the pipeline p. It expands composites, lifts combiners unless
// opts.DisableLifting, and fuses the leaves into stages. Build does not
// modify p.
//
// Build expects a pipeline that passes validate.Pipeline; it checks what it
// relies on and returns an error (never panics) when the pipeline is not
// well formed, for example when data flows in a cycle. Its walks over the
// pipeline are iterative or bounded by the limits of validate (coders
// nested at most validate.MaxCoderDepth levels, composites at most
// validate.MaxTransformDepth), which Build enforces itself, so an untrusted
// pipeline cannot exhaust the stack; its cost grows with the size of the
// pipeline times at most a logarithmic factor, apart from fusion decisions
// over side inputs (see fuse).
func Build(p *pipepb.Pipeline, opts *Options) (*Plan, error) {
	if opts == nil {
		opts = &Options{}
	}
	if p.GetComponents() == nil {
		return nil, errors.New("plan: pipeline has no components")
	}
	// The coder walks of planning and of Stage.Descriptor recurse once per
	// level of nesting; validate's limits bound them.
	if err := validate.Coders(p.GetComponents().GetCoders()); err != nil {
		return nil, err
	}
	comps := proto.Clone(p.GetComponents()).(*pipepb.Components)
	x, err := expand(comps, p.GetRootTransformIds(), opts)
	if err != nil {
		return nil, err
	}
	leaves := x.leaves
	if err := checkSupported(comps, leaves); err != nil {
		return nil, err
	}
	g, err := newGraph(comps, leaves)
	if err != nil {
		return nil, err
	}
	order, err := g.topological()
	if err != nil {
		return nil, err
	}
	stages, err := fuse(g, order)
	if err != nil {
		return nil, err
	}
	for _, s := range stages {
		if s.Input.Kind == InputGrouped {
			s.Input.CombineFn = x.lifted[s.Input.Transform]
		}
	}
	known := map[string]bool{}
	for _, u := range opts.KnownCoders {
		known[u] = true
	}
	return &Plan{Components: comps, Stages: stages, knownCoders: known}, nil
}
