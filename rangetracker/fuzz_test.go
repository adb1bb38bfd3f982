package rangetracker_test

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/rangetracker"
)

// model is a plain sequential statement of the tracker semantics, written
// from the specification rather than from the implementation: it keeps the
// history of calls and answers every question from that history ("no earlier
// attempt is at or after p", "no record returned so far is after p"). The
// fuzz targets drive a tracker and a model with the same random calls and
// fail on the first difference.
type model[P any] struct {
	cmp      func(a, b P) int
	fraction func(pos, start, stop P) float64
	position func(f float64, start, stop P) (P, error)
	next     func(P) P // nil: no checkpoints

	infinite       bool // the stop is OffsetInfinity: no splits at all
	unbounded      bool // the stop is the end of the position space
	splitUnstarted bool

	start    P
	stops    []P   // the original stop, then each split position
	attempts []P   // every TryClaim position accepted as a call
	records  []P   // every record returned: successful claims and SetCurrentPosition
	claims   int64 // successful claims
	callback func(P) int64
}

func (m *model[P]) stop() P { return m.stops[len(m.stops)-1] }

func (m *model[P]) beyondStop(p P) bool { return !m.unbounded && m.cmp(p, m.stop()) >= 0 }

func (m *model[P]) anyAttemptAtOrAfter(p P) bool {
	for _, a := range m.attempts {
		if m.cmp(a, p) >= 0 {
			return true
		}
	}
	return false
}

func (m *model[P]) anyRecordAfter(p P, orAt bool) bool {
	for _, r := range m.records {
		if c := m.cmp(r, p); c > 0 || orAt && c == 0 {
			return true
		}
	}
	return false
}

func (m *model[P]) tryClaim(p P) (bool, error) {
	if m.cmp(p, m.start) < 0 || m.anyAttemptAtOrAfter(p) || m.anyRecordAfter(p, false) {
		return false, errors.New("misuse")
	}
	m.attempts = append(m.attempts, p)
	if m.beyondStop(p) {
		return false, nil
	}
	m.records = append(m.records, p)
	m.claims++
	return true, nil
}

func (m *model[P]) setCurrentPosition(p P) error {
	if m.claims == 0 || m.anyRecordAfter(p, false) {
		return errors.New("misuse")
	}
	m.records = append(m.records, p)
	return nil
}

func (m *model[P]) trySplit(p P) (P, float64, rangetracker.Refusal) {
	var zero P
	switch {
	case m.infinite:
		return zero, 0, rangetracker.RefusedInfinite
	case m.claims == 0 && !m.splitUnstarted:
		return zero, 0, rangetracker.RefusedUnstarted
	case m.anyRecordAfter(p, true):
		return zero, 0, rangetracker.RefusedConsumed
	case m.cmp(p, m.start) <= 0 || m.beyondStop(p):
		return zero, 0, rangetracker.RefusedOutOfRange
	}
	f := m.fraction(p, m.start, m.stop())
	m.stops = append(m.stops, p)
	m.unbounded = false
	return p, f, rangetracker.Accepted
}

func (m *model[P]) tryCheckpoint() (P, float64, rangetracker.Refusal) {
	var zero P
	switch {
	case m.infinite:
		return zero, 0, rangetracker.RefusedInfinite
	case m.claims == 0:
		return zero, 0, rangetracker.RefusedUnstarted
	case m.next == nil:
		return zero, 0, rangetracker.RefusedNoSuccessor
	}
	return m.trySplit(m.next(m.records[len(m.records)-1]))
}

func (m *model[P]) fractionConsumed() float64 {
	if m.claims == 0 {
		return 0
	}
	f := m.fraction(m.records[len(m.records)-1], m.start, m.stop())
	return math.Max(0, math.Min(1, f))
}

func (m *model[P]) positionAtFraction(f float64) (P, error) {
	if f < 0 || f > 1 {
		var zero P
		return zero, errors.New("bad fraction")
	}
	return m.position(f, m.start, m.stop())
}

func (m *model[P]) splitPoints() (int64, int64) {
	consumed := max(m.claims-1, 0)
	if m.callback == nil {
		return consumed, -1
	}
	if n := m.callback(m.stop()); n >= 0 {
		return consumed, n + 1
	}
	return consumed, -1
}

// fuzzTracker is what the fuzz targets drive.
type fuzzTracker[P any] interface {
	rangetracker.RangeTracker[P]
	rangetracker.SplitExplainer[P]
	rangetracker.Checkpointer[P]
}

