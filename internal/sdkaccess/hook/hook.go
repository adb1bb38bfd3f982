// Package hook holds the functions through which package sdk lends its
// construction graph to package sdkaccess. sdk sets them when it is
// initialized; nothing else may.
package hook

import "github.com/beamgo-dev/beamgo/internal/graph"

var (
	// Graph returns the construction graph of an *sdk.Pipeline.
	Graph func(p any) *graph.Graph
	// Collection returns the collection of an sdk.PCollection[T] (nil for
	// an invalid one).
	Collection func(pc any) *graph.Collection
)
