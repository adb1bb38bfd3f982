package sdk

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// Stream-stream joins (Spark's, Flink's interval join; reference §7.2):
// the batch joins (InnerJoin, ...) group whole windows, so in the global
// window of a stream they would never emit. An interval join instead
// matches each element with the other side's elements of the same key
// whose timestamps lie within a bound of its own, as they arrive, and
// keeps each element in state only until the watermark says that no
// element it could match can still come on time; an event-time timer then
// evicts it. A left outer join emits a left element that never matched,
// with HasRight false, exactly once, when it is evicted; a right outer
// join does the same for right elements (HasLeft false), and a full outer
// join for both.
//
// Matches are decided per element, not per key (a key-level "has any
// match" check emits wrong NULL rows once the matching right element has
// been evicted: SPARK-26154). An element that arrives after the watermark
// passed its bound (late data) is still matched against what is in state,
// which may already have been evicted: it then finds no match, as with
// Spark, where rows behind the watermark may be dropped.

// JoinInterval is the time condition of an interval join: a right element
// at time tr matches a left element at time tl when
// tl+Lower <= tr <= tl+Upper (Flink's between(lower, upper)). A click
// within an hour after its impression is {Lower: 0, Upper: time.Hour}; a
// symmetric bound of 5 seconds is {-5 * time.Second, 5 * time.Second}.
type JoinInterval struct {
	Lower, Upper time.Duration
}

// IntervalJoin joins left and right by key and time: it emits a Joined
// with both sides for every left and right element of the same key (and
// window) whose timestamps satisfy within, as soon as the second of the
// two has arrived, with that element's timestamp. Each element is kept in
// state until the input watermark passes the last time at which a match
// could still arrive. Both inputs need the same windowing and a key type
// with a deterministic coder.
func IntervalJoin[K, L, R any](s Scope, left PCollection[KV[K, L]], right PCollection[KV[K, R]], within JoinInterval, opts ...Option) PCollection[KV[K, Joined[L, R]]] {
	return intervalJoin(s, "IntervalJoin", left, right, within, false, false, opts)
}

// LeftOuterIntervalJoin is IntervalJoin that also emits each left element
// that matched no right element, with HasRight false, once, when the
// watermark passes its time plus within.Upper, with the left element's
// timestamp (which its timer holds the output watermark at meanwhile, so
// the row is not late downstream).
func LeftOuterIntervalJoin[K, L, R any](s Scope, left PCollection[KV[K, L]], right PCollection[KV[K, R]], within JoinInterval, opts ...Option) PCollection[KV[K, Joined[L, R]]] {
	return intervalJoin(s, "LeftOuterIntervalJoin", left, right, within, true, false, opts)
}

// RightOuterIntervalJoin is IntervalJoin that also emits each right
// element that matched no left element, with HasLeft false, once, when the
// watermark passes its time minus within.Lower (the last time a left
// element could match it), with the right element's timestamp.
func RightOuterIntervalJoin[K, L, R any](s Scope, left PCollection[KV[K, L]], right PCollection[KV[K, R]], within JoinInterval, opts ...Option) PCollection[KV[K, Joined[L, R]]] {
	return intervalJoin(s, "RightOuterIntervalJoin", left, right, within, false, true, opts)
}

// FullOuterIntervalJoin is IntervalJoin that also emits every element of
// either side that matched nothing, once, as LeftOuterIntervalJoin and
// RightOuterIntervalJoin do (Spark's full outer stream-stream join).
func FullOuterIntervalJoin[K, L, R any](s Scope, left PCollection[KV[K, L]], right PCollection[KV[K, R]], within JoinInterval, opts ...Option) PCollection[KV[K, Joined[L, R]]] {
	return intervalJoin(s, "FullOuterIntervalJoin", left, right, within, true, true, opts)
}

func intervalJoin[K, L, R any](s Scope, kind string, left PCollection[KV[K, L]], right PCollection[KV[K, R]], within JoinInterval, leftOuter, rightOuter bool, opts []Option) PCollection[KV[K, Joined[L, R]]] {
	o := collect(opts)
	name := pick(o.name, kind)
	if within.Lower > within.Upper {
		s.fail(name, "the join interval's lower bound %v is after its upper bound %v", within.Lower, within.Upper)
		return PCollection[KV[K, Joined[L, R]]]{}
	}
	cs := s.Scope(name)
	fn := &intervalJoinFn[K, L, R]{Lower: within.Lower.Milliseconds(), Upper: within.Upper.Milliseconds(), LeftOuter: leftOuter, RightOuter: rightOuter}
	return ParDo(cs, DoFn[KV[K, Either[L, R]], KV[K, Joined[L, R]]](fn), Connect(cs, left, right), Name("Join"))
}

