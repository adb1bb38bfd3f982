package testutil_test

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/testutil"
)

func TestReadFromSource(t *testing.T) {
	ctx := t.Context()
	var src source.Bounded[string, int64] = &lineSource{Lines: lines(10), Block: 3}
	cases := []struct {
		name        string
		start, stop int64
		want        []string
	}{
		{"the default range reads every line", 0, 70, lines(10)},
		{"a range reads the lines whose split point starts in it", 1, 35, []string{"line 3", "line 4", "line 5"}},
		{"a range starting at a split point reads it", 21, 22, []string{"line 3", "line 4", "line 5"}},
		{"a range without a split point reads nothing", 22, 42, nil},
		{"an empty range reads nothing", 21, 21, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := testutil.ReadFromSource(ctx, src, c.start, c.stop)
			if err != nil {
				t.Fatalf("ReadFromSource(%d, %d) = %v", c.start, c.stop, err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("ReadFromSource(%d, %d) (-want +got):\n%s", c.start, c.stop, diff)
			}
		})
	}
	all, err := testutil.ReadAll(ctx, src)
	if err != nil || len(all) != 10 {
		t.Errorf("ReadAll() = %d records, %v; want 10, nil", len(all), err)
	}
}

// notReporting claims the first record of its range and returns the rest
// without telling the tracker.
type notReporting struct{ lineSource }

func (s *notReporting) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		off := s.offsets()
		i := s.firstAt(off, rt.StartPosition())
		if i == len(s.Lines) {
			return
		}
		if ok, err := rt.TryClaim(off[i]); err != nil || !ok {
			return
		}
		for ; i < len(s.Lines); i++ {
			if !yield(s.Lines[i], nil) {
				return
			}
		}
	}
}

// failing fails after its third record.
type failing struct{ lineSource }

var errDisk = errors.New("disk on fire")

