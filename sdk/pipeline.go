package sdk

import (
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// Pipeline is a graph of transforms under construction. Construction errors
// are recorded on the pipeline, not panicked: every transform still returns
// a (dead) collection, and Err — and any runner's Run — reports them all,
// each naming its transform.
//
// A Pipeline is not safe for concurrent construction.
type Pipeline struct {
	g *graph.Graph
	// hooks are called around each run (see OnRun).
	hooks []RunHook
}

// NewPipeline returns an empty pipeline.
func NewPipeline() *Pipeline { return &Pipeline{g: graph.New()} }

// Root returns the pipeline's root scope.
func (p *Pipeline) Root() Scope { return Scope{p: p} }

// Err returns the construction errors recorded so far, joined, or nil.
func (p *Pipeline) Err() error { return p.g.Err() }

// Scope is a named place in the pipeline's transform hierarchy. Transforms
// added to a scope get unique names under it ("wordcount/CountWords/Split").
// Scope is a small value; copy it freely.
type Scope struct {
	p      *Pipeline
	parent *graph.Transform
}

// Scope returns a sub-scope: a composite transform called name under s.
func (s Scope) Scope(name string) Scope {
	t := s.p.g.AddTransform(s.parent, name, graph.KindComposite)
	return Scope{p: s.p, parent: t}
}

// Pipeline returns the pipeline of s.
func (s Scope) Pipeline() *Pipeline { return s.p }

// fail records a construction error for the transform name, with the
// caller's source location.
func (s Scope) fail(name string, format string, args ...any) {
	ce := &ConstructionError{Transform: s.fullName(name), Location: callerOutsideSDK(), Err: fmt.Errorf(format, args...)}
	s.p.g.Fail(fmt.Errorf("sdk: %w", ce))
}

// callerOutsideSDK returns file:line of the user's call that led to the
// caller: the first frame outside package sdk and the library packages of
// this module (see callerOutside).
func callerOutsideSDK() string { return callerOutside("") }

// Option configures a transform. Name works on every transform; others say
// where they apply.
type Option interface{ apply(*options) }

type options struct {
	name  string
	sides []sideView
	coder any
	// windowing are WindowInto's options, applied in order to the
	// strategy the output inherits from the input.
	windowing []func(*graph.Windowing)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// Name sets a transform's name in its scope (by default it is derived from
// the transform and its function).
func Name(name string) Option { return optionFunc(func(o *options) { o.name = name }) }

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	return o
}

// PCollection is a typed, immutable collection of elements of type T in a
// pipeline. It is a handle: copying it refers to the same collection.
type PCollection[T any] struct {
	c *graph.Collection
}

// IsValid reports whether pc was produced by a transform that constructed
// without error.
func (pc PCollection[T]) IsValid() bool { return pc.c != nil }

// collection returns the graph collection, for internal/sdkaccess.
func (pc PCollection[T]) collection() *graph.Collection { return pc.c }

// String returns the collection's name.
func (pc PCollection[T]) String() string {
	if pc.c == nil {
		return "<invalid PCollection>"
	}
	return pc.c.Name
}

// KV is a key-value pair, the element type of keyed collections. It is
// coder.KV, so KV coders are inferred without reflection.
type KV[K, V any] = coder.KV[K, V]

// Pair returns KV{Key: k, Value: v}.
func Pair[K, V any](k K, v V) KV[K, V] { return KV[K, V]{Key: k, Value: v} }

// inferCoder returns the coder for T, or records a construction error.
func inferCoder[T any](s Scope, name string) (coder.Coder[T], bool) {
	c, err := coder.Of[T]()
	if err != nil {
		s.fail(name, "no coder for output type: %v", err)
		return nil, false
	}
	return c, true
}

// addOutput adds an output collection of type T with coder c to t.
func addOutput[T any](s Scope, t *graph.Transform, local string, c coder.Coder[T], w graph.Windowing) PCollection[T] {
	col := s.p.g.AddOutput(t, local, coder.Erase(c), operator.OpsFor(c), w)
	return PCollection[T]{c: col}
}

// opsOf returns the element operations of c, which addOutput stored.
func opsOf(c *graph.Collection) operator.TypeOps { return c.Ops.(operator.TypeOps) }

// checkInputs records an error if any input collection is invalid or from
// another pipeline.
func (s Scope) checkInputs(name string, cols ...*graph.Collection) bool {
	for i, c := range cols {
		if c == nil {
			// The producer's error is the root cause, already recorded:
			// saying so again for each transform downstream would bury it.
			if s.p.g.Err() == nil {
				s.fail(name, "input %d is an invalid PCollection (the zero PCollection, not the output of a transform)", i)
			}
			return false
		}
		if !s.owns(c) {
			s.fail(name, "input %d (%s) belongs to another pipeline", i, c.Name)
			return false
		}
	}
	return true
}

func (s Scope) owns(c *graph.Collection) bool {
	for _, x := range s.p.g.Collections {
		if x == c {
			return true
		}
	}
	return false
}
