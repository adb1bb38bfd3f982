package rangetrackertest

import (
	"math"
	"slices"

	"github.com/beamgo-dev/beamgo/rangetracker"
)

// CheckClaims checks the claim rules: claims of records inside the range
// succeed, and keep StartPosition and StopPosition; a claim at or past the
// stop returns false and ends the range; a claim before the start, a claim
// that goes backwards and a repeated claim are errors that leave the tracker
// as it was; an empty range has nothing to claim.
func CheckClaims[P any](h Harness[P]) error {
	f := &failures{check: "claims"}
	if err := h.validate(); err != nil {
		return err
	}
	recs := h.records()
	expectClaim := func(rt rangetracker.RangeTracker[P], p P, want bool, why string) {
		ok, err := rt.TryClaim(p)
		if ok != want || err != nil {
			f.add("%s: TryClaim(%s) = %v, %v; want %v, nil", why, fmtPos(p), ok, err, want)
		}
	}
	expectErr := func(rt rangetracker.RangeTracker[P], p P, why string) {
		if ok, err := rt.TryClaim(p); err == nil {
			f.add("%s: TryClaim(%s) = %v, nil; want an error", why, fmtPos(p), ok)
		}
	}

	rt := h.fresh()
	if got := rt.StartPosition(); !h.eq(got, h.start()) {
		f.add("StartPosition() = %s, want %s", fmtPos(got), fmtPos(h.start()))
	}
	for _, r := range recs {
		expectClaim(rt, r, true, "record inside the range")
	}
	if got := rt.StopPosition(); !h.eq(got, h.stop()) {
		f.add("StopPosition() after claims = %s, want %s", fmtPos(got), fmtPos(h.stop()))
	}
	expectClaim(rt, h.stop(), false, "claim at the stop")
	expectErr(rt, h.stop(), "claim repeating a failed claim")
	expectClaim(rt, h.after(), false, "claim after the range ended")
	expectErr(rt, recs[len(recs)-1], "claim going back after the range ended")

	rt = h.fresh()
	expectErr(rt, h.before(), "claim before the start")
	expectClaim(rt, recs[0], true, "first claim after an erroneous one")

	rt = h.fresh()
	expectClaim(rt, recs[1], true, "first claim")
	expectErr(rt, recs[0], "claim going backwards")
	expectErr(rt, recs[1], "repeated claim of a split point")
	expectClaim(rt, recs[2], true, "claim after erroneous ones")

	rt = h.NewTracker(h.start(), h.start())
	expectClaim(rt, h.start(), false, "claim in an empty range")
	if got := rt.FractionConsumed(); got != 0 {
		f.add("FractionConsumed() of an empty range = %v, want 0", got)
	}
	return f.err()
}

// CheckNonSplitPoints checks SetCurrentPosition: the first record must be a
// split point; positions may repeat but not decrease, and may pass the stop;
// a split point may share the position of a non-split-point record.
func CheckNonSplitPoints[P any](h Harness[P]) error {
	f := &failures{check: "non-split-point records"}
	if err := h.validate(); err != nil {
		return err
	}
	recs := h.records()
	rt := h.fresh()
	if err := rt.SetCurrentPosition(recs[0]); err == nil {
		f.add("SetCurrentPosition(%s) before any claim = nil, want an error", fmtPos(recs[0]))
	}
	if ok, err := rt.TryClaim(recs[0]); !ok || err != nil {
		f.add("TryClaim(%s) = %v, %v; want true, nil", fmtPos(recs[0]), ok, err)
	}
	for _, p := range []P{recs[0], recs[1], recs[1]} {
		if err := rt.SetCurrentPosition(p); err != nil {
			f.add("SetCurrentPosition(%s) = %v, want nil", fmtPos(p), err)
		}
	}
	if err := rt.SetCurrentPosition(recs[0]); err == nil {
		f.add("SetCurrentPosition(%s) after SetCurrentPosition(%s) = nil, want an error", fmtPos(recs[0]), fmtPos(recs[1]))
	}
	if ok, err := rt.TryClaim(recs[0]); err == nil {
		f.add("TryClaim(%s) after SetCurrentPosition(%s) = %v, nil; want an error", fmtPos(recs[0]), fmtPos(recs[1]), ok)
	}
	if ok, err := rt.TryClaim(recs[1]); !ok || err != nil {
		f.add("TryClaim(%s) after SetCurrentPosition(%s) = %v, %v; want true, nil", fmtPos(recs[1]), fmtPos(recs[1]), ok, err)
	}
	if err := rt.SetCurrentPosition(h.after()); err != nil {
		f.add("SetCurrentPosition(%s) past the stop = %v, want nil", fmtPos(h.after()), err)
	}
	if got := rt.FractionConsumed(); got != 1 {
		f.add("FractionConsumed() after a record past the stop = %v, want 1", got)
	}
	if ok, err := rt.TryClaim(h.stop()); ok || err == nil {
		f.add("TryClaim(%s) after SetCurrentPosition(%s) = %v, %v; want an error", fmtPos(h.stop()), fmtPos(h.after()), ok, err)
	}
	return f.err()
}