// drive decodes ops into calls, 4 bytes each (kind, two bytes of position,
// one of fraction), makes each call on rt and m, and returns the first
// difference. pos turns the two position bytes into a position.
func drive[P any](rt fuzzTracker[P], m *model[P], ops []byte, pos func(uint16) P, eq func(a, b P) bool) error {
	for i := 0; i+4 <= len(ops); i += 4 {
		kind, p, fb := ops[i]%9, pos(uint16(ops[i+1])<<8|uint16(ops[i+2])), ops[i+3]
		f := float64(fb) / 250
		if fb > 250 {
			f = -float64(fb - 250) // out of range
		}
		call := ""
		switch kind {
		case 0, 1:
			call = fmt.Sprintf("TryClaim(%v)", p)
			ok, err := rt.TryClaim(p)
			wok, werr := m.tryClaim(p)
			if ok != wok || (err != nil) != (werr != nil) || err != nil && !strings.HasPrefix(err.Error(), "rangetracker: ") {
				return fmt.Errorf("%s = %v, %v; model says %v, %v", call, ok, err, wok, werr)
			}
		case 2:
			call = fmt.Sprintf("SetCurrentPosition(%v)", p)
			err, werr := rt.SetCurrentPosition(p), m.setCurrentPosition(p)
			if (err != nil) != (werr != nil) || err != nil && !strings.HasPrefix(err.Error(), "rangetracker: ") {
				return fmt.Errorf("%s = %v; model says %v", call, err, werr)
			}
		case 3:
			call = fmt.Sprintf("TrySplitReason(%v)", p)
			got, gf, why := rt.TrySplitReason(p)
			want, wf, wwhy := m.trySplit(p)
			if why != wwhy || !eq(got, want) || gf != wf {
				return fmt.Errorf("%s = %v, %v, %q; model says %v, %v, %q", call, got, gf, why, want, wf, wwhy)
			}
		case 4:
			call = "TryCheckpoint()"
			got, gf, why := rt.TryCheckpoint()
			want, wf, wwhy := m.tryCheckpoint()
			if why != wwhy || !eq(got, want) || gf != wf {
				return fmt.Errorf("%s = %v, %v, %q; model says %v, %v, %q", call, got, gf, why, want, wf, wwhy)
			}
		case 5:
			call = "FractionConsumed()"
			if got, want := rt.FractionConsumed(), m.fractionConsumed(); got != want {
				return fmt.Errorf("%s = %v; model says %v", call, got, want)
			}
		case 6:
			call = fmt.Sprintf("PositionAtFraction(%v)", f)
			got, err := rt.PositionAtFraction(f)
			want, werr := m.positionAtFraction(f)
			if (err != nil) != (werr != nil) || err == nil && !eq(got, want) {
				return fmt.Errorf("%s = %v, %v; model says %v, %v", call, got, err, want, werr)
			}
		case 7:
			call = "SplitPoints()"
			c, r := rt.SplitPoints()
			wc, wr := m.splitPoints()
			if c != wc || r != wr {
				return fmt.Errorf("%s = (%d, %d); model says (%d, %d)", call, c, r, wc, wr)
			}
		case 8:
			// The callback's answer depends on the stop it is given, so a
			// wrong stop shows up as a wrong count.
			k := int64(fb%5) - 1
			cb := func(stop P) int64 {
				if k < 0 {
					return rangetracker.SplitPointsUnknown
				}
				return k + int64(len(fmt.Sprint(stop)))
			}
			call = fmt.Sprintf("SetSplitPointsUnclaimedCallback(%d)", k)
			rt.SetSplitPointsUnclaimedCallback(cb)
			m.callback = cb
		}
		if got, want := rt.StopPosition(), m.stop(); !eq(got, want) {
			return fmt.Errorf("after %s, StopPosition() = %v; model says %v", call, got, want)
		}
		if got := rt.StartPosition(); !eq(got, m.start) {
			return fmt.Errorf("after %s, StartPosition() = %v; model says %v", call, got, m.start)
		}
	}
	return nil
}

// Offsets in the fuzz targets stay far below 2^53, where Beam's float
// formulas are exact enough to serve as the model's.
func linearFraction(pos, start, stop int64) float64 {
	if start == stop {
		return 0
	}
	return float64(pos-start) / float64(stop-start)
}

func ceilPosition(f float64, start, stop int64) (int64, error) {
	return int64(math.Ceil(float64(start) + f*float64(stop-start))), nil
}

// beamOps are call sequences from Beam's tests, as fuzz seeds: kind, two
// position bytes (offset from start + 0x100), fraction byte.
var beamOps = [][]byte{
	{0, 1, 10, 0, 0, 1, 40, 0, 0, 1, 83, 0, 0, 1, 110, 0, 5, 0, 0, 0},                           // sparse claims
	{0, 1, 10, 0, 3, 1, 9, 0, 3, 1, 10, 0, 3, 1, 100, 0, 3, 1, 70, 0, 3, 1, 50, 0, 0, 1, 49, 0}, // splits
	{2, 1, 20, 0, 0, 1, 20, 0, 2, 1, 25, 0, 0, 1, 24, 0, 0, 1, 25, 0, 4, 0, 0, 0},               // non-split points
	{8, 0, 0, 3, 7, 0, 0, 0, 0, 1, 20, 0, 0, 1, 40, 0, 7, 0, 0, 0, 3, 1, 100, 0, 7, 0, 0, 0},    // split points
	{6, 0, 0, 0, 6, 0, 0, 125, 6, 0, 0, 250, 6, 0, 0, 255, 5, 0, 0, 0},                          // positions
}