func (s *failing) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for rec, err := range s.lineSource.Read(ctx, rt) {
			if rec == "line 3" {
				yield("", errDisk)
				return
			}
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

func TestReadFromSourceReportsBrokenReaders(t *testing.T) {
	ls := lineSource{Lines: lines(6)}
	cases := []struct {
		name string
		src  source.Bounded[string, int64]
		want string
	}{
		{"a record without a report", &notReporting{ls}, "testutil: Read of [0, 42) returned record #1 without a TryClaim or SetCurrentPosition since record #0"},
		{"a record without a claim", &neverClaims{ls}, "testutil: Read of [0, 42) returned record #0 before any successful TryClaim"},
		{"a record after a failed claim", &ignoresFailedClaim{ls}, ""}, // reads the whole range: nothing to see
		{"a swallowed tracker error", &swallowsTrackerErrors{ls}, "testutil: Read of [0, 42) ended without an error after TryClaim(0) failed"},
		{"an error of the source", &failing{ls}, "testutil: Read of [0, 42) failed after 3 records: disk on fire"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := testutil.ReadAll(t.Context(), c.src)
			if c.want == "" {
				if err != nil {
					t.Errorf("ReadAll() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("ReadAll() = %v\nwant an error starting %q", err, c.want)
			}
		})
	}
	if _, err := testutil.ReadAll(t.Context(), &failing{ls}); !errors.Is(err, errDisk) {
		t.Errorf("ReadAll() = %v, want it to wrap %v", err, errDisk)
	}
}

// The cases of Beam's source_test_utils_test, on 100 lines.
func TestSplitAtFractionLikeBeam(t *testing.T) {
	ctx := t.Context()
	var src source.Bounded[string, int64] = &lineSource{Lines: lines(100)}
	for _, c := range []struct {
		readBefore int
		fraction   float64
	}{{10, 0.5}, {20, 0.5}, {30, 0.8}, {50, 0.8}} {
		res, err := testutil.CheckSplitAtFractionSucceedsAndConsistent(ctx, src, c.readBefore, c.fraction, nil)
		if err != nil {
			t.Errorf("CheckSplitAtFractionSucceedsAndConsistent(%d, %v) = %v", c.readBefore, c.fraction, err)
		} else if !res.Split || res.Primary+res.Residual != 100 || res.Residual == 0 {
			t.Errorf("CheckSplitAtFractionSucceedsAndConsistent(%d, %v) = %+v, want a split of 100 records", c.readBefore, c.fraction, res)
		}
	}

	// After 90 records, fraction 0.1 is consumed.
	res, err := testutil.CheckSplitAtFractionFails(ctx, src, 90, 0.1, nil)
	if want := (testutil.SplitResult{Primary: 100}); err != nil || res != want {
		t.Errorf("CheckSplitAtFractionFails(90, 0.1) = %+v, %v; want %+v, nil", res, err, want)
	}
	_, err = testutil.CheckSplitAtFractionSucceedsAndConsistent(ctx, src, 90, 0.1, nil)
	if err == nil || !strings.Contains(err.Error(), "was refused (position already consumed)") {
		t.Errorf("CheckSplitAtFractionSucceedsAndConsistent(90, 0.1) = %v, want a refused split", err)
	}
	_, err = testutil.CheckSplitAtFractionFails(ctx, src, 10, 0.5, nil)
	if err == nil || !strings.Contains(err.Error(), "want a refusal") {
		t.Errorf("CheckSplitAtFractionFails(10, 0.5) = %v, want an error for the split that succeeded", err)
	}
	if res, err := testutil.CheckSplitAtFraction(ctx, src, 101, 0.5, testutil.MustBeConsistentIfSucceeds, nil); err == nil {
		t.Errorf("CheckSplitAtFraction(101 of 100 records) = %+v, nil; want an error", res)
	}

	stats, err := testutil.CheckSplitAtFractionBinary(ctx, src, 10, 0.5, 0.8, nil)
	if err != nil {
		t.Fatalf("CheckSplitAtFractionBinary(10, 0.5, 0.8) = %v", err)
	}
	if len(stats.SuccessfulFractions) == 0 || len(stats.NonTrivialFractions) == 0 {
		t.Errorf("CheckSplitAtFractionBinary(10, 0.5, 0.8) = %+v, want successful and non-trivial fractions", stats)
	}
	for _, f := range stats.SuccessfulFractions {
		if f < 0.5 || f > 0.8 {
			t.Errorf("CheckSplitAtFractionBinary(10, 0.5, 0.8) split at %v, outside [0.5, 0.8]", f)
		}
	}
	if _, err := testutil.CheckSplitAtFractionBinary(ctx, src, 10, 0.8, 0.5, nil); err == nil {
		t.Error("CheckSplitAtFractionBinary(10, 0.8, 0.5) = nil, want an error for left > right")
	}
}

func TestExhaustiveStatistics(t *testing.T) {
	var src source.Bounded[string, int64] = &lineSource{Lines: lines(20)}
	stats, err := testutil.CheckSplitAtFractionExhaustive(t.Context(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !stats.Exhaustive || stats.Records != 20 || len(stats.ReadBefore) != 20 || len(stats.Fractions) != 20 {
		t.Errorf("stats = %+v, want every number of records of 20 read exhaustively", stats)
	}
	// An Offset tracker does not split before the first claim, as in Beam.
	if got := stats.Fractions[0].SuccessfulFractions; len(got) != 0 {
		t.Errorf("splits before reading anything succeeded at %v, want none", got)
	}
	for i := 1; i < 20; i++ {
		if len(stats.Fractions[i].NonTrivialFractions) == 0 {
			t.Errorf("no non-trivial split after reading %d records", i)
		}
	}
	if stats.ConcurrentTrials == 0 || stats.ConcurrentSplits == 0 || stats.ConcurrentSplits == stats.ConcurrentTrials {
		t.Errorf("concurrent trials %d, won by the split %d: want both outcomes", stats.ConcurrentTrials, stats.ConcurrentSplits)
	}
	if stats.ConcurrentCapped {
		t.Errorf("the concurrent trials hit a cap: %+v", stats)
	}

	// The same seed gives the same sample.
	big := &lineSource{Lines: lines(60)}
	opts := &testutil.Options[string]{Seed: 3, SkipConcurrent: true}
	a, err := testutil.CheckSplitAtFractionExhaustive[string, int64](t.Context(), big, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := testutil.CheckSplitAtFractionExhaustive[string, int64](t.Context(), big, opts)
	if a.Exhaustive || len(a.ReadBefore) != 16 || a.ConcurrentTrials != 0 {
		t.Errorf("stats = %+v, want 16 sampled reads and no concurrent trials", a)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two checks with seed 3 differ (-first +second):\n%s", diff)
	}
}

func TestExhaustiveIsNotVacuous(t *testing.T) {
	cases := []struct {
		name string
		src  source.Bounded[string, int64]
		want string
	}{
		{"an empty source", &lineSource{}, "reads 0 records from [0, 0); splitting needs at least 2"},
		{"a source of one record", &lineSource{Lines: lines(1)}, "reads 1 record from [0, 7); splitting needs at least 2"},
		{"a source that never splits", &lineSource{Lines: lines(5), Unsplittable: true}, "completed vacuously: none of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := testutil.CheckSplitAtFractionExhaustive(t.Context(), c.src, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("CheckSplitAtFractionExhaustive() = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestExhaustiveStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var src source.Bounded[string, int64] = &lineSource{Lines: lines(20)}
	// Cancel after the first read of the check.
	calls := 0
	src = &cancelAfter{src, func() {
		if calls++; calls == 2 {
			cancel()
		}
	}}
	_, err := testutil.CheckSplitAtFractionExhaustive(ctx, src, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("CheckSplitAtFractionExhaustive() = %v, want context.Canceled", err)
	}
}

type cancelAfter struct {
	source.Bounded[string, int64]
	onRead func()
}

func (s *cancelAfter) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	s.onRead()
	return s.Bounded.Read(ctx, rt)
}

// sharedCursor keeps its read position in the source, so two reads at
// once get in each other's way.
type sharedCursor struct {
	lineSource
	next int
}

func (s *sharedCursor) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		off := s.offsets()
		for s.next = s.firstAt(off, rt.StartPosition()); s.next < len(s.Lines); s.next++ {
			if ok, err := rt.TryClaim(off[s.next]); err != nil || !ok {
				return
			}
			if !yield(s.Lines[s.next], nil) {
				return
			}
		}
	}
}

func TestReentrantReads(t *testing.T) {
	var src source.Bounded[string, int64] = &lineSource{Lines: lines(10), Block: 2}
	if err := testutil.CheckReentrantReads(t.Context(), src, nil); err != nil {
		t.Errorf("CheckReentrantReads(correct source) = %v", err)
	}
	src = &sharedCursor{lineSource: lineSource{Lines: lines(10)}}
	err := testutil.CheckReentrantReads(t.Context(), src, nil)
	want := "testutil: a read of [0, 70) interrupted at record #1 by a second read returned 1 record, want 10"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("CheckReentrantReads(shared cursor) = %v\nwant an error starting %q", err, want)
	}
	if err := testutil.CheckReentrantReads[string, int64](t.Context(), &lineSource{Lines: lines(1)}, nil); err == nil {
		t.Error("CheckReentrantReads(1 record) = nil, want an error")
	}
}

func TestSourcesEqualReference(t *testing.T) {
	ctx := t.Context()
	ls := &lineSource{Lines: lines(10)}
	bundle := func(start, stop int64) source.Bundle[string, int64] {
		return source.Bundle[string, int64]{Weight: float64(stop - start), Source: ls, Start: start, Stop: stop}
	}
	cases := []struct {
		name    string
		bundles []source.Bundle[string, int64]
		want    []string // parts of the error; none for success
	}{
		{"bundles covering the range", []source.Bundle[string, int64]{bundle(0, 30), bundle(30, 70)}, nil},
		{"bundles in another order", []source.Bundle[string, int64]{bundle(30, 70), bundle(0, 30)}, nil},
		{"bundles that overlap", []source.Bundle[string, int64]{bundle(0, 30), bundle(25, 70)}, []string{
			"testutil: 2 bundles read 11 records, the reference [0, 70) reads 10 records",
			`unexpected or duplicated 1 record:`,
			`"line 4" read by bundle 0 [0, 30), bundle 1 [25, 70)`,
		}},
		{"bundles with a gap", []source.Bundle[string, int64]{bundle(0, 30), bundle(40, 70)}, []string{
			`missing 1 record: "line 5" (record #5, at position 35)`,
		}},
		{"a bundle without a source", []source.Bundle[string, int64]{bundle(0, 30), {Start: 30, Stop: 70}}, []string{
			"bundle 1 of 2 has a nil Source",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := testutil.CheckSourcesEqualReference[string, int64](ctx, ls, c.bundles, nil)
			if len(c.want) == 0 {
				if err != nil {
					t.Errorf("CheckSourcesEqualReference() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckSourcesEqualReference() = nil, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckSourcesEqualReference() = %v\nwant an error containing %q", err, w)
				}
			}
		})
	}
}

func TestBundleSource(t *testing.T) {
	ctx := t.Context()
	ls := &lineSource{Lines: lines(10)}
	b := source.Bundle[string, int64]{Weight: 35, Source: ls, Start: 35, Stop: 70}
	src := testutil.BundleSource(b)
	if start, stop := src.DefaultRange(); start != 35 || stop != 70 {
		t.Errorf("DefaultRange() = %d, %d; want 35, 70", start, stop)
	}
	got, err := testutil.ReadAll(ctx, src)
	if diff := cmp.Diff(lines(10)[5:], got); err != nil || diff != "" {
		t.Errorf("ReadAll() = %v (-want +got):\n%s", err, diff)
	}
	bs, err := src.Split(ctx, 1)
	if err != nil || len(bs) != 1 || bs[0].Start != 35 || bs[0].Stop != 70 || bs[0].Source != src {
		t.Errorf("Split(1) = %+v, %v; want the bundle itself", bs, err)
	}
	if size, err := src.EstimateSize(ctx); size != 35 || err != nil {
		t.Errorf("EstimateSize() = %d, %v; want 35, nil", size, err)
	}
	if _, err := testutil.CheckSplitAtFractionExhaustive(ctx, src, nil); err != nil {
		t.Errorf("CheckSplitAtFractionExhaustive(BundleSource) = %v", err)
	}
}

// record has an unexported field, which cmp cannot compare without help.
type record struct {
	Name string
	seq  int
}

// recordSource reads records made from lines.
type recordSource struct{ lineSource }

func (s *recordSource) Split(ctx context.Context, size int64) ([]source.Bundle[record, int64], error) {
	return []source.Bundle[record, int64]{{Weight: 1, Source: s, Start: 0, Stop: 1 << 40}}, nil
}

func (s *recordSource) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[record, error] {
	return func(yield func(record, error) bool) {
		for l, err := range s.lineSource.Read(ctx, rt) {
			if !yield(record{Name: l, seq: len(l)}, err) {
				return
			}
		}
	}
}

func TestRecordComparison(t *testing.T) {
	ctx := t.Context()
	var src source.Bounded[record, int64] = &recordSource{lineSource{Lines: lines(5)}}
	_, err := testutil.CheckSplitAtFractionExhaustive(ctx, src, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot be compared with cmp.Equal") || !strings.Contains(err.Error(), "Options.Cmp") {
		t.Errorf("CheckSplitAtFractionExhaustive(unexported fields) = %v, want an error asking for cmp options", err)
	}
	opts := &testutil.Options[record]{Cmp: []cmp.Option{cmp.AllowUnexported(record{})}}
	if _, err := testutil.CheckSplitAtFractionExhaustive(ctx, src, opts); err != nil {
		t.Errorf("CheckSplitAtFractionExhaustive(AllowUnexported) = %v", err)
	}
	bs, _ := src.Split(ctx, 1)
	if err := testutil.CheckSourcesEqualReference(ctx, src, bs, opts); err != nil {
		t.Errorf("CheckSourcesEqualReference(AllowUnexported) = %v", err)
	}

	// Byte-string records need cmp; Less makes multisets fast.
	var bsrc source.Bounded[[]byte, int64] = &bytesSource{lineSource{Lines: lines(8)}}
	less := &testutil.Options[[]byte]{Less: func(a, b []byte) bool { return bytes.Compare(a, b) < 0 }}
	for _, o := range []*testutil.Options[[]byte]{nil, less} {
		if err := testutil.CheckSourcesEqualReference(ctx, bsrc, []source.Bundle[[]byte, int64]{
			{Source: bsrc, Start: 28, Stop: 56}, {Source: bsrc, Start: 0, Stop: 28}, {Source: bsrc, Start: 56, Stop: 56},
		}, o); err != nil {
			t.Errorf("CheckSourcesEqualReference(reordered bundles, Less set %v) = %v", o != nil, err)
		}
		err := testutil.CheckSourcesEqualReference(ctx, bsrc, []source.Bundle[[]byte, int64]{
			{Source: bsrc, Start: 28, Stop: 56}, {Source: bsrc, Start: 0, Stop: 35},
		}, o)
		if err == nil || !strings.Contains(err.Error(), `"line 4" read by bundle 0 [28, 56), bundle 1 [0, 35)`) {
			t.Errorf("CheckSourcesEqualReference(overlapping bundles, Less set %v) = %v, want the duplicate named", o != nil, err)
		}
	}
}

type bytesSource struct{ lineSource }

func (s *bytesSource) Split(ctx context.Context, size int64) ([]source.Bundle[[]byte, int64], error) {
	return []source.Bundle[[]byte, int64]{{Weight: 1, Source: s, Start: 0, Stop: 1 << 40}}, nil
}

func (s *bytesSource) Read(ctx context.Context, rt rangetracker.RangeTracker[int64]) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for l, err := range s.lineSource.Read(ctx, rt) {
			if !yield([]byte(l), err) {
				return
			}
		}
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[testutil.Outcome]string{
		testutil.MustSucceedAndBeConsistent: "MustSucceedAndBeConsistent",
		testutil.MustFail:                   "MustFail",
		testutil.MustBeConsistentIfSucceeds: "MustBeConsistentIfSucceeds",
		testutil.Outcome(9):                 "Outcome(9)",
	} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}