// joinRow is an element kept by an interval join: ID tells the elements
// of an outer side apart for the matched set.
type joinRow[T any] struct {
	ID    int64
	Value T
}

// intervalJoinFn keeps each side's elements in an ordered list by
// timestamp, so that matching reads only the range within the bound, and
// evicts them with event-time timers. Each timer tag is a side and an
// eviction time, so that one firing evicts exactly the elements of that
// time. Bounds are in milliseconds.
type intervalJoinFn[K, L, R any] struct {
	Lower, Upper          int64
	LeftOuter, RightOuter bool

	Left  OrderedListState[joinRow[L]]
	Right OrderedListState[joinRow[R]]
	// NextID numbers the elements of the outer sides (one sequence for
	// both); Matched holds the IDs of those that matched.
	NextID  ValueState[int64]
	Matched SetState[int64]
	Evict   EventTimeTimerFamily
}

const millisecond = window.Time(1)

func (f *intervalJoinFn[K, L, R]) ProcessElement(ctx context.Context, kv KV[K, Either[L, R]], emit func(KV[K, Joined[L, R]])) error {
	if kv.Value.Which == 1 {
		return f.processRight(ctx, kv.Key, kv.Value.B, emit)
	}
	return f.processLeft(ctx, kv.Key, kv.Value.A, emit)
}

// processLeft emits the matches of a left element at t, with right
// elements in [t+Lower, t+Upper], and keeps it until the watermark passes
// t+Upper.
func (f *intervalJoinFn[K, L, R]) processLeft(ctx context.Context, key K, l L, emit func(KV[K, Joined[L, R]])) error {
	t := eventTime(ctx)
	rights, err := f.Right.ReadRange(ctx, (t + window.Time(f.Lower)).ToTime(), (t + window.Time(f.Upper) + millisecond).ToTime())
	if err != nil {
		return err
	}
	for _, r := range rights {
		emit(KV[K, Joined[L, R]]{Key: key, Value: Joined[L, R]{Left: l, Right: r.Value.Value, HasLeft: true, HasRight: true}})
		if f.RightOuter {
			if err := f.Matched.Add(ctx, r.Value.ID); err != nil {
				return err
			}
		}
	}
	row := joinRow[L]{Value: l}
	if row.ID, err = f.track(ctx, f.LeftOuter, len(rights) > 0); err != nil {
		return err
	}
	if err := f.Left.Add(ctx, t.ToTime(), row); err != nil {
		return err
	}
	return f.evictAt(ctx, 'l', t, f.Upper, f.LeftOuter)
}

// track numbers a new element of an outer side and records whether it
// matched already; it returns 0 for a side that is not outer.
func (f *intervalJoinFn[K, L, R]) track(ctx context.Context, outer, matched bool) (int64, error) {
	if !outer {
		return 0, nil
	}
	id, err := f.newID(ctx)
	if err != nil || !matched {
		return id, err
	}
	return id, f.Matched.Add(ctx, id)
}

// processRight emits the matches of a right element at t, with left
// elements in [t-Upper, t-Lower], marks them matched in an outer join,
// and keeps it until the watermark passes t-Lower.
func (f *intervalJoinFn[K, L, R]) processRight(ctx context.Context, key K, r R, emit func(KV[K, Joined[L, R]])) error {
	t := eventTime(ctx)
	lefts, err := f.Left.ReadRange(ctx, (t - window.Time(f.Upper)).ToTime(), (t - window.Time(f.Lower) + millisecond).ToTime())
	if err != nil {
		return err
	}
	for _, l := range lefts {
		emit(KV[K, Joined[L, R]]{Key: key, Value: Joined[L, R]{Left: l.Value.Value, Right: r, HasLeft: true, HasRight: true}})
		if f.LeftOuter {
			if err := f.Matched.Add(ctx, l.Value.ID); err != nil {
				return err
			}
		}
	}
	row := joinRow[R]{Value: r}
	if row.ID, err = f.track(ctx, f.RightOuter, len(lefts) > 0); err != nil {
		return err
	}
	if err := f.Right.Add(ctx, t.ToTime(), row); err != nil {
		return err
	}
	return f.evictAt(ctx, 'r', t, -f.Lower, f.RightOuter)
}