// candidates returns positions to split at: every harness position and the
// positions at fractions 0, 1/16, ..., 1 of the range.
func (h Harness[P]) candidates() []P {
	cs := slices.Clone(h.Positions)
	rt := h.fresh()
	for i := 0; i <= 16; i++ {
		if p, err := rt.PositionAtFraction(float64(i) / 16); err == nil {
			cs = append(cs, p)
		}
	}
	return cs
}

// CheckSplits checks splits after each number of claimed records at every
// candidate position (each harness position and positions at fractions of
// the range): a split happens exactly when it is valid (the tracker is
// splittable, the position is after the last record and strictly inside
// (start, stop), and something was claimed or the tracker splits unstarted
// ranges); a split sets the stop and reports the fraction of its position;
// a refused split changes nothing; a second, smaller split also works; and
// the primary read to its end plus each residual read from its split
// position give every record exactly once.
func CheckSplits[P any](h Harness[P], caps Capabilities) error {
	f := &failures{check: "splits"}
	if err := h.validate(); err != nil {
		return err
	}
	recs := h.records()
	for k := 0; k <= len(recs) && !f.full(); k++ {
		for _, q := range h.candidates() {
			checkSplitAfter(h, caps, f, k, q)
		}
	}
	return f.err()
}

func checkSplitAfter[P any](h Harness[P], caps Capabilities, f *failures, k int, q P) {
	recs := h.records()
	rt := h.fresh()
	for _, r := range recs[:k] {
		if ok, err := rt.TryClaim(r); !ok || err != nil {
			f.add("TryClaim(%s) = %v, %v; want true, nil", fmtPos(r), ok, err)
			return
		}
	}
	valid := caps.Splittable && h.Compare(q, h.start()) > 0 && h.Compare(q, h.stop()) < 0 &&
		(k > 0 && h.Compare(q, recs[k-1]) > 0 || k == 0 && caps.SplitBeforeFirstClaim)
	pos, frac, ok := rt.TrySplit(q)
	if ok != valid {
		f.add("after claiming %d records, TrySplit(%s) = %s, %v, %v; want ok %v", k, fmtPos(q), fmtPos(pos), frac, ok, valid)
		return
	}
	if !ok {
		if got := rt.StopPosition(); !h.eq(got, h.stop()) {
			f.add("after a refused TrySplit(%s), StopPosition() = %s, want %s", fmtPos(q), fmtPos(got), fmtPos(h.stop()))
		}
		got, err := h.readRest(rt, k)
		if err != nil || len(got) != len(recs)-k {
			f.add("after a refused TrySplit(%s), the reader claimed %d more of %d records (error %v)", fmtPos(q), len(got), len(recs)-k, err)
		}
		return
	}
	splits := []P{pos}
	if k > 0 && h.Compare(pos, recs[k-1]) <= 0 || h.Compare(pos, h.start()) <= 0 || h.Compare(pos, h.stop()) >= 0 {
		f.add("after claiming %d records, TrySplit(%s) = %s: want a position after the last record and inside the range", k, fmtPos(q), fmtPos(pos))
		return
	}
	if got := rt.StopPosition(); !h.eq(got, pos) {
		f.add("after TrySplit(%s) = %s, StopPosition() = %s", fmtPos(q), fmtPos(pos), fmtPos(got))
	}
	checkSplitFraction(h, caps, f, pos, h.stop(), frac)
	if _, _, again := rt.TrySplit(pos); again {
		f.add("TrySplit(%s) at the new stop succeeded", fmtPos(pos))
	}
	// A second split, at a record between the last one claimed (or the
	// start) and the first split's position, must work too.
	if k > 0 || caps.SplitBeforeFirstClaim {
		lower := h.start()
		if k > 0 {
			lower = recs[k-1]
		}
		var between []P
		for _, r := range recs {
			if h.Compare(r, lower) > 0 && h.Compare(r, pos) < 0 {
				between = append(between, r)
			}
		}
		if len(between) > 0 {
			p2 := between[len(between)/2]
			pos2, frac2, ok2 := rt.TrySplit(p2)
			if !ok2 {
				f.add("after claiming %d records and TrySplit(%s), TrySplit(%s) was refused, want a second split", k, fmtPos(pos), fmtPos(p2))
				return
			}
			checkSplitFraction(h, caps, f, pos2, pos, frac2)
			splits = append(splits, pos2)
		}
	}
	// Read the primary to its end and each residual from its split position;
	// every record must come out exactly once.
	primary, err := h.readRest(rt, k)
	if err != nil {
		f.add("reading the primary after TrySplit(%s): %v", fmtPos(pos), err)
		return
	}
	got := append(slices.Clone(recs[:k]), primary...)
	slices.Reverse(splits) // ascending
	for i, s := range splits {
		to := h.stop()
		if i+1 < len(splits) {
			to = splits[i+1]
		}
		res, err := h.readRange(s, to)
		if err != nil {
			f.add("reading the residual [%s, %s): %v", fmtPos(s), fmtPos(to), err)
			return
		}
		got = append(got, res...)
	}
	if !slices.EqualFunc(got, recs, h.eq) {
		f.add("after claiming %d records and splitting at %s, primary and residuals read %s, want %s", k, fmtPositions(splits), fmtPositions(got), fmtPositions(recs))
	}
}

