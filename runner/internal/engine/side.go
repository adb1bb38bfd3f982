package engine

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"weak"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// A side input is served as the concatenated element encodings of one
// window. The dataset keeps exactly that, per window, as it is committed:
// bundles writing a side input sort their elements' encodings by window
// (sideWriter), and past their share of the budget append them to the
// dataset's file; the dataset records where each window's pieces are. So
// a side input larger than the memory budget costs only pages of the file
// cache, is never held as elements and then again as per-window buffers,
// and a reader (SideInputOpener) pages through it.
//
// The file is append-only, so that readers need no lock on it. Contents
// that a commit replaced (see below) stay in it until they are as many
// bytes as those committed windows refer to, and at least compactAt: then
// the dataset copies the bytes referred to into a new file and unlinks
// the old one (compact), which its readers and uncommitted writers still
// hold open; a file is closed once none of them refers to it (the
// collector closes an unreachable *os.File), or when the dataset closes.
// So a slowly updating side input larger than its share of memory,
// replaced every few minutes for days, holds about twice its size on
// disk, not every version it had. The bytes a failed bundle attempt
// flushed go with the next compaction, but are too rare to start one.
//
// A triggered side input in discarding mode over an unbounded PCollection
// serves its latest firing (latestFiring): each commit replaces the
// contents of the windows it writes. Beam's programming guide gives a
// triggered side input "the value from the latest trigger firing", and a
// view materializes through a grouping under the PCollection's own
// windowing: in discarding mode a firing holds what came since the one
// before, in accumulating mode everything so far, which is what an
// accumulating dataset serves. Here one committed bundle of the producer
// is one firing. So Beam's slowly updating side input (a triggered global
// window, discarding, combined to one value per firing, read as a
// singleton) reads its newest value instead of failing on the second. A
// bounded PCollection keeps every firing: a batch job's panes of one
// window come from bundles in any order.

// dataset is the committed contents of one PCollection read as a side
// input. It is safe for concurrent use.
type dataset struct {
	wire *wire
	// keepElems keeps the committed elements, each an encoded windowed
	// value, in elems for a job's checkpoints (in latestElems if latest).
	keepElems bool
	// latest is set when a commit replaces the contents of the windows
	// it writes (latestFiring).
	latest bool
	// dir is where the file is created; memShare the bytes of contents
	// kept in memory before the rest goes to the file.
	dir      string
	memShare int64

	// mu guards the fields below.
	mu    sync.Mutex
	elems [][]byte
	// latestElems are, if latest and keepElems, the elements of each
	// window's latest commit, each encoded in that window alone.
	latestElems map[window.Window][][]byte
	wins        map[window.Window]*sideWindow
	mem         int64
	// f is the dataset's file (nil until the first flush); end its size,
	// fileLive the bytes of it that committed windows refer to, dropped
	// those of it that commits replaced. retired are the files compact
	// replaced, closed at close if still open.
	f        *os.File
	end      int64
	fileLive int64
	dropped  int64
	retired  []weak.Pointer[os.File]
	// compactAt is the least number of replaced bytes in the file at
	// which compact copies what is live (0: sideCompactAt).
	compactAt int64

	// version counts the commits to the dataset, so that the stages
	// reading it see that it changed without taking mu.
	version atomic.Int64
}

// sideWindow is where the contents of one window are: parts in order,
// parts[i] starting at starts[i] of the contents. Parts are only appended;
// a dataset serving the latest firing replaces the whole sideWindow.
type sideWindow struct {
	parts  []sidePart
	starts []int64
	size   int64
}

// sidePart is a piece of a window's contents: data in memory, or n bytes
// at off in file f (the dataset's, or one it has replaced since).
type sidePart struct {
	data []byte
	f    *os.File
	off  int64
	n    int64
}

// sideCompactAt is the default dataset.compactAt.
const sideCompactAt = 64 << 20

// newWriter returns the writer of one bundle attempt's output to d, which
// flushes to the file past flushAt bytes.
func (d *dataset) newWriter(flushAt int64) *sideWriter {
	return &sideWriter{d: d, flushAt: flushAt, bufs: map[window.Window][]byte{}}
}

