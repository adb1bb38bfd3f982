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
	// keepElems keeps elems once sides is materialized, for a job's
	// checkpoints; without, they are dropped then, so that the job does
	// not hold the side input twice.
	keepElems bool
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
// materializing all windows on first use (a side input is read once its
// producer is done, so no element arrives later).
func (d *dataset) sideInput(w window.Window) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sides == nil {
		if err := d.materialize(); err != nil {
			return nil, err
		}
	}
	return d.sides[w], nil
}

// materialize concatenates the elements of each window; d.mu is held. A
// first pass sizes each window's bytes, so that a large side input is
// allocated once instead of grown by doubling (which left up to twice its
// size as garbage).
func (d *dataset) materialize() error {
	if d.wire == nil && len(d.elems) > 0 {
		return fmt.Errorf("engine: side input data has no wire format")
	}
	sizes := map[window.Window]int{}
	for _, e := range d.elems {
		v, _, err := d.wire.wv.Decode(e)
		if err != nil {
			return err
		}
		for _, win := range v.Windows {
			sizes[win] += len(v.Elem)
		}
	}
	d.sides = make(map[window.Window][]byte, len(sizes))
	for win, n := range sizes {
		d.sides[win] = make([]byte, 0, n)
	}
	for _, e := range d.elems {
		v, _, err := d.wire.wv.Decode(e)
		if err != nil {
			return err
		}
		for _, win := range v.Windows {
			d.sides[win] = append(d.sides[win], v.Elem...)
		}
	}
	if !d.keepElems {
		d.elems = nil
	}
	return nil
}

var _ SideInputData = (*sideInputs)(nil)