func (f *intervalJoinFn[K, L, R]) newID(ctx context.Context) (int64, error) {
	id, _, err := f.NextID.Read(ctx)
	if err != nil {
		return 0, err
	}
	return id, f.NextID.Write(ctx, id+1)
}

// evictAt sets the timer that evicts the side's elements at t: once the
// watermark passes t+after (never before t itself, where the timer's
// output timestamp may not be), capped at the window's expiry, where the
// state goes anyway. An outer side emits its unmatched elements at their
// own timestamp, so its timer holds the output watermark there.
func (f *intervalJoinFn[K, L, R]) evictAt(ctx context.Context, side byte, t window.Time, after int64, outer bool) error {
	var opts []TimerOption
	if outer {
		opts = append(opts, WithOutputTimestamp(t.ToTime()))
	}
	fire := t + window.Time(max(after, 0))
	if after > 0 && fire < t { // overflow near the end of time
		fire = window.MaxTime
	}
	if gc := expiry(ctx); fire > gc {
		fire = gc
	}
	return f.Evict.Set(ctx, timerTag(side, t), fire.ToTime(), opts...)
}

// OnTimer evicts the elements of one side and time, and on an outer side
// emits those that never matched.
func (f *intervalJoinFn[K, L, R]) OnTimer(ctx context.Context, ft FiredTimer, emit func(KV[K, Joined[L, R]])) error {
	side, at, err := parseTimerTag("interval join", ft.Tag)
	if err != nil {
		return err
	}
	from, to := at.ToTime(), (at + millisecond).ToTime()
	if side == 'r' {
		if f.RightOuter {
			err := emitUnmatched(ctx, f.Right, f.Matched, from, to, func(key K, r R) {
				emit(KV[K, Joined[L, R]]{Key: key, Value: Joined[L, R]{Right: r, HasRight: true}})
			})
			if err != nil {
				return err
			}
		}
		return f.Right.ClearRange(ctx, from, to)
	}
	if f.LeftOuter {
		err := emitUnmatched(ctx, f.Left, f.Matched, from, to, func(key K, l L) {
			emit(KV[K, Joined[L, R]]{Key: key, Value: Joined[L, R]{Left: l, HasLeft: true}})
		})
		if err != nil {
			return err
		}
	}
	return f.Left.ClearRange(ctx, from, to)
}

// timerTag is the tag of a join's timer of kind (a byte) at t: the
// joins' timers of one family tell their purposes and times apart by it.
func timerTag(kind byte, t window.Time) string {
	return string(kind) + strconv.FormatInt(int64(t), 10)
}

// parseTimerTag returns the kind and time of a timerTag; join names the
// join in its error.
func parseTimerTag(join, tag string) (byte, window.Time, error) {
	if len(tag) < 2 {
		return 0, 0, fmt.Errorf("sdk: %s: unknown timer tag %q", join, tag)
	}
	ms, err := strconv.ParseInt(tag[1:], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("sdk: %s: timer tag %q: %w", join, tag, err)
	}
	return tag[0], window.Time(ms), nil
}

// emitUnmatched hands the elements of side in [from, to) that never
// matched to emit, and forgets the matched ones.
func emitUnmatched[K, T any](ctx context.Context, side OrderedListState[joinRow[T]], matchedIDs SetState[int64], from, to time.Time, emit func(K, T)) error {
	rows, err := side.ReadRange(ctx, from, to)
	if err != nil || len(rows) == 0 {
		return err
	}
	key, err := CurrentKey[K](ctx)
	if err != nil {
		return err
	}
	for _, row := range rows {
		matched, err := matchedIDs.Contains(ctx, row.Value.ID)
		if err != nil {
			return err
		}
		if matched {
			if err := matchedIDs.Remove(ctx, row.Value.ID); err != nil {
				return err
			}
			continue
		}
		emit(key, row.Value.Value)
	}
	return nil
}

// eventTime returns the timestamp of the element being processed.
func eventTime(ctx context.Context) window.Time {
	if ec := operator.FromContext(ctx); ec != nil {
		return ec.Timestamp
	}
	return window.MinTime
}

// expiry returns the garbage-collection time of the window being
// processed, after which no timer of it may fire.
func expiry(ctx context.Context) window.Time {
	if ec := operator.FromContext(ctx); ec != nil && ec.Keyed != nil {
		return ec.Keyed.GCTime(ec.Window)
	}
	return window.EndOfGlobalWindow
}