// sideWriter sorts one bundle attempt's side input elements by window;
// nothing it holds is visible to readers before commit. It is used by one
// goroutine at a time.
type sideWriter struct {
	d       *dataset
	flushAt int64
	bufs    map[window.Window][]byte
	held    int64
	// flushed are the pieces already in the file, per window.
	flushed map[window.Window][]sidePart
	// latest are, for a dataset's latestElems, the attempt's elements per
	// window, each encoded in that window alone.
	latest map[window.Window][][]byte
}

// add appends the encoding of v's element to each of its windows.
func (w *sideWriter) add(v window.Value[[]byte]) error {
	d := w.d
	for _, win := range v.Windows {
		w.bufs[win] = append(w.bufs[win], v.Elem...)
		w.held += int64(len(v.Elem))
		if d.latest && d.keepElems {
			if w.latest == nil {
				w.latest = map[window.Window][][]byte{}
			}
			one := v
			one.Windows = []window.Window{win}
			w.latest[win] = append(w.latest[win], d.wire.wv.Encode(nil, one))
		}
	}
	if w.flushAt > 0 && w.held >= w.flushAt {
		return w.flush()
	}
	return nil
}

// flush appends the buffered contents to the dataset's file.
func (w *sideWriter) flush() error {
	if w.held == 0 {
		return nil
	}
	if w.flushed == nil {
		w.flushed = map[window.Window][]sidePart{}
	}
	d := w.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		f, err := os.CreateTemp(d.dir, "side-*")
		if err != nil {
			return fmt.Errorf("engine: side input file: %w", err)
		}
		d.f = f
	}
	for win, b := range w.bufs {
		if _, err := d.f.WriteAt(b, d.end); err != nil {
			return fmt.Errorf("engine: writing side input: %w", err)
		}
		w.flushed[win] = append(w.flushed[win], sidePart{f: d.f, off: d.end, n: int64(len(b))})
		d.end += int64(len(b))
	}
	clear(w.bufs)
	w.held = 0
	return nil
}

// seal prepares the commit: the buffered contents go to the file unless
// they fit in the dataset's share of memory. It does no I/O if they do, so
// that commit can call it before taking the job's lock.
func (w *sideWriter) seal() error {
	d := w.d
	if err := d.compact(); err != nil {
		return err
	}
	d.mu.Lock()
	fits := w.flushed == nil && d.mem+w.held <= d.memShare
	d.mu.Unlock()
	if fits {
		return nil
	}
	return w.flush()
}

// commit makes the attempt's contents part of the dataset; if it serves
// the latest firing, they replace the contents of the windows they are in.
func (w *sideWriter) commit() {
	d := w.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.latest {
		for win := range w.flushed {
			d.drop(win)
		}
		for win := range w.bufs {
			d.drop(win)
		}
		if d.keepElems {
			if d.latestElems == nil {
				d.latestElems = map[window.Window][][]byte{}
			}
			maps.Copy(d.latestElems, w.latest)
		}
	}
	for win, parts := range w.flushed {
		for _, p := range parts {
			d.add(win, p)
		}
	}
	for win, b := range w.bufs {
		d.add(win, sidePart{data: b, n: int64(len(b))})
		d.mem += int64(len(b))
	}
	w.bufs, w.flushed, w.held, w.latest = nil, nil, 0, nil
	d.version.Add(1)
}

// drop forgets the contents of win, for a commit that replaces them;
// readers that opened them keep what they read. d.mu is held.
func (d *dataset) drop(win window.Window) {
	sw := d.wins[win]
	if sw == nil {
		return
	}
	for _, p := range sw.parts {
		switch {
		case p.data != nil:
			d.mem -= p.n
		case p.f == d.f:
			d.fileLive -= p.n
			d.dropped += p.n
		}
	}
	delete(d.wins, win)
}