func FuzzOffsetAgainstModel(f *testing.F) {
	for _, ops := range beamOps {
		f.Add(int64(100), uint32(100), ops)
		f.Add(int64(0), uint32(0), ops)
		f.Add(int64(-50), uint32(math.MaxUint32), ops) // infinite
	}
	f.Fuzz(func(t *testing.T, start int64, size uint32, ops []byte) {
		start %= 1 << 40
		stop := start + int64(size%2000)
		if size == math.MaxUint32 {
			stop = rangetracker.OffsetInfinity
		}
		m := &model[int64]{
			cmp: cmp.Compare[int64], fraction: func(p, s, e int64) float64 {
				if e == rangetracker.OffsetInfinity {
					return 0
				}
				return linearFraction(p, s, e)
			},
			position: func(f float64, s, e int64) (int64, error) {
				if e == rangetracker.OffsetInfinity {
					return 0, errors.New("infinite")
				}
				return ceilPosition(f, s, e)
			},
			next:     func(p int64) int64 { return p + 1 },
			infinite: stop == rangetracker.OffsetInfinity,
			start:    start, stops: []int64{stop},
		}
		pos := func(b uint16) int64 { return start + int64(b) - 0x100 }
		if err := drive(rangetracker.NewOffset(start, stop), m, ops, pos, func(a, b int64) bool { return a == b }); err != nil {
			t.Fatalf("NewOffset(%d, %d): %v", start, stop, err)
		}
	})
}

func FuzzOrderedAgainstModel(f *testing.F) {
	for _, ops := range beamOps {
		f.Add(int64(100), uint32(100), ops)
		f.Add(int64(7), uint32(0), ops)
	}
	f.Fuzz(func(t *testing.T, start int64, size uint32, ops []byte) {
		start %= 1 << 40
		stop := start + int64(size%2000)
		ord := rangetracker.Ordering[int64]{
			Compare:  cmp.Compare[int64],
			Fraction: linearFraction,
			Position: ceilPosition,
			Next:     func(p int64) int64 { return p + 1 },
		}
		m := &model[int64]{
			cmp: ord.Compare, fraction: linearFraction, position: ceilPosition, next: ord.Next,
			splitUnstarted: true, start: start, stops: []int64{stop},
		}
		pos := func(b uint16) int64 { return start + int64(b) - 0x100 }
		if err := drive(rangetracker.NewOrdered(start, stop, ord), m, ops, pos, func(a, b int64) bool { return a == b }); err != nil {
			t.Fatalf("NewOrdered(%d, %d): %v", start, stop, err)
		}
	})
}

func FuzzLexicographicKeyAgainstModel(f *testing.F) {
	for _, ops := range beamOps {
		f.Add([]byte("a"), []byte("c"), ops)
		f.Add([]byte(""), []byte(""), ops)
		f.Add([]byte("\x01\x00"), []byte(""), ops)
	}
	f.Fuzz(func(t *testing.T, start, stop, ops []byte) {
		if len(stop) > 0 && bytes.Compare(start, stop) > 0 {
			start, stop = stop, start
		}
		m := &model[[]byte]{
			cmp: bytes.Compare, fraction: rangetracker.KeyFraction, position: rangetracker.KeyAtFraction,
			next:           func(p []byte) []byte { return append(bytes.Clone(p), 0) },
			unbounded:      len(stop) == 0,
			splitUnstarted: true, start: bytes.Clone(start), stops: [][]byte{bytes.Clone(stop)},
		}
		// Keys near start: the top four bits say how much of start to
		// keep, then come one or two more bytes.
		pos := func(b uint16) []byte {
			keep := min(int(b>>12), len(start))
			k := append(bytes.Clone(start[:keep]), byte(b>>4))
			if low := b & 0xf; low != 0 {
				k = append(k, byte(low-1))
			}
			return k
		}
		if err := drive(rangetracker.NewLexicographicKey(start, stop), m, ops, pos, bytes.Equal); err != nil {
			t.Fatalf("NewLexicographicKey(%q, %q): %v", start, stop, err)
		}
	})
}