// checkSplitFraction checks that a split at pos of [start, stop) reported
// the fraction of pos in that range.
func checkSplitFraction[P any](h Harness[P], caps Capabilities, f *failures, pos, stop P, frac float64) {
	want, err := h.fractionOf(pos, stop)
	if err != nil {
		f.add("measuring the fraction of split position %s: %v", fmtPos(pos), err)
		return
	}
	if !(frac >= 0 && frac <= 1) || math.Abs(frac-want) > caps.tolerance() {
		f.add("TrySplit(%s) of [%s, %s) reported fraction %v, want %v within %v", fmtPos(pos), fmtPos(h.start()), fmtPos(stop), frac, want, caps.tolerance())
	}
}

// CheckSplitPoints checks SplitPoints: consumed is the number of successful
// claims minus one (0 before two), remaining is SplitPointsUnknown without a
// callback and the callback's answer plus one with it, the callback sees the
// current stop, and failed claims count for nothing. An unsplittable tracker
// must always report (0, 1).
func CheckSplitPoints[P any](h Harness[P], caps Capabilities) error {
	f := &failures{check: "split points"}
	if err := h.validate(); err != nil {
		return err
	}
	recs := h.records()
	rt := h.fresh()
	want := func(consumed, remaining int64, when string) {
		if !caps.Splittable {
			consumed, remaining = 0, 1
		}
		if c, r := rt.SplitPoints(); c != consumed || r != remaining {
			f.add("SplitPoints() %s = (%d, %d), want (%d, %d)", when, c, r, consumed, remaining)
		}
	}
	want(0, rangetracker.SplitPointsUnknown, "before any claim, without a callback")
	var seen P
	unclaimed := int64(7)
	rt.SetSplitPointsUnclaimedCallback(func(stop P) int64 { seen = stop; return unclaimed })
	want(0, 8, "before any claim")
	for i, r := range recs[:len(recs)-1] {
		rt.TryClaim(r)
		want(int64(i), 8, "after "+fmtPos(i+1)+" claims")
	}
	if caps.Splittable {
		if !h.eq(seen, h.stop()) {
			f.add("split points callback called with stop %s, want %s", fmtPos(seen), fmtPos(h.stop()))
		}
		last := recs[len(recs)-1]
		if _, _, ok := rt.TrySplit(last); ok {
			rt.SplitPoints()
			if !h.eq(seen, last) {
				f.add("after TrySplit(%s), split points callback called with stop %s", fmtPos(last), fmtPos(seen))
			}
		} else {
			f.add("TrySplit(%s) after claiming the record before it was refused", fmtPos(last))
		}
	}
	n := int64(len(recs) - 2)
	rt.TryClaim(h.after())
	want(n, 8, "after a failed claim")
	unclaimed = rangetracker.SplitPointsUnknown
	want(n, rangetracker.SplitPointsUnknown, "when the callback does not know")
	return f.err()
}

