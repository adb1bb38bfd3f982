package rangetracker

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
)

// LexicographicKey is a RangeTracker over byte-string keys in lexicographic
// order, like Beam's LexicographicKeyRangeTracker. An empty start is the
// beginning of the key space and an empty stop its end. Fractions treat a
// key as the base-256 fraction 0.k0k1k2... (see KeyFraction).
//
// It follows Ordered's rules: it splits before the first claim and splits a
// range with an empty stop. Keys passed in are copied, and keys returned are
// copies, so callers may reuse their buffers.
//
// A LexicographicKey is safe for concurrent use.
type LexicographicKey struct {
	c core[[]byte]
}

var _ RangeTracker[[]byte] = (*LexicographicKey)(nil)
var _ SplitExplainer[[]byte] = (*LexicographicKey)(nil)
var _ Checkpointer[[]byte] = (*LexicographicKey)(nil)

// keyOrdering orders keys lexicographically, with an empty stop as the end of
// the key space and key+"\x00" as the successor of key.
var keyOrdering = Ordering[[]byte]{
	Compare:   bytes.Compare,
	Fraction:  KeyFraction,
	Position:  KeyAtFraction,
	Unbounded: func(stop []byte) bool { return len(stop) == 0 },
	Next:      func(p []byte) []byte { return append(bytes.Clone(p), 0) },
}

// NewLexicographicKey returns a tracker for the keys [start, stop); an empty
// stop means the end of the key space. It panics if start > stop.
func NewLexicographicKey(start, stop []byte) *LexicographicKey {
	if len(stop) > 0 && bytes.Compare(start, stop) > 0 {
		panicf("rangetracker: NewLexicographicKey(%q, %q): start after stop", start, stop)
	}
	t := &LexicographicKey{c: core[[]byte]{ord: keyOrdering, splitUnstarted: true}}
	t.c.init(bytes.Clone(start), bytes.Clone(stop))
	return t
}

// StartPosition returns a copy of the inclusive start key.
func (t *LexicographicKey) StartPosition() []byte { return bytes.Clone(t.c.startPosition()) }

// StopPosition returns a copy of the exclusive stop key; empty means the end
// of the key space.
func (t *LexicographicKey) StopPosition() []byte { return bytes.Clone(t.c.stopPosition()) }

// TryClaim claims the split point at key p; see RangeTracker.
func (t *LexicographicKey) TryClaim(p []byte) (bool, error) { return t.c.tryClaim(bytes.Clone(p)) }

// SetCurrentPosition records a record at key p that is not a split point;
// see RangeTracker.
func (t *LexicographicKey) SetCurrentPosition(p []byte) error {
	return t.c.setCurrentPosition(bytes.Clone(p))
}

// PositionAtFraction returns KeyAtFraction(f, start, stop).
func (t *LexicographicKey) PositionAtFraction(f float64) ([]byte, error) {
	return t.c.positionAtFraction(f)
}

// TrySplit splits at key p if p is after the last record and inside
// (start, stop). The fraction is KeyFraction(p, start, stop) for the stop
// before the split.
func (t *LexicographicKey) TrySplit(p []byte) (splitPos []byte, fraction float64, ok bool) {
	pos, f, why := t.TrySplitReason(p)
	return pos, f, why == Accepted
}

// TrySplitReason is TrySplit, reporting why a split was refused.
func (t *LexicographicKey) TrySplitReason(p []byte) (splitPos []byte, fraction float64, why Refusal) {
	pos, f, why := t.c.trySplit(bytes.Clone(p))
	return bytes.Clone(pos), f, why
}

// TryCheckpoint splits at the successor of the last record's key (the key
// followed by a zero byte).
func (t *LexicographicKey) TryCheckpoint() (splitPos []byte, fraction float64, why Refusal) {
	pos, f, why := t.c.tryCheckpoint()
	return bytes.Clone(pos), f, why
}

// FractionConsumed returns KeyFraction of the last record's key, clamped to
// [0, 1]; 0 before the first claim.
func (t *LexicographicKey) FractionConsumed() float64 { return t.c.fractionConsumed() }

// SplitPoints returns the split points consumed and remaining; see
// RangeTracker.
func (t *LexicographicKey) SplitPoints() (consumed, remaining int64) { return t.c.splitPoints() }

// SetSplitPointsUnclaimedCallback installs the callback SplitPoints uses; it
// is given a copy of the stop key.
func (t *LexicographicKey) SetSplitPointsUnclaimedCallback(f func(stop []byte) int64) {
	if f == nil {
		t.c.setSplitPointsUnclaimedCallback(nil)
		return
	}
	t.c.setSplitPointsUnclaimedCallback(func(stop []byte) int64 { return f(bytes.Clone(stop)) })
}

