// Package sdkaccess gives the packages of this module that translate,
// plan or run pipelines (proto/translate, the runners, the Fn API harness
// and their tests) the construction graph behind sdk's handles, which sdk
// does not export: transform authors build on sdk's public hooks instead
// (Scope.Fail, PCollection.WindowFn, RegisterSplittable, ...).
//
// All functions are safe for concurrent use, as reading the graph is.
package sdkaccess

import (
	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess/hook"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Graph returns the construction graph of p.
func Graph(p *sdk.Pipeline) *graph.Graph { return hook.Graph(p) }

// Collection returns the graph collection of pc, or nil if pc is invalid.
func Collection[T any](pc sdk.PCollection[T]) *graph.Collection { return hook.Collection(pc) }