// compact copies the parts of the committed windows that are in files
// into a new file, once the current one holds at least as many replaced
// bytes as bytes referred to, and at least compactAt (see dataset). It
// runs before a commit, outside the job's lock, and holds d.mu while it
// copies: what it copies is at most what it drops, so that no byte
// written to a file is copied more than about once on average.
func (d *dataset) compact() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil || d.dropped < max(d.fileLive, cmp.Or(d.compactAt, sideCompactAt)) {
		return nil
	}
	nf, err := os.CreateTemp(d.dir, "side-*")
	if err != nil {
		return fmt.Errorf("engine: compacting side input file: %w", err)
	}
	moved := map[window.Window]*sideWindow{}
	var end int64
	buf := make([]byte, 256<<10)
	for win, sw := range d.wins {
		var nsw *sideWindow
		for i, p := range sw.parts {
			if p.data != nil {
				continue
			}
			if nsw == nil {
				nsw = &sideWindow{parts: slices.Clone(sw.parts), starts: slices.Clone(sw.starts), size: sw.size}
			}
			if _, err := io.CopyBuffer(io.NewOffsetWriter(nf, end), io.NewSectionReader(p.f, p.off, p.n), buf); err != nil {
				nf.Close()
				os.Remove(nf.Name())
				return fmt.Errorf("engine: compacting side input file: %w", err)
			}
			nsw.parts[i] = sidePart{f: nf, off: end, n: p.n}
			end += p.n
		}
		if nsw != nil {
			moved[win] = nsw
		}
	}
	maps.Copy(d.wins, moved)
	old := d.f
	d.retired = slices.DeleteFunc(d.retired, func(wp weak.Pointer[os.File]) bool { return wp.Value() == nil })
	d.retired = append(d.retired, weak.Make(old))
	d.f, d.end, d.fileLive, d.dropped = nf, end, end, 0
	// Readers and uncommitted writers that hold the old file keep it
	// open; unlinked, its space is freed once they are done with it.
	os.Remove(old.Name())
	return nil
}

// has reports whether contents of window w were committed.
func (d *dataset) has(w window.Window) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.wins[w] != nil
}

// add appends p to the contents of win; d.mu is held.
func (d *dataset) add(win window.Window, p sidePart) {
	if d.wins == nil {
		d.wins = map[window.Window]*sideWindow{}
	}
	sw := d.wins[win]
	if sw == nil {
		sw = &sideWindow{}
		d.wins[win] = sw
	}
	sw.parts = append(sw.parts, p)
	sw.starts = append(sw.starts, sw.size)
	sw.size += p.n
	if p.data == nil && p.f == d.f {
		d.fileLive += p.n
	}
}

// restore replaces the dataset's contents with elems, encoded windowed
// values, as a checkpoint recorded them.
func (d *dataset) restore(elems [][]byte) error {
	if d.wire == nil && len(elems) > 0 {
		return fmt.Errorf("engine: side input data has no wire format")
	}
	d.mu.Lock()
	d.elems, d.latestElems, d.wins, d.mem = elems, nil, nil, 0
	d.dropped, d.fileLive = d.dropped+d.fileLive, 0
	if d.latest {
		d.elems = nil // the commit below fills latestElems
	}
	d.mu.Unlock()
	w := d.newWriter(d.memShare)
	for _, e := range elems {
		v, _, err := d.wire.wv.Decode(e)
		if err != nil {
			return fmt.Errorf("engine: restoring side input: %w", err)
		}
		if err := w.add(v); err != nil {
			return err
		}
	}
	if err := w.seal(); err != nil {
		return err
	}
	w.commit()
	return nil
}

// keep records committed elements for checkpoints, if the job has them
// (a dataset serving the latest firing records them as it commits).
func (d *dataset) keep(elems [][]byte) {
	if !d.keepElems || d.latest {
		return
	}
	d.mu.Lock()
	d.elems = append(d.elems, elems...)
	d.mu.Unlock()
}

// latestFiring reports whether the side input pc serves its latest
// firing (see dataset): pc is unbounded, and its windowing has a trigger
// other than the default in discarding mode.
func latestFiring(comps *pipepb.Components, pc string) bool {
	p := comps.GetPcollections()[pc]
	if p.GetIsBounded() != pipepb.IsBounded_UNBOUNDED {
		return false
	}
	ws := comps.GetWindowingStrategies()[p.GetWindowingStrategyId()]
	return triggered(ws) && ws.GetAccumulationMode() == pipepb.AccumulationMode_DISCARDING
}

// triggered reports whether ws has a trigger other than the default.
func triggered(ws *pipepb.WindowingStrategy) bool {
	tr := ws.GetTrigger()
	return tr != nil && tr.GetDefault() == nil
}

