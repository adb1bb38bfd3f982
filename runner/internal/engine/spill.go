package engine

import (
	"fmt"
	"os"
	"sync/atomic"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// A bundle's output for data stages is committed whole, so that a failed
// attempt leaves no trace; held in memory until then, one bundle reading a
// large restriction would hold its whole output (650 MB of a 1M-record
// synthetic read in Beam Go's CoGroupByKey load test, at a 256 MiB
// budget). Past its share of the memory budget (spillShare), the output
// goes to a segment file in the job's temporary directory instead; the
// committed segments wait as pending batches of their readers, and a
// bundle made of one is read back when it starts. Every reader's memory
// then holds at most a segment per running bundle, plus the in-memory
// pending elements the producers' backpressure bounds (bufferBudget).
//
// A keyed stage loads a segment into memory when it takes from it (it must
// key the elements; keyed.loadSegments). Outputs that feed a side input
// or a job with checkpoints (which snapshot the pending elements) are kept
// in memory as before.

// spillShare returns the bytes of output a bundle holds in memory before
// writing them to a segment: a quarter of its slot's share of the memory
// pending elements may fill, between 1 and 8 MiB. Each running bundle may
// hold twice that (the arena grows by doubling) while it writes and as
// much again for a segment it reads back, so a quarter keeps the bundle
// slots within the pending elements' share; above 8 MiB a segment only
// makes fewer, larger bundles.
func (j *job) spillShare() int64 {
	return min(max(j.bufferBudget()/int64(4*max(j.opts.Parallelism, 1)), 1<<20), 8<<20)
}

// segment is part of a bundle's output for data stages, on disk: the
// encoded elements, concatenated.
type segment struct {
	path  string
	wire  *wire
	count int
	bytes int64
	minTs window.Time
	// refs counts the readers whose pending input still holds the
	// segment; the last to load it removes the file.
	refs atomic.Int32
}

// load reads the segment's elements back.
func (g *segment) load() ([][]byte, error) {
	data, err := os.ReadFile(g.path)
	if err != nil {
		return nil, fmt.Errorf("engine: reading spilled output: %w", err)
	}
	elems, err := g.wire.split(data)
	if err != nil {
		return nil, fmt.Errorf("engine: spilled output %s: %w", g.path, err)
	}
	return elems, nil
}

// release drops one reader's hold, removing the file after the last.
func (g *segment) release() {
	if g.refs.Add(-1) == 0 {
		os.Remove(g.path)
	}
}

// spill writes the output's in-memory elements to a new segment and
// empties the arena for reuse.
func (o *bundleOutput) spill() error {
	f, err := os.CreateTemp(o.dir, "output-*")
	if err != nil {
		return fmt.Errorf("engine: spilling bundle output: %w", err)
	}
	g := &segment{path: f.Name(), wire: o.t.wire, count: len(o.elems), bytes: o.kept, minTs: o.segMin}
	o.segs = append(o.segs, g)
	for _, c := range append(o.full, o.arena) {
		if _, err = f.Write(c); err != nil {
			break
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("engine: spilling bundle output: %w", err)
	}
	// The elements are on disk: the chunks are free, the last for reuse.
	clear(o.elems)
	clear(o.full)
	o.elems, o.full, o.arena, o.kept, o.segMin = o.elems[:0], o.full[:0], o.arena[:0], 0, window.MaxTime
	return nil
}

// deliverSegments hands the output's segments to its readers; j.mu is
// held.
func (o *bundleOutput) deliverSegments() {
	for _, g := range o.segs {
		g.refs.Store(int32(len(o.t.readers)))
		for _, r := range o.t.readers {
			r.addPending(&batch{seg: g, minTs: g.minTs})
		}
		if len(o.t.readers) == 0 {
			os.Remove(g.path)
		}
	}
	o.segs = nil
}

// removeSegments removes the segments of an output that is not delivered.
func (o *bundleOutput) removeSegments() {
	for _, g := range o.segs {
		os.Remove(g.path)
	}
	o.segs = nil
}

// loadSegment reads a bundle made of a spilled segment into memory, before
// its first attempt; the bundle is the segment's only user from then on.
func (b *bundleWork) loadSegment() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seg == nil {
		return nil
	}
	elems, err := b.seg.load()
	if err != nil {
		return err
	}
	b.seg.release()
	b.elems, b.seg = elems, nil
	return nil
}