// String describes the range and the reader's progress.
func (t *LexicographicKey) String() string { return t.c.string("LexicographicKey") }

// Key <-> fraction mapping.
//
// A key k0 k1 k2 ... is read as the base-256 fraction 0.k0k1k2..., so the
// empty key is 0 and the end of the key space is 1. Arithmetic is done on
// integers holding the first prec bytes of each key (padded with zeros), so
// that keys sharing a long prefix still get distinct fractions:
//   - KeyAtFraction uses prec = (common prefix of start and stop; with no
//     stop, the run of 0xff bytes starting start) + floor(-log256(f)) + 7,
//     i.e. about 53 bits of the fraction beyond the common prefix, more for
//     tiny fractions;
//   - KeyFraction uses prec = len(start) + 7, widened by the zero bytes that
//     follow start in key, so a key a tiny fraction past start still counts.
//
// The float arithmetic matches Beam's Python implementation (the integer
// width is converted to a correctly rounded float64 before multiplying or
// dividing), so the same keys come out; big.Float keeps it from overflowing
// where Python would raise. Beam's result is then kept inside [start, stop],
// which Python does not guarantee for keys with long runs of zero bytes.

// KeyFraction returns the fraction of the key range [start, stop) that lies
// before key; an empty stop is the end of the key space. It returns 0 for an
// empty key or an empty range, and values outside [0, 1] for keys outside the
// range.
func KeyFraction(key, start, stop []byte) float64 {
	if len(key) == 0 {
		return 0
	}
	prec := len(start) + 7
	if rest, ok := bytes.CutPrefix(key, start); ok {
		zeros := len(rest) - len(bytes.Trim(rest, "\x00"))
		prec = max(prec, len(start)+zeros+7)
	}
	istart, ikey, iend := keyInt(start, prec), keyInt(key, prec), keyEnd(stop, prec)
	den := new(big.Int).Sub(iend, istart)
	if den.Sign() == 0 {
		return 0
	}
	num := new(big.Int).Sub(ikey, istart)
	q := new(big.Float).SetPrec(53).Quo(float53(num), float53(den))
	f, _ := q.Float64()
	return f
}

// KeyAtFraction returns the key at fraction f, in [0, 1], of the key range
// [start, stop); an empty stop is the end of the key space. Fraction 0 gives
// start and 1 gives stop; any other fraction gives a key strictly inside the
// range when the precision allows one (otherwise the nearest end), with
// trailing zero bytes removed.
func KeyAtFraction(f float64, start, stop []byte) ([]byte, error) {
	if !(f >= 0 && f <= 1) {
		return nil, fmt.Errorf("rangetracker: KeyAtFraction(%v): fraction outside [0, 1]", f)
	}
	switch f {
	case 0:
		return bytes.Clone(start), nil
	case 1:
		return bytes.Clone(stop), nil
	}
	var prefix int
	if len(stop) == 0 {
		prefix = len(start) - len(bytes.TrimLeft(start, "\xff"))
	} else {
		prefix = commonPrefix(start, stop)
	}
	prec := prefix + int(-math.Log(f)/math.Log(256)) + 7
	istart, iend := keyInt(start, prec), keyEnd(stop, prec)
	diff := new(big.Int).Sub(iend, istart)
	step, _ := new(big.Float).SetPrec(53).Mul(float53(diff), big.NewFloat(f)).Int(nil)
	ikey := step.Add(step, istart)
	// Never return start or stop themselves for 0 < f < 1 if a key lies
	// between them at this precision.
	if ikey.Cmp(istart) <= 0 {
		ikey.Add(istart, big.NewInt(1))
	} else if ikey.Cmp(iend) >= 0 {
		ikey.Sub(iend, big.NewInt(1))
	}
	key := bytes.TrimRight(ikey.FillBytes(make([]byte, prec)), "\x00")
	if len(stop) > 0 && bytes.Compare(key, stop) > 0 {
		return bytes.Clone(stop), nil
	}
	return key, nil
}

// keyInt returns the first prec bytes of key, zero-padded, as a big-endian
// integer: 256^prec times the fraction 0.key.
func keyInt(key []byte, prec int) *big.Int {
	buf := make([]byte, prec)
	copy(buf, key)
	return new(big.Int).SetBytes(buf)
}

// keyEnd is keyInt for a stop key, where empty means 256^prec (fraction 1).
func keyEnd(stop []byte, prec int) *big.Int {
	if len(stop) == 0 {
		return new(big.Int).Lsh(big.NewInt(1), uint(8*prec))
	}
	return keyInt(stop, prec)
}

// float53 rounds x to the nearest float64-precision value (ties to even), as
// converting a Python int to float does, but without an exponent limit.
func float53(x *big.Int) *big.Float {
	return new(big.Float).SetPrec(53).SetMode(big.ToNearestEven).SetInt(x)
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
