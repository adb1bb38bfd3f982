package filebased

import (
	"errors"
	"sort"

	"github.com/beamgo-dev/beamgo/rangetracker"
)

// fileTracker is the view of a Source's concatenated range that the
// RecordReader of one file gets: positions in the file's own terms,
// translated to the concatenation. Of an unsplittable file only the first
// record is a split point, at the file's base; its other records are set at
// the base too, so that the file is read whole by the range that holds its
// base.
//
// A fileTracker belongs to the goroutine that reads the file: unlike other
// trackers it is not safe for concurrent use. The outer tracker does the
// locking against splits from other goroutines.
type fileTracker struct {
	outer rangetracker.RangeTracker[int64]
	base  int64
	size  int64
	// whole is set for unsplittable files.
	whole bool
	start int64
	// claimed is set by the first successful claim.
	claimed bool
	// ended is set when a claim failed: the outer range is done.
	ended bool
}

var _ rangetracker.RangeTracker[int64] = (*fileTracker)(nil)

func (t *fileTracker) StartPosition() int64 {
	if t.whole {
		return 0
	}
	return t.start
}

func (t *fileTracker) StopPosition() int64 {
	if t.whole {
		return rangetracker.OffsetInfinity
	}
	return min(t.size, t.outer.StopPosition()-t.base)
}

func (t *fileTracker) TryClaim(p int64) (bool, error) {
	if t.whole && t.claimed {
		return true, t.outer.SetCurrentPosition(t.base)
	}
	q := t.base
	if !t.whole {
		q += p
	}
	ok, err := t.outer.TryClaim(q)
	if err == nil && !ok {
		t.ended = true
	}
	t.claimed = t.claimed || ok
	return ok, err
}

// rangeEnded reports whether a claim failed, ending the outer range.
func (t *fileTracker) rangeEnded() bool { return t.ended }

func (t *fileTracker) SetCurrentPosition(p int64) error {
	if t.whole {
		return t.outer.SetCurrentPosition(t.base)
	}
	return t.outer.SetCurrentPosition(t.base + p)
}

var errReaderSplit = errors.New("filebased: a RecordReader cannot compute split positions")

func (t *fileTracker) PositionAtFraction(float64) (int64, error) { return 0, errReaderSplit }

// TrySplit refuses: splits belong to the runner, through the outer tracker.
func (t *fileTracker) TrySplit(int64) (int64, float64, bool) { return 0, 0, false }

func (t *fileTracker) FractionConsumed() float64 { return t.outer.FractionConsumed() }

func (t *fileTracker) SplitPoints() (consumed, remaining int64) { return t.outer.SplitPoints() }

// SetSplitPointsUnclaimedCallback is ignored: the outer range spans other
// files, whose split points this reader cannot count.
func (t *fileTracker) SetSplitPointsUnclaimedCallback(func(stop int64) int64) {}

// rootTracker is the tracker of a Source's concatenated range: an Offset
// tracker whose splits move out of unsplittable files, to the base of the
// next file, since a split inside one would leave an empty residual.
type rootTracker struct {
	off *rangetracker.Offset
	// files and bases are the source's expansion.
	files []File
	bases []int64
}

var _ rangetracker.RangeTracker[int64] = (*rootTracker)(nil)

func (t *rootTracker) StartPosition() int64             { return t.off.StartPosition() }
func (t *rootTracker) StopPosition() int64              { return t.off.StopPosition() }
func (t *rootTracker) TryClaim(p int64) (bool, error)   { return t.off.TryClaim(p) }
func (t *rootTracker) SetCurrentPosition(p int64) error { return t.off.SetCurrentPosition(p) }
func (t *rootTracker) FractionConsumed() float64        { return t.off.FractionConsumed() }
func (t *rootTracker) SplitPoints() (int64, int64)      { return t.off.SplitPoints() }
func (t *rootTracker) PositionAtFraction(f float64) (int64, error) {
	return t.off.PositionAtFraction(f)
}
func (t *rootTracker) SetSplitPointsUnclaimedCallback(f func(stop int64) int64) {
	t.off.SetSplitPointsUnclaimedCallback(f)
}

// TrySplit splits at p, or at the end of the unsplittable file that p falls
// inside.
func (t *rootTracker) TrySplit(p int64) (int64, float64, bool) {
	// The file holding p: the last whose base is <= p.
	i := sort.Search(len(t.files), func(i int) bool { return t.bases[i+1] > p })
	if i < len(t.files) && !t.files[i].Splittable && p > t.bases[i] {
		p = t.bases[i+1]
	}
	return t.off.TrySplit(p)
}
