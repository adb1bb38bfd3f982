package exec

import (
	"context"
	"fmt"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

type sideKey struct {
	local string
	w     window.Window
}

// sideReader serves one transform's side inputs to its operator: it maps
// the main input window to the side input window, fetches the data from the
// runner once per window and materializes it with the view's decoder.
type sideReader struct {
	transformID string
	byView      map[any]sideSpec
	data        SideInputData
	cache       map[sideKey]any
}

type sideSpec struct {
	local string
	fn    window.Fn
	mat   func([]byte) (any, error)
}

// sideReader returns the side input reader of transform id, or nil.
func (b *builder) sideReader(id string, pt *pipepb.PTransform) *sideReader {
	t, ok := b.byName[pt.GetUniqueName()]
	if !ok || len(t.SideInputs()) == 0 {
		return nil
	}
	r := &sideReader{transformID: id, byView: map[any]sideSpec{}}
	for _, in := range t.SideInputs() {
		r.byView[in.Side.ID] = sideSpec{local: in.Local, fn: in.Coll.Windowing.Fn, mat: in.Side.Materialize}
	}
	b.p.sides = append(b.p.sides, r)
	return r
}

// Get implements operator.SideInputReader.
func (r *sideReader) Get(ctx context.Context, id any, main window.Window) (any, error) {
	spec, ok := r.byView[id]
	if !ok {
		return nil, fmt.Errorf("exec: transform %s: view was not declared as a side input (use sdk.WithSideInput)", r.transformID)
	}
	w := spec.fn.SideInputWindow(main)
	key := sideKey{local: spec.local, w: w}
	if v, ok := r.cache[key]; ok {
		return v, nil
	}
	if r.data == nil {
		return nil, fmt.Errorf("exec: transform %s: no side input data for %s", r.transformID, spec.local)
	}
	b, err := r.data.SideInput(ctx, r.transformID, spec.local, w)
	if err != nil {
		return nil, fmt.Errorf("exec: transform %s: side input %s in window %v: %w", r.transformID, spec.local, w, err)
	}
	v, err := spec.mat(b)
	if err != nil {
		return nil, err
	}
	r.cache[key] = v
	return v, nil
}

var _ operator.SideInputReader = (*sideReader)(nil)
