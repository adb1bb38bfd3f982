package sdk

import (
	"context"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
)

// SinkFn is a DoFn with no output: the shape of a sink or a side effect.
// Like a DoFn it may implement Setupper, BundleStarter, BundleFinisher and
// TearDowner; the same instance rules apply (see DoFn).
type SinkFn[In any] interface {
	ProcessElement(ctx context.Context, in In) error
}

// ForEach applies fn to every element of in and outputs nothing: a sink
// (writing to a database, a queue, a file), with the full DoFn lifecycle,
// and without the dummy output a ParDo would need. An error from any of
// fn's methods fails the bundle, as it does in a ParDo.
//
// fn runs where the runner runs user code: a worker process, perhaps on
// another machine. What it does must reach the outside world by itself
// (a file, a database); a pointer it holds into the submitting process is
// not shared with a worker process (see "No global shared state" in the
// package doc).
func ForEach[In any](s Scope, fn SinkFn[In], in PCollection[In], opts ...Option) {
	o := collect(opts)
	parDoN(s, pick(o.name, fnName(fn)), fn, in, o, nil, func(c *operator.ParDoCore[In], inst any, _ []any) {
		c.Process = inst.(SinkFn[In]).ProcessElement
	})
}

// ForEachFunc applies fn to every element of in and outputs nothing: the
// function form of ForEach, for a side effect that needs no lifecycle.
func ForEachFunc[In any](s Scope, fn func(ctx context.Context, in In) error, in PCollection[In], opts ...Option) {
	ForEach(s, SinkFn[In](sinkFunc[In]{f: fn}), in, opts...)
}

// sinkFunc adapts a plain function to a SinkFn. It is stateless, so
// instances may be shared.
type sinkFunc[In any] struct {
	f func(ctx context.Context, in In) error
}

func (d sinkFunc[In]) ProcessElement(ctx context.Context, in In) error { return d.f(ctx, in) }
func (d sinkFunc[In]) transformName() string                           { return "ForEach(" + funcName(d.f) + ")" }
func (d sinkFunc[In]) describe() *graph.FnInfo {
	return &graph.FnInfo{GoType: "ForEach:" + funcName(d.f)}
}
func (d sinkFunc[In]) clone() any { return d }
