package testutil_test

import (
	"context"
	"fmt"
	"iter"
	"sort"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
)

// lineSource is a correct source over in-memory lines, positioned like a
// text file: each line starts at the byte offset after the previous one and
// its newline. Like a block-compressed file, only the first line of each
// block of Block lines is a split point (Block 0 or 1: every line is).
// Unsplittable makes its trackers refuse every split, as for a gzip file.
type lineSource struct {
	Lines        []string
	Block        int
	Unsplittable bool

	// outer is the source Split puts in its bundles, when a type embedding
	// lineSource changes some of its methods (see embed).
	outer source.Bounded[string, int64]
}

// embed makes the bundles of s.Split read with outer, a type embedding s.
func embed[S source.Bounded[string, int64]](outer S, s *lineSource) S {
	s.outer = outer
	return outer
}

var _ source.Bounded[string, int64] = (*lineSource)(nil)

func lines(n int) []string {
	ls := make([]string, n)
	for i := range ls {
		ls[i] = fmt.Sprintf("line %d", i)
	}
	return ls
}

func (s *lineSource) offsets() []int64 {
	off := make([]int64, len(s.Lines)+1)
	for i, l := range s.Lines {
		off[i+1] = off[i] + int64(len(l)) + 1
	}
	return off
}

func (s *lineSource) block() int { return max(s.Block, 1) }

func (s *lineSource) isSplitPoint(i int) bool { return i%s.block() == 0 }

func (s *lineSource) EstimateSize(context.Context) (int64, error) {
	off := s.offsets()
	return off[len(off)-1], nil
}

// Split cuts the file into byte ranges of the desired size, as a file-based
// source does; a range reads the lines whose split point starts in it.
func (s *lineSource) Split(ctx context.Context, size int64) ([]source.Bundle[string, int64], error) {
	total, _ := s.EstimateSize(ctx)
	size = max(size, 1)
	var src source.Bounded[string, int64] = s
	if s.outer != nil {
		src = s.outer
	}
	var bs []source.Bundle[string, int64]
	for start := int64(0); start < total; start += size {
		stop := min(start+size, total)
		bs = append(bs, source.Bundle[string, int64]{Weight: float64(stop - start), Source: src, Start: start, Stop: stop})
	}
	return bs, nil
}

func (s *lineSource) DefaultRange() (int64, int64) {
	total, _ := s.EstimateSize(context.Background())
	return 0, total
}

func (s *lineSource) NewRangeTracker(start, stop int64) rangetracker.RangeTracker[int64] {
	t := rangetracker.NewOffset(start, stop)
	if s.Unsplittable {
		return rangetracker.NewUnsplittable[int64](t)
	}
	return t
}

// firstAt returns the index of the first split point at or after pos.
func (s *lineSource) firstAt(off []int64, pos int64) int {
	i := sort.Search(len(s.Lines), func(i int) bool { return off[i] >= pos })
	for i < len(s.Lines) && !s.isSplitPoint(i) {
		i++
	}
	return i
}

func (s *lineSource) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	return s.readFrom(ctx, rt, s.firstAt(s.offsets(), rt.StartPosition()))
}

// readFrom reads from line i, which must be a split point.
func (s *lineSource) readFrom(ctx context.Context, rt rangetracker.RangeTracker[int64], i int) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		off := s.offsets()
		for ; i < len(s.Lines); i++ {
			if err := ctx.Err(); err != nil {
				yield("", err)
				return
			}
			if s.isSplitPoint(i) {
				ok, err := rt.TryClaim(off[i])
				if err != nil {
					yield("", err)
					return
				}
				if !ok {
					return
				}
			} else if err := rt.SetCurrentPosition(off[i]); err != nil {
				yield("", err)
				return
			}
			if !yield(s.Lines[i], nil) {
				return
			}
		}
	}
}

// entry is a record of keySource.
type entry struct {
	Key   string
	Value int
}

// keySource is a correct source over sorted, distinct keys, positioned by
// the keys themselves with a LexicographicKey tracker, like a table scan.
type keySource struct {
	Entries []entry
}

var _ source.Bounded[entry, []byte] = (*keySource)(nil)

func entries(n int) []entry {
	es := make([]entry, n)
	for i := range es {
		es[i] = entry{Key: fmt.Sprintf("user/%04d", i*7), Value: i}
	}
	return es
}

func (s *keySource) EstimateSize(context.Context) (int64, error) {
	return int64(len(s.Entries)) * 16, nil
}

// Split cuts the key range at every k-th key.
func (s *keySource) Split(ctx context.Context, size int64) ([]source.Bundle[entry, []byte], error) {
	k := max(int(size/16), 1)
	start, stop := s.DefaultRange()
	var bs []source.Bundle[entry, []byte]
	for i := 0; i < len(s.Entries); i += k {
		b := source.Bundle[entry, []byte]{Weight: float64(16 * min(k, len(s.Entries)-i)), Source: s, Start: start, Stop: stop}
		if i > 0 {
			b.Start = []byte(s.Entries[i].Key)
		}
		if i+k < len(s.Entries) {
			b.Stop = []byte(s.Entries[i+k].Key)
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// DefaultRange is from the first key to just after the last one.
func (s *keySource) DefaultRange() ([]byte, []byte) {
	if len(s.Entries) == 0 {
		return nil, nil
	}
	return []byte(s.Entries[0].Key), []byte(s.Entries[len(s.Entries)-1].Key + "\x00")
}

func (s *keySource) NewRangeTracker(start, stop []byte) rangetracker.RangeTracker[[]byte] {
	return rangetracker.NewLexicographicKey(start, stop)
}

func (s *keySource) Read(ctx context.Context, rt rangetracker.RangeTracker[[]byte]) iter.Seq2[entry, error] {
	return func(yield func(entry, error) bool) {
		start := string(rt.StartPosition())
		i := sort.Search(len(s.Entries), func(i int) bool { return s.Entries[i].Key >= start })
		for ; i < len(s.Entries); i++ {
			ok, err := rt.TryClaim([]byte(s.Entries[i].Key))
			if err != nil {
				yield(entry{}, err)
				return
			}
			if !ok || !yield(s.Entries[i], nil) {
				return
			}
		}
	}
}
