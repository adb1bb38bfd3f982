package engine

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// dataset is the committed elements of one PCollection, each an encoded
// windowed value.
type dataset struct {
	// mu guards the fields below.
	mu    sync.Mutex
	elems [][]byte
	wire  *wire
	sides map[window.Window][]byte // materialized side input, per window
}

// sideInputs serves a stage's side inputs from the datasets of earlier stages.
type sideInputs struct {
	j  *job
	st *plan.Stage
}

// SideInput implements SideInputData.
func (s *sideInputs) SideInput(_ context.Context, transformID, local string, w window.Window) ([]byte, error) {
	name := strconv.Quote(cmp.Or(s.j.pl.Components.GetTransforms()[transformID].GetUniqueName(), transformID))
	for _, si := range s.st.SideInputs {
		if si.Transform != transformID || si.Local != local {
			continue
		}
		d := s.j.datasets[si.PCollection]
		if d == nil {
			return nil, fmt.Errorf("engine: side input %s of transform %s has no data", local, name)
		}
		return d.sideInput(w)
	}
	return nil, fmt.Errorf("engine: transform %s reads no side input %s", name, local)
}

// sideInput returns the concatenated element encodings of d in window w,
// materializing all windows on first use.
func (d *dataset) sideInput(w window.Window) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sides == nil {
		d.sides = map[window.Window][]byte{}
		if d.wire == nil && len(d.elems) > 0 {
			return nil, fmt.Errorf("engine: side input data has no wire format")
		}
		for _, e := range d.elems {
			v, _, err := d.wire.wv.Decode(e)
			if err != nil {
				return nil, err
			}
			for _, win := range v.Windows {
				d.sides[win] = append(d.sides[win], v.Elem...)
			}
		}
	}
	return d.sides[w], nil
}

var _ SideInputData = (*sideInputs)(nil)
