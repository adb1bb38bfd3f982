// Package bundlectx gives the io packages a context for I/O that may
// outlive one call of user code.
//
// The context a DoFn's methods get is valid only during the call: the
// executor reuses and updates it for the next element and bundle. Readers
// and writers of blob stores keep their context in goroutines (an HTTP
// transport dialing, an upload in flight) beyond the call that opened them,
// so they must get the bundle's context underneath instead.
package bundlectx

import (
	"context"

	"beamgo/internal/graph"
)

// Of returns the context of the bundle that ctx, a DoFn's context, belongs
// to, or ctx itself if it is not a DoFn's context.
func Of(ctx context.Context) context.Context {
	if ec := graph.FromContext(ctx); ec != nil && ec.Context != nil {
		return ec.Context
	}
	return ctx
}