// keyResolution returns 1/D, where D is the number of distinct keys
// KeyAtFraction can produce between start and stop at the precision it uses
// for f: the round-trip error bound. It restates the precision rule of the
// package's mapping, as the error bound depends on it.
func keyResolution(f float64, start, stop []byte) float64 {
	prefix := 0
	if len(stop) == 0 {
		prefix = len(start) - len(bytes.TrimLeft(start, "\xff"))
	} else {
		for prefix < min(len(start), len(stop)) && start[prefix] == stop[prefix] {
			prefix++
		}
	}
	prec := prefix + int(-math.Log(f)/math.Log(256)) + 7
	toInt := func(k []byte) *big.Int {
		buf := make([]byte, prec)
		copy(buf, k)
		return new(big.Int).SetBytes(buf)
	}
	end := new(big.Int).Lsh(big.NewInt(1), uint(8*prec))
	if len(stop) > 0 {
		end = toInt(stop)
	}
	d, _ := new(big.Float).SetInt(end.Sub(end, toInt(start))).Float64()
	return 1 / d
}

// FuzzKeyFractionRoundTrip checks the key <-> fraction mapping: the key at a
// fraction lies in the range (strictly after start for f > 0), maps back to
// the fraction within the resolution of the range, and keys at larger
// fractions of the same magnitude are not smaller.
func FuzzKeyFractionRoundTrip(f *testing.F) {
	f.Add([]byte(""), []byte(""), uint64(1)<<62, uint64(1)<<63)
	f.Add([]byte("abc_abc"), []byte("abc_xyz"), uint64(12345), uint64(1)<<60)
	f.Add([]byte("\xff\xff\x80"), []byte(""), uint64(1)<<40, uint64(1)<<41)
	f.Add([]byte("fooa\xff\xff\xff\xff\xff\xff\xff\xff\xfe"), []byte("foob\x00\x00\x00\x00\x00\x00\x00\x00\x02"), uint64(1)<<63, uint64(3)<<62)
	f.Fuzz(func(t *testing.T, start, stop []byte, fbits1, fbits2 uint64) {
		if len(stop) > 0 {
			switch c := bytes.Compare(start, stop); {
			case c == 0:
				return
			case c > 0:
				start, stop = stop, start
			}
		}
		f1 := float64(fbits1>>11) / (1 << 53) // in [0, 1)
		f2 := float64(fbits2>>11) / (1 << 53)
		if f1 > f2 {
			f1, f2 = f2, f1
		}
		k1, err := rangetracker.KeyAtFraction(f1, start, stop)
		if err != nil {
			t.Fatalf("KeyAtFraction(%v, %q, %q) = %v", f1, start, stop, err)
		}
		k2, _ := rangetracker.KeyAtFraction(f2, start, stop)
		for _, c := range []struct {
			f   float64
			key []byte
		}{{f1, k1}, {f2, k2}} {
			if bytes.Compare(c.key, start) < 0 || len(stop) > 0 && bytes.Compare(c.key, stop) > 0 {
				t.Fatalf("KeyAtFraction(%v, %q, %q) = %q, outside the range", c.f, start, stop, c.key)
			}
			if c.f > 0 && bytes.Compare(c.key, start) <= 0 {
				t.Fatalf("KeyAtFraction(%v, %q, %q) = %q, want a key after start", c.f, start, stop, c.key)
			}
			if c.f == 0 {
				continue
			}
			back := rangetracker.KeyFraction(c.key, start, stop)
			if tol := 4*keyResolution(c.f, start, stop) + 1e-12*c.f; math.Abs(back-c.f) > tol {
				t.Fatalf("KeyFraction(KeyAtFraction(%v, %q, %q) = %q) = %v, off by %v, more than %v", c.f, start, stop, c.key, back, back-c.f, tol)
			}
		}
		sameMagnitude := f1 > 0 && int(-math.Log(f1)/math.Log(256)) == int(-math.Log(f2)/math.Log(256))
		if sameMagnitude && bytes.Compare(k1, k2) > 0 {
			t.Fatalf("KeyAtFraction(%v) = %q > KeyAtFraction(%v) = %q in [%q, %q)", f1, k1, f2, k2, start, stop)
		}
		if got := rangetracker.KeyFraction(start, start, stop); len(start) > 0 && got != 0 {
			t.Fatalf("KeyFraction(start %q, %q, %q) = %v, want 0", start, start, stop, got)
		}
		// A stop that is start plus zero bytes is the same fraction, and
		// the range holds only start.
		sameFraction := bytes.Equal(bytes.TrimRight(start, "\x00"), bytes.TrimRight(stop, "\x00"))
		if got := rangetracker.KeyFraction(stop, start, stop); len(stop) > 0 && !sameFraction && got != 1 {
			t.Fatalf("KeyFraction(stop %q, %q, %q) = %v, want 1", stop, start, stop, got)
		}
	})
}