// snapshotElems returns the committed elements a checkpoint records; d.mu
// is held.
func (d *dataset) snapshotElems() [][]byte {
	if !d.latest {
		return d.elems
	}
	var out [][]byte
	for _, win := range slices.SortedFunc(maps.Keys(d.latestElems), compareWindows) {
		out = append(out, d.latestElems[win]...)
	}
	return out
}

// open returns a reader of the contents of window w (empty if it has
// none): what was committed to w when it was opened. Parts are only
// appended, and the reader keeps the ones there were, so it needs no lock.
func (d *dataset) open(w window.Window) *io.SectionReader {
	d.mu.Lock()
	defer d.mu.Unlock()
	sw := d.wins[w]
	if sw == nil {
		return io.NewSectionReader(sideContents{}, 0, 0)
	}
	n := len(sw.parts)
	c := sideContents{parts: sw.parts[:n:n], starts: sw.starts[:n:n]}
	return io.NewSectionReader(c, 0, sw.size)
}

// close closes the dataset's file; the job's directory, removed at its
// end, holds it.
func (d *dataset) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	for _, wp := range d.retired {
		if f := wp.Value(); f != nil {
			f.Close()
		}
	}
	d.retired = nil
}

// sideContents reads the contents of one window from its parts.
type sideContents struct {
	parts  []sidePart
	starts []int64
}

// ReadAt implements io.ReaderAt.
func (c sideContents) ReadAt(p []byte, off int64) (int, error) {
	i, found := slices.BinarySearch(c.starts, off)
	if !found {
		i--
	}
	n := 0
	for ; i >= 0 && i < len(c.parts) && n < len(p); i++ {
		part := c.parts[i]
		skip := off + int64(n) - c.starts[i]
		want := min(int64(len(p)-n), part.n-skip)
		if part.data != nil {
			n += copy(p[n:], part.data[skip:skip+want])
			continue
		}
		m, err := part.f.ReadAt(p[n:n+int(want)], part.off+skip)
		n += m
		if err != nil {
			return n, fmt.Errorf("engine: reading side input: %w", err)
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// sideInputs serves a stage's side inputs from the datasets of earlier
// stages.
type sideInputs struct {
	j  *job
	st *plan.Stage
}

// SideInputOpener is implemented by SideInputData that can serve a side
// input in pieces: OpenSideInput returns a reader of what SideInput would
// return, so that a server can page through it without holding it whole.
type SideInputOpener interface {
	OpenSideInput(ctx context.Context, transformID, local string, w window.Window) (*io.SectionReader, error)
}

// dataset returns the dataset of side input local of transformID.
func (s *sideInputs) dataset(transformID, local string) (*dataset, error) {
	name := strconv.Quote(cmp.Or(s.j.pl.Components.GetTransforms()[transformID].GetUniqueName(), transformID))
	for _, si := range s.st.SideInputs {
		if si.Transform != transformID || si.Local != local {
			continue
		}
		d := s.j.datasets[si.PCollection]
		if d == nil {
			return nil, fmt.Errorf("engine: side input %s of transform %s has no data", local, name)
		}
		return d, nil
	}
	return nil, fmt.Errorf("engine: transform %s reads no side input %s", name, local)
}

// OpenSideInput implements SideInputOpener.
func (s *sideInputs) OpenSideInput(_ context.Context, transformID, local string, w window.Window) (*io.SectionReader, error) {
	d, err := s.dataset(transformID, local)
	if err != nil {
		return nil, err
	}
	return d.open(w), nil
}

// SideInput implements SideInputData: the in-process executor decodes the
// contents whole, so they are read whole.
func (s *sideInputs) SideInput(ctx context.Context, transformID, local string, w window.Window) ([]byte, error) {
	r, err := s.OpenSideInput(ctx, transformID, local, w)
	if err != nil || r.Size() == 0 {
		return nil, err
	}
	b := make([]byte, r.Size())
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}

var (
	_ SideInputData   = (*sideInputs)(nil)
	_ SideInputOpener = (*sideInputs)(nil)
	_ io.ReaderAt     = sideContents{}
)