// CheckFractionConsumed checks that FractionConsumed is 0 before the first
// claim, stays within [0, 1] and never decreases as records are claimed and
// the range is split, and is 1 once a record lies past the stop.
func CheckFractionConsumed[P any](h Harness[P]) error {
	f := &failures{check: "fraction consumed"}
	if err := h.validate(); err != nil {
		return err
	}
	recs := h.records()
	rt := h.fresh()
	prev := rt.FractionConsumed()
	if prev != 0 {
		f.add("FractionConsumed() before any claim = %v, want 0", prev)
	}
	observe := func(when string) {
		got := rt.FractionConsumed()
		if !(got >= prev && got <= 1) {
			f.add("FractionConsumed() %s = %v, want in [%v, 1]", when, got, prev)
		}
		prev = got
	}
	for i, r := range recs {
		rt.TryClaim(r)
		observe("after claiming " + fmtPos(r))
		if i == len(recs)/2 {
			rt.TrySplit(recs[len(recs)-2])
			observe("after a split")
		}
	}
	rt.SetCurrentPosition(h.after())
	if got := rt.FractionConsumed(); got != 1 {
		f.add("FractionConsumed() after a record past the stop = %v, want 1", got)
	}
	return f.err()
}

// CheckPositionAtFraction checks that PositionAtFraction maps 0 to the start
// and 1 to the stop, rejects fractions outside [0, 1], is monotonic, and is
// the inverse of FractionConsumed within the tolerance: claiming the
// position at f consumes f of the range.
func CheckPositionAtFraction[P any](h Harness[P], caps Capabilities) error {
	f := &failures{check: "position at fraction"}
	if err := h.validate(); err != nil {
		return err
	}
	rt := h.fresh()
	for _, bad := range []float64{-0.5, 1.5, math.NaN()} {
		if p, err := rt.PositionAtFraction(bad); err == nil {
			f.add("PositionAtFraction(%v) = %s, nil; want an error", bad, fmtPos(p))
		}
	}
	if p, err := rt.PositionAtFraction(1); err != nil || !h.eq(p, h.stop()) {
		f.add("PositionAtFraction(1) = %s, %v; want %s", fmtPos(p), err, fmtPos(h.stop()))
	}
	prev := h.start()
	const steps = 64
	for i := 0; i < steps; i++ {
		frac := float64(i) / steps
		p, err := rt.PositionAtFraction(frac)
		if err != nil {
			f.add("PositionAtFraction(%v) = %v", frac, err)
			continue
		}
		if i == 0 && !h.eq(p, h.start()) {
			f.add("PositionAtFraction(0) = %s, want %s", fmtPos(p), fmtPos(h.start()))
		}
		if h.Compare(p, prev) < 0 || h.Compare(p, h.stop()) > 0 {
			f.add("PositionAtFraction(%v) = %s, want in [%s, %s]", frac, fmtPos(p), fmtPos(prev), fmtPos(h.stop()))
		}
		prev = p
		if h.Compare(p, h.stop()) == 0 {
			continue
		}
		got, err := h.fractionOf(p, h.stop())
		if err != nil {
			f.add("PositionAtFraction(%v) = %s: %v", frac, fmtPos(p), err)
		} else if math.Abs(got-frac) > caps.tolerance() {
			f.add("FractionConsumed() after claiming PositionAtFraction(%v) = %s is %v, want within %v", frac, fmtPos(p), got, caps.tolerance())
		}
	}
	return f.err()
}

func fmtPositions[P any](ps []P) string {
	s := "["
	for i, p := range ps {
		if i > 0 {
			s += " "
		}
		s += fmtPos(p)
	}
	return s + "]"
}
