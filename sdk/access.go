package sdk

import (
	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess/hook"
)

// The runners and translation of this module reach the construction graph
// through internal/sdkaccess, which these hooks serve; nothing outside the
// module can.
func init() {
	hook.Graph = func(p any) *graph.Graph { return p.(*Pipeline).g }
	hook.Collection = func(pc any) *graph.Collection {
		return pc.(interface{ collection() *graph.Collection }).collection()
	}
}
