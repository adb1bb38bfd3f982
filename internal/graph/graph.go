// Package graph is the proto-free construction graph that the sdk builds and
// that proto/translate, the runners and the bundle executor read: the
// transforms of a pipeline, their inputs and outputs, coders, windowing and
// the description of user code.
//
// The graph also carries what runs a leaf transform, built by the sdk with
// the user's typed functions: a collection's element operations and a
// transform's operator factory (see package internal/operator). It holds
// them as opaque values (any) without looking inside, so that describing a
// pipeline does not depend on the runtime; the bundle executor asserts
// their types once, when it builds a bundle's operators.
//
// Nothing here is user-facing: users build graphs through package sdk.
package graph

import (
	"fmt"
	"strings"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// Graph is a pipeline under construction: transforms in creation order,
// the collections they read and write, and the first construction errors.
//
// A Graph is not safe for concurrent construction; once built it is only read.
type Graph struct {
	Transforms  []*Transform
	Collections []*Collection
	// names holds every unique name in use, to keep names unique.
	names map[string]int
	// errs are construction errors, in the order they happened.
	errs []error
}

// New returns an empty graph.
func New() *Graph { return &Graph{names: map[string]int{}} }

// Windowing is the windowing strategy of a collection, as the model
// carries it, and the construction-time choices that go with it.
type Windowing struct {
	window.Strategy
	// AllowUnsafeTriggers lets GroupByKey accept a trigger that may finish
	// before its window expires (window.Strategy.CheckTriggerSafe). It is
	// not part of the model: it only affects construction.
	AllowUnsafeTriggers bool
}

// Key returns a string that is equal for equal strategies, the
// construction-only fields aside.
func (w Windowing) Key() string { return w.Strategy.String() }

// Collection is a PCollection: a typed stream of windowed elements.
type Collection struct {
	ID        string
	Name      string // producer's unique name + "." + output local name
	Coder     coder.Any
	Windowing Windowing
	Producer  *Transform
	// Bounded is false for a collection that may never end: one a source
	// of unbounded data (a TestStream) produces, or one computed from one.
	Bounded bool
	// Ops are the typed runtime helpers for elements of this collection: an
	// operator.TypeOps (nil in a graph decoded from protos).
	Ops any
}

// Input is one input of a transform: a main input or a side input.
type Input struct {
	Local string
	Coll  *Collection
	// Side is non-nil for side inputs.
	Side *SideInput
}

// SideInput describes one side input of a ParDo.
type SideInput struct {
	// ID identifies the view; the sdk passes it to operator.SideInputReader.Get.
	ID any
	// Pattern is the model access pattern: "iterable" or "multimap".
	Pattern string
	// Materialize decodes the side input's contents in one window (the
	// nested encodings of its elements, concatenated) into the value the
	// view hands to user code.
	Materialize func(elems []byte) (any, error)
}

// Output is one output of a transform.
type Output struct {
	Local string
	Coll  *Collection
}

// Kind classifies a transform for translation.
type Kind int

// The transform kinds the sdk produces.
const (
	KindComposite Kind = iota
	KindImpulse
	KindParDo
	KindGroupByKey
	KindFlatten
	KindWindowInto
	KindCombinePerKey // a composite with a lifted-combine contract
	KindReshuffle     // a composite the runner may execute as redistribution
	KindTestStream    // a scripted unbounded source (TestStream)
)

// Transform is a node of the graph. Composite transforms have Children;
// leaves carry an operator Factory (nil for runner-executed primitives such
// as GroupByKey and Impulse).
type Transform struct {
	ID         string
	Name       string // local name within the parent
	UniqueName string // full, unique path: "wordcount/CountWords/Split"
	Kind       Kind
	Parent     *Transform
	Children   []*Transform
	Inputs     []Input
	Outputs    []Output

	// Factory builds the operator that executes a leaf transform: an
	// operator.Factory.
	Factory any
	// Fn describes the user function for the proto payload (nil for
	// transforms without user code).
	Fn *FnInfo
	// Combine is set on KindCombinePerKey composites.
	Combine *CombineInfo
	// Window is the window function of a KindWindowInto transform.
	Window *window.Fn
	// TestStream is the script of a KindTestStream transform.
	TestStream *TestStream
	// Stateful is set on a ParDo whose DoFn declares user state, timers or
	// OnWindowExpiration.
	Stateful *Stateful
}

// Stateful declares the user state and timers of a ParDo over KV input,
// in declaration order (the DoFn's fields).
type Stateful struct {
	// KeyCoder is the coder of the input's keys, which address state and
	// timers; WindowCoder the coder of the input's windows.
	KeyCoder, WindowCoder coder.Any
	State                 []StateSpec
	Timers                []TimerSpec
	// OnWindowExpiration is set when the DoFn has the method.
	OnWindowExpiration bool
}

// StateKind is the kind of one user state cell.
type StateKind uint8

// The kinds of user state.
const (
	StateValue StateKind = iota
	StateBag
	StateCombining
	StateMap
	StateSet
	StateOrderedList
)

// StateSpec declares one user state cell of a stateful ParDo.
type StateSpec struct {
	// ID is the state's id: the DoFn field's name.
	ID   string
	Kind StateKind
	// Coder is the coder of the values: the value, the bag's and the
	// ordered list's elements, the combining state's accumulators, the
	// map's values. KeyCoder is the coder of a map's keys and a set's
	// elements.
	Coder, KeyCoder coder.Any
	// Combine describes the CombineFn of combining state.
	Combine *FnInfo
}

// TimeDomain is the time domain of a timer.
type TimeDomain uint8

// The time domains of timers.
const (
	EventTime TimeDomain = iota
	ProcessingTime
)

// TimerSpec declares a timer family of a stateful ParDo: a plain timer is
// a family whose timers have the empty tag.
type TimerSpec struct {
	// ID is the family's id: the DoFn field's name.
	ID     string
	Domain TimeDomain
}

// TestStream is the script of a TestStream transform: its element coder
// and its events, in order. Events name their output by tag, the local
// name of one of the transform's outputs; the empty tag names the only
// output of a stream without tagged outputs.
//
// The sdk appends events while the pipeline is built; once built, it is
// only read.
type TestStream struct {
	Coder  coder.Any
	Events []TestStreamEvent
}

// TestStreamEventKind says what a TestStreamEvent does.
type TestStreamEventKind uint8

// The kinds of TestStream events.
const (
	// TestStreamElements adds Elements to the output Tag.
	TestStreamElements TestStreamEventKind = iota
	// TestStreamWatermark advances the watermark of output Tag to
	// Watermark.
	TestStreamWatermark
	// TestStreamProcessingTime advances the job's processing-time clock by
	// Advance.
	TestStreamProcessingTime
)

// TestStreamEvent is one event of a TestStream.
type TestStreamEvent struct {
	Kind TestStreamEventKind
	Tag  string
	// Elements are the elements of a TestStreamElements event.
	Elements []TimestampedElement
	// Watermark is the new watermark of a TestStreamWatermark event.
	Watermark window.Time
	// Advance is how far a TestStreamProcessingTime event moves the clock,
	// in milliseconds.
	Advance int64
}

// TimestampedElement is an element of a TestStream, encoded in the outer
// context of the stream's coder (as Beam's TestStreamPayload holds them).
type TimestampedElement struct {
	Encoded   []byte
	Timestamp window.Time
}

// FnInfo describes user code for the proto payload and for checking that a
// rebuilt pipeline matches a submitted one.
type FnInfo struct {
	// GoType is the user function's Go type, e.g. "main.splitFn" or
	// "func(string) int".
	GoType string
	// Config is the JSON of a DoFn struct's exported fields ("" otherwise).
	Config string
}

// CombineInfo describes a per-key combine for lifting: the accumulator coder
// and the factories of the lifted phases (an operator.CombinePhases).
type CombineInfo struct {
	KeyCoder   coder.Any
	AccumCoder coder.Any
	Phases     any
}

// MainInputs returns the transform's main (non-side) inputs.
func (t *Transform) MainInputs() []Input {
	var in []Input
	for _, i := range t.Inputs {
		if i.Side == nil {
			in = append(in, i)
		}
	}
	return in
}

// inputsBounded reports whether every main input of t is bounded.
func (t *Transform) inputsBounded() bool {
	for _, in := range t.Inputs {
		if in.Side == nil && in.Coll != nil && !in.Coll.Bounded {
			return false
		}
	}
	return true
}

// SideInputs returns the transform's side inputs, in declaration order.
func (t *Transform) SideInputs() []Input {
	var in []Input
	for _, i := range t.Inputs {
		if i.Side != nil {
			in = append(in, i)
		}
	}
	return in
}

// Leaves returns the leaf transforms under t (t itself if it is a leaf).
func (t *Transform) Leaves() []*Transform {
	if len(t.Children) == 0 {
		return []*Transform{t}
	}
	var out []*Transform
	for _, c := range t.Children {
		out = append(out, c.Leaves()...)
	}
	return out
}

// Roots returns the transforms without a parent, in creation order.
func (g *Graph) Roots() []*Transform {
	var out []*Transform
	for _, t := range g.Transforms {
		if t.Parent == nil {
			out = append(out, t)
		}
	}
	return out
}

// UniqueName returns a unique full name for a child called name under
// parent (nil for the root): "parent/name", with a numeric suffix when the
// name is already taken, as Beam does for repeated labels.
func (g *Graph) UniqueName(parent *Transform, name string) string {
	if name == "" {
		name = "Transform"
	}
	name = strings.ReplaceAll(name, "/", "_")
	full := name
	if parent != nil {
		full = parent.UniqueName + "/" + name
	}
	n := g.names[full]
	g.names[full] = n + 1
	if n == 0 {
		return full
	}
	return fmt.Sprintf("%s_%d", full, n+1)
}

// AddTransform adds a transform under parent and returns it, with a unique
// name and a fresh id.
func (g *Graph) AddTransform(parent *Transform, name string, kind Kind) *Transform {
	t := &Transform{
		ID:         fmt.Sprintf("t%d", len(g.Transforms)),
		Name:       name,
		UniqueName: g.UniqueName(parent, name),
		Kind:       kind,
		Parent:     parent,
	}
	if parent != nil {
		parent.Children = append(parent.Children, t)
	}
	g.Transforms = append(g.Transforms, t)
	return t
}

// AddOutput adds a new collection produced by t; ops are its elements'
// operator.TypeOps. The collection is bounded unless one of t's main inputs
// is unbounded (as in Beam, side inputs do not make an output unbounded):
// add t's inputs first. Sources of unbounded data clear Bounded themselves.
func (g *Graph) AddOutput(t *Transform, local string, c coder.Any, ops any, w Windowing) *Collection {
	col := &Collection{
		ID:        fmt.Sprintf("c%d", len(g.Collections)),
		Name:      t.UniqueName + "." + local,
		Coder:     c,
		Windowing: w,
		Producer:  t,
		Bounded:   t.inputsBounded(),
		Ops:       ops,
	}
	g.Collections = append(g.Collections, col)
	t.Outputs = append(t.Outputs, Output{Local: local, Coll: col})
	return col
}

// Fail records a construction error.
func (g *Graph) Fail(err error) { g.errs = append(g.errs, err) }

// Err returns the construction errors joined, or nil.
func (g *Graph) Err() error {
	switch len(g.errs) {
	case 0:
		return nil
	case 1:
		return g.errs[0]
	}
	msgs := make([]string, len(g.errs))
	for i, e := range g.errs {
		msgs[i] = e.Error()
	}
	return &joined{errs: g.errs, msg: strings.Join(msgs, "\n")}
}

type joined struct {
	errs []error
	msg  string
}

func (j *joined) Error() string   { return j.msg }
func (j *joined) Unwrap() []error { return j.errs }

// ByUniqueName returns the transform with the given unique name.
func (g *Graph) ByUniqueName(name string) (*Transform, bool) {
	for _, t := range g.Transforms {
		if t.UniqueName == name {
			return t, true
		}
	}
	return nil, false
}
