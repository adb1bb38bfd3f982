package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/testutil/internal/recordcmp"
)

// Outcome is what a split-at-fraction check expects of the split. It is a
// plain value.
type Outcome int

const (
	// MustSucceedAndBeConsistent expects TrySplit to succeed, and primary
	// and residual to read the records of the unsplit range.
	MustSucceedAndBeConsistent Outcome = iota + 1
	// MustFail expects TrySplit to be refused, and the reader to read every
	// record.
	MustFail
	// MustBeConsistentIfSucceeds expects consistent reads whether or not
	// the split happens.
	MustBeConsistentIfSucceeds
)

// String returns the name of o.
func (o Outcome) String() string {
	switch o {
	case MustSucceedAndBeConsistent:
		return "MustSucceedAndBeConsistent"
	case MustFail:
		return "MustFail"
	case MustBeConsistentIfSucceeds:
		return "MustBeConsistentIfSucceeds"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// SplitResult is what a split-at-fraction check saw: whether the split
// happened, and how many records the primary and the residual read. Without
// a split the primary is the whole range and the residual is 0. It is a
// plain value.
type SplitResult struct {
	Split    bool
	Primary  int
	Residual int
}

// nonTrivial reports a split that left records to the residual.
func (r SplitResult) nonTrivial() bool { return r.Split && r.Residual > 0 }

// SplitFractionStatistics lists the fractions at which a search split: all
// successful splits, and those that left records to the residual. It is a
// plain value.
type SplitFractionStatistics struct {
	SuccessfulFractions []float64
	NonTrivialFractions []float64
}

func (s *SplitFractionStatistics) add(f float64, r SplitResult) {
	if r.Split {
		s.SuccessfulFractions = append(s.SuccessfulFractions, f)
	}
	if r.nonTrivial() {
		s.NonTrivialFractions = append(s.NonTrivialFractions, f)
	}
}

// CheckSplitAtFraction reads readBefore records of src's default range,
// splits its tracker at PositionAtFraction(fraction), reads the rest, and
// checks the outcome want and that the reads are consistent:
//   - a successful TrySplit sets the tracker's stop to the split position
//     and reports a fraction in [0, 1];
//   - the reader returns exactly the records of a new read of the primary
//     range [start, split position);
//   - the primary and then the residual [split position, old stop) read
//     the records of the unsplit range, in order: none lost, none twice;
//   - without a split, the reader returns every record.
//
// A PositionAtFraction error counts as a refused split, as it does for a
// runner. The error says what went wrong: which record was lost or read
// twice and where, a split at a position the reader had consumed, a reader
// that did not stop at the new stop, with a (-want +got) diff.
func CheckSplitAtFraction[T, P any](ctx context.Context, src source.Bounded[T, P], readBefore int, fraction float64, want Outcome, opts *Options[T]) (SplitResult, error) {
	t, err := newTarget(ctx, src, opts)
	if err != nil {
		return SplitResult{}, err
	}
	if readBefore < 0 || readBefore > len(t.expected) {
		return SplitResult{}, fmt.Errorf("testutil: cannot read %d records before splitting a source of %s", readBefore, recordcmp.Plural(len(t.expected), "record"))
	}
	return t.splitAt(readBefore, fraction, want)
}

// CheckSplitAtFractionSucceedsAndConsistent is CheckSplitAtFraction with
// MustSucceedAndBeConsistent.
func CheckSplitAtFractionSucceedsAndConsistent[T, P any](ctx context.Context, src source.Bounded[T, P], readBefore int, fraction float64, opts *Options[T]) (SplitResult, error) {
	return CheckSplitAtFraction(ctx, src, readBefore, fraction, MustSucceedAndBeConsistent, opts)
}

// CheckSplitAtFractionFails is CheckSplitAtFraction with MustFail.
func CheckSplitAtFractionFails[T, P any](ctx context.Context, src source.Bounded[T, P], readBefore int, fraction float64, opts *Options[T]) (SplitResult, error) {
	return CheckSplitAtFraction(ctx, src, readBefore, fraction, MustFail, opts)
}

// CheckSplitAtFractionBinary checks splits after reading readBefore records
// at fractions between left and right, 0 <= left < right <= 1, by
// bisection: it checks both ends and the middle (each with
// MustBeConsistentIfSucceeds), and goes on in each half whose ends split
// into primaries of different sizes (and always in the upper half while it
// ends at 1), until the halves are narrower than 0.001. It returns the
// fractions at which splits succeeded.
func CheckSplitAtFractionBinary[T, P any](ctx context.Context, src source.Bounded[T, P], readBefore int, left, right float64, opts *Options[T]) (SplitFractionStatistics, error) {
	var stats SplitFractionStatistics
	if !(0 <= left && left < right && right <= 1) {
		return stats, fmt.Errorf("testutil: CheckSplitAtFractionBinary(%v, %v): want 0 <= left < right <= 1", left, right)
	}
	t, err := newTarget(ctx, src, opts)
	if err != nil {
		return stats, err
	}
	if readBefore < 0 || readBefore > len(t.expected) {
		return stats, fmt.Errorf("testutil: cannot read %d records before splitting a source of %s", readBefore, recordcmp.Plural(len(t.expected), "record"))
	}
	s := &search[T, P]{t: t, readBefore: readBefore, stats: &stats}
	err = s.bisect(left, right, exhaustiveWidth)
	return stats, err
}

// exhaustiveWidth is where Beam's bisection stops.
const exhaustiveWidth = 0.001

// target is a range of a source under check, with its records.
type target[T, P any] struct {
	ctx         context.Context
	src         source.Bounded[T, P]
	start, stop P
	expected    []T
	positions   []P // of expected
	cmp         *recordcmp.Comparer[T]
	opts        *Options[T]
}

func newTarget[T, P any](ctx context.Context, src source.Bounded[T, P], opts *Options[T]) (*target[T, P], error) {
	if src == nil {
		return nil, errors.New("testutil: nil source")
	}
	opts = opts.orDefault()
	c, err := recordcmp.New(opts.Cmp, opts.Less)
	if err != nil {
		return nil, fmt.Errorf("testutil: %w (Options.Cmp)", err)
	}
	start, stop := src.DefaultRange()
	recs, pos, err := readRange(ctx, src, start, stop)
	if err != nil {
		return nil, err
	}
	return &target[T, P]{ctx: ctx, src: src, start: start, stop: stop, expected: recs, positions: pos, cmp: c, opts: opts}, nil
}

func (t *target[T, P]) rangeString() string { return rangeString(t.start, t.stop) }

func rangeString(start, stop any) string {
	return fmt.Sprintf("[%s, %s)", recordcmp.Pos(start), recordcmp.Pos(stop))
}

// splitAt checks one split of a new reader after readBefore records.
func (t *target[T, P]) splitAt(readBefore int, f float64, want Outcome) (SplitResult, error) {
	if err := t.ctx.Err(); err != nil {
		return SplitResult{}, err
	}
	r, err := openReader(t.ctx, t.src, t.start, t.stop)
	if err != nil {
		return SplitResult{}, err
	}
	defer r.close()
	stopBefore := r.rt.StopPosition()
	if err := r.take(readBefore); err != nil {
		return SplitResult{}, err
	}
	desc := fmt.Sprintf("testutil: after reading %s of %s, split at fraction %v", recordcmp.Plural(readBefore, "record"), t.rangeString(), f)
	pos, perr := r.rt.PositionAtFraction(f)
	var s splitAttempt[P]
	if perr == nil {
		desc += fmt.Sprintf(" (position %s)", recordcmp.Pos(pos))
		s.pos, s.frac, s.why = rangetracker.TrySplitReason(r.rt, pos)
		s.ok = s.why == rangetracker.Accepted
	}
	switch {
	case want == MustSucceedAndBeConsistent && perr != nil:
		return SplitResult{}, fmt.Errorf("%s: want a split, but PositionAtFraction failed: %w", desc, perr)
	case want == MustSucceedAndBeConsistent && !s.ok:
		return SplitResult{}, fmt.Errorf("%s: want a split, but TrySplit(%s) was refused (%v)", desc, recordcmp.Pos(pos), s.why)
	case want == MustFail && s.ok:
		return SplitResult{}, fmt.Errorf("%s: TrySplit(%s) = %s, %v, true; want a refusal", desc, recordcmp.Pos(pos), recordcmp.Pos(s.pos), s.frac)
	}
	if s.ok {
		if err := checkSplitState(r.rt, s, stopBefore); err != nil {
			return SplitResult{}, fmt.Errorf("%s: %w", desc, err)
		}
	}
	if err := r.drain(); err != nil {
		return SplitResult{}, fmt.Errorf("%s: reading the rest of the primary: %w", desc, err)
	}
	return t.verify(r, readBefore, s, stopBefore, desc)
}

// splitAttempt is the outcome of one TrySplit.
type splitAttempt[P any] struct {
	pos  P
	frac float64
	why  rangetracker.Refusal
	ok   bool
}

// checkSplitState checks the tracker right after a successful split.
func checkSplitState[P any](rt rangetracker.RangeTracker[P], s splitAttempt[P], stopBefore P) error {
	stop := rt.StopPosition()
	switch {
	case !posEqual(stop, s.pos):
		return fmt.Errorf("after TrySplit succeeded at %s, StopPosition() = %s, want the split position", recordcmp.Pos(s.pos), recordcmp.Pos(stop))
	case posEqual(s.pos, stopBefore):
		return fmt.Errorf("TrySplit succeeded at %s, the stop of the range: the residual is empty by construction and the split must be refused", recordcmp.Pos(s.pos))
	case !(s.frac >= 0 && s.frac <= 1):
		return fmt.Errorf("TrySplit(%s) reported fraction %v, want one in [0, 1]", recordcmp.Pos(s.pos), s.frac)
	}
	return nil
}

// posEqual compares positions: byte strings by content (nil equals empty),
// everything else with reflect.DeepEqual.
func posEqual[P any](a, b P) bool {
	if x, ok := any(a).([]byte); ok {
		return bytes.Equal(x, any(b).([]byte))
	}
	return reflect.DeepEqual(a, b)
}

// verify checks the reads after a split attempt on r, which has read to
// the end of its (possibly shortened) range.
func (t *target[T, P]) verify(r *reader[T, P], readBefore int, s splitAttempt[P], stopBefore P, desc string) (SplitResult, error) {
	primaryStop := r.rt.StopPosition()
	primary, _, err := readRange(t.ctx, t.src, t.start, primaryStop)
	if err != nil {
		return SplitResult{}, fmt.Errorf("%s: reading the primary %s anew: %w", desc, rangeString(t.start, primaryStop), err)
	}
	var residual []T
	if s.ok {
		var resPos []P
		residual, resPos, err = readRange(t.ctx, t.src, s.pos, stopBefore)
		if err != nil {
			return SplitResult{}, fmt.Errorf("%s: reading the residual %s: %w", desc, rangeString(s.pos, stopBefore), err)
		}
		if msg := consumedSplit(r, readBefore, s.pos, residual, resPos); msg != "" {
			return SplitResult{}, fmt.Errorf("%s: %s", desc, msg)
		}
	}
	if !t.cmp.EqualSlices(primary, r.records) {
		return SplitResult{}, fmt.Errorf("%s: %s\n(-new read of the primary +split reader):\n%s",
			desc, t.explainReader(r, primary, primaryStop, s.ok), t.cmp.Diff(primary, r.records))
	}
	if !s.ok {
		if !t.cmp.EqualSlices(t.expected, r.records) {
			return SplitResult{}, fmt.Errorf("%s: no split happened, but the reader returned %s, want the %s of the range\n(-want +got):\n%s",
				desc, recordcmp.Plural(len(r.records), "record"), recordcmp.Plural(len(t.expected), "record"), t.cmp.Diff(t.expected, r.records))
		}
		return SplitResult{Primary: len(primary)}, nil
	}
	total := append(append([]T(nil), primary...), residual...)
	if !t.cmp.EqualSlices(t.expected, total) {
		return SplitResult{}, fmt.Errorf("%s: the primary %s (%s) and the residual %s (%s) %s\n(-unsplit +primary then residual):\n%s",
			desc, rangeString(t.start, primaryStop), recordcmp.Plural(len(primary), "record"), rangeString(s.pos, stopBefore), recordcmp.Plural(len(residual), "record"),
			t.explainSplit(primary, residual, s.pos), t.cmp.Diff(t.expected, total))
	}
	return SplitResult{Split: true, Primary: len(primary), Residual: len(residual)}, nil
}

// consumedSplit explains a split at a position the reader had consumed
// before the split: the split position, or the position of the residual's
// first record, is that of a record the reader had returned.
func consumedSplit[T, P any](r *reader[T, P], readBefore int, splitPos P, residual []T, resPos []P) string {
	before := r.positions[:min(readBefore, len(r.positions))]
	for i := len(before) - 1; i >= 0; i-- {
		if posEqual(splitPos, before[i]) {
			return fmt.Sprintf("the tracker accepted a split at %s, the position of record #%d (%s), which the reader had returned before the split: a split at a consumed position must be refused, or the record is read twice",
				recordcmp.Pos(splitPos), i, recordcmp.Record(r.records[i]))
		}
	}
	if len(resPos) == 0 {
		return ""
	}
	for i := len(before) - 1; i >= 0; i-- {
		if posEqual(resPos[0], before[i]) {
			return fmt.Sprintf("the tracker accepted a split at %s, before record #%d (%s) at %s, which the reader had returned before the split and the residual reads again: a split at a consumed position must be refused",
				recordcmp.Pos(splitPos), i, recordcmp.Record(residual[0]), recordcmp.Pos(before[i]))
		}
	}
	return ""
}

// explainReader says how the split reader's records differ from a new read
// of the primary.
func (t *target[T, P]) explainReader(r *reader[T, P], primary []T, primaryStop P, split bool) string {
	got := r.records
	if len(got) > len(primary) && t.cmp.EqualSlices(primary, got[:len(primary)]) {
		extra := got[len(primary):]
		if split {
			return fmt.Sprintf("after the split the reader returned %s past the new stop %s, starting with %s at position %s: Read must stop when TryClaim fails, and claim every record a read could start at (a split point)",
				recordcmp.Plural(len(extra), "record"), recordcmp.Pos(primaryStop), recordcmp.Record(extra[0]), recordcmp.Pos(r.positions[len(primary)]))
		}
		return fmt.Sprintf("the reader returned %s more than a new read of the same range", recordcmp.Plural(len(extra), "record"))
	}
	if len(got) < len(primary) && t.cmp.EqualSlices(got, primary[:len(got)]) {
		return fmt.Sprintf("the reader stopped after %s, but a new read of the primary %s returns %d: the reader lost %s at its end, starting with %s",
			recordcmp.Plural(len(got), "record"), rangeString(t.start, primaryStop), len(primary), recordcmp.Plural(len(primary)-len(got), "record"), recordcmp.Record(primary[len(got)]))
	}
	return fmt.Sprintf("the reader returned %s, a new read of the primary %s returns %s: they must be the same", recordcmp.Plural(len(got), "record"), rangeString(t.start, primaryStop), recordcmp.Plural(len(primary), "record"))
}

// explainSplit says how primary and residual together differ from the
// unsplit range: records lost or read twice, and where.
func (t *target[T, P]) explainSplit(primary, residual []T, splitPos P) string {
	total := append(append([]T(nil), primary...), residual...)
	missing, extra := t.cmp.MultisetDiff(t.expected, total)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("lost %s: %s", recordcmp.Plural(len(missing), "record"), t.describe(missing, &splitPos)))
	}
	if len(extra) > 0 {
		where := ""
		if t.cmp.IndexOf(primary, extra[0], 0) >= 0 && t.cmp.IndexOf(residual, extra[0], 0) >= 0 {
			where = " (by both the primary and the residual)"
		}
		parts = append(parts, fmt.Sprintf("read %s twice%s: %s", recordcmp.Plural(len(extra), "record"), where, t.describe(extra, &splitPos)))
	}
	if len(parts) == 0 {
		return "read the right records in the wrong order"
	}
	return strings.Join(parts, "; ")
}

// describe names records and, where the unsplit read has them, their
// index and position, marking the one at the split position (if any).
func (t *target[T, P]) describe(rs []T, splitPos *P) string {
	const max = 4
	var b strings.Builder
	for i, rec := range rs {
		if i == max {
			fmt.Fprintf(&b, ", and %d more", len(rs)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(recordcmp.Record(rec))
		if k := t.cmp.IndexOf(t.expected, rec, 0); k >= 0 {
			p := t.positions[k]
			fmt.Fprintf(&b, " (record #%d, at position %s", k, recordcmp.Pos(p))
			if splitPos != nil && posEqual(p, *splitPos) {
				b.WriteString(", the split position")
			}
			b.WriteByte(')')
		}
	}
	return b.String()
}
