package sdk

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// User state is declared as exported fields of a struct DoFn whose input is
// a KV: a field of type ValueState, BagState, CombiningState, MapState,
// SetState or OrderedListState is one state cell per key and window, named
// by the field. ParDo finds the fields, so there is nothing to register:
//
//	type countFn struct {
//		Count sdk.ValueState[int]
//	}
//
//	func (f *countFn) ProcessElement(ctx context.Context, kv sdk.KV[string, int], emit func(sdk.KV[string, int])) error {
//		n, _, err := f.Count.Read(ctx)
//		...
//		return f.Count.Write(ctx, n+1)
//	}
//
// The DoFn must be a pointer to a struct. State is read and written from
// ProcessElement, OnTimer and OnWindowExpiration only, and always means the
// state of the key and window being processed. Writes are visible to later
// reads at once; the runner makes them durable together with the bundle's
// outputs, so a bundle that fails leaves no trace in state. A window's state
// lives until the window is garbage-collected (its end plus the allowed
// lateness); state in the global window lives until the pipeline ends, so
// clean it up with a timer.

// stateCell is what every state type holds: its id, the field's name, set
// when the DoFn is given to ParDo.
type stateCell struct{ id string }

// stateDecl is implemented by the state types' pointers: declareState binds
// the field to id and describes it.
type stateDecl interface {
	declareState(id string) (graph.StateSpec, error)
}

// key returns the state access and key of the cell for the call ctx
// belongs to.
func (c stateCell) key(ctx context.Context, kind operator.StateKeyKind) (operator.StateAccess, *operator.StateKey, error) {
	ec := operator.FromContext(ctx)
	if c.id == "" {
		return nil, nil, fmt.Errorf("sdk: state used before ParDo bound it: declare it as an exported field of a pointer DoFn: %w", operator.ErrNoState)
	}
	if ec == nil || ec.Keyed == nil || ec.Env == nil || ec.Env.State == nil {
		return nil, nil, fmt.Errorf("sdk: state %q: %w", c.id, operator.ErrNoState)
	}
	// The key is the call context's, reused by the next state call: each
	// caller here is done with it before making another.
	return ec.Env.State, ec.Keyed.StateKey(kind, ec.Env.TransformID, c.id, ec.Window), nil
}

// decodeState decodes concatenated nested encodings of c.
func decodeState[T any](c coder.Coder[T], data []byte) ([]T, error) {
	var out []T
	for len(data) > 0 {
		v, n, err := c.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("sdk: decode state: %w", err)
		}
		out = append(out, v)
		data = data[n:]
	}
	return out, nil
}

func coderFor[T any](id, what string) (coder.Coder[T], error) {
	c, err := coder.Of[T]()
	if err != nil {
		return nil, fmt.Errorf("state %q: no coder for its %s: %w", id, what, err)
	}
	return c, nil
}

// ValueState is a single value per key and window (Beam's
// ReadModifyWriteState). Its zero value is ready to declare.
type ValueState[T any] struct {
	stateCell
	c coder.Coder[T]
}

func (s *ValueState[T]) declareState(id string) (graph.StateSpec, error) {
	c, err := coderFor[T](id, "value")
	s.id, s.c = id, c
	return graph.StateSpec{ID: id, Kind: graph.StateValue, Coder: coder.Erase(c)}, err
}

// Read returns the value, and false if none was written (or it was cleared).
func (s *ValueState[T]) Read(ctx context.Context) (T, bool, error) {
	var zero T
	sa, k, err := s.key(ctx, operator.BagUserState)
	if err != nil {
		return zero, false, err
	}
	data, err := operator.ReadAll(ctx, sa, k)
	if err != nil || len(data) == 0 {
		return zero, false, err
	}
	v, _, err := s.c.Decode(data)
	if err != nil {
		return zero, false, fmt.Errorf("sdk: decode value state %q: %w", s.id, err)
	}
	return v, true, nil
}

// Write replaces the value.
func (s *ValueState[T]) Write(ctx context.Context, v T) error {
	sa, k, err := s.key(ctx, operator.BagUserState)
	if err != nil {
		return err
	}
	if err := sa.Clear(ctx, k); err != nil {
		return err
	}
	return sa.Append(ctx, k, s.c.Encode(nil, v))
}

// Clear removes the value.
func (s *ValueState[T]) Clear(ctx context.Context) error {
	sa, k, err := s.key(ctx, operator.BagUserState)
	if err != nil {
		return err
	}
	return sa.Clear(ctx, k)
}

// BagState is an unordered collection of values per key and window, to
// which adding is blind (it reads nothing). Its zero value is ready to
// declare.
type BagState[T any] struct {
	stateCell
	c coder.Coder[T]
}

func (s *BagState[T]) declareState(id string) (graph.StateSpec, error) {
	c, err := coderFor[T](id, "elements")
	s.id, s.c = id, c
	return graph.StateSpec{ID: id, Kind: graph.StateBag, Coder: coder.Erase(c)}, err
}

// Add adds v to the bag.
func (s *BagState[T]) Add(ctx context.Context, v T) error {
	sa, k, err := s.key(ctx, operator.BagUserState)
	if err != nil {
		return err
	}
	return sa.Append(ctx, k, s.c.Encode(nil, v))
}

// Read returns the bag's values (nil if it is empty).
func (s *BagState[T]) Read(ctx context.Context) ([]T, error) {
	sa, k, err := s.key(ctx, operator.BagUserState)
	if err != nil {
		return nil, err
	}
	data, err := operator.ReadAll(ctx, sa, k)
	if err != nil {
		return nil, err
	}
	return decodeState(s.c, data)
}

// Clear empties the bag.
func (s *BagState[T]) Clear(ctx context.Context) error {
	sa, k, err := s.key(ctx, operator.BagUserState)
	if err != nil {
		return err
	}
	return sa.Clear(ctx, k)
}

// CombiningState combines the values added to it per key and window with a
// CombineFn, keeping one accumulator. Make it with NewCombiningState.
type CombiningState[In, Acc, Out any] struct {
	stateCell
	fn CombineFn[In, Acc, Out]
	c  coder.Coder[Acc]
}

// NewCombiningState returns a combining state over fn, to assign to a
// DoFn's field before the DoFn is given to ParDo.
func NewCombiningState[In, Acc, Out any](fn CombineFn[In, Acc, Out]) CombiningState[In, Acc, Out] {
	return CombiningState[In, Acc, Out]{fn: fn}
}

func (s *CombiningState[In, Acc, Out]) declareState(id string) (graph.StateSpec, error) {
	s.id = id
	if s.fn == nil {
		return graph.StateSpec{}, fmt.Errorf("combining state %q has no CombineFn: make it with NewCombiningState", id)
	}
	c, err := coderFor[Acc](id, "accumulator")
	s.c = c
	if err != nil {
		return graph.StateSpec{}, err
	}
	info, err := describeFn(s.fn)
	if err != nil {
		return graph.StateSpec{}, fmt.Errorf("combining state %q: %w", id, err)
	}
	return graph.StateSpec{ID: id, Kind: graph.StateCombining, Coder: coder.Erase(c), Combine: info}, nil
}

// accum returns the merged accumulator of the state, and its access and key.
func (s *CombiningState[In, Acc, Out]) accum(ctx context.Context) (Acc, operator.StateAccess, *operator.StateKey, error) {
	acc := s.fn.CreateAccumulator()
	sa, k, err := s.key(ctx, operator.BagUserState)
	if err != nil {
		return acc, nil, nil, err
	}
	data, err := operator.ReadAll(ctx, sa, k)
	if err != nil {
		return acc, nil, nil, err
	}
	accs, err := decodeState(s.c, data)
	if err != nil {
		return acc, nil, nil, err
	}
	for _, a := range accs {
		acc = s.fn.MergeAccumulators(acc, a)
	}
	return acc, sa, k, nil
}

// Add adds v to the combination.
func (s *CombiningState[In, Acc, Out]) Add(ctx context.Context, v In) error {
	acc, sa, k, err := s.accum(ctx)
	if err != nil {
		return err
	}
	acc = s.fn.AddInput(acc, v)
	// Keep one accumulator: rewrite the merged one.
	if err := sa.Clear(ctx, k); err != nil {
		return err
	}
	return sa.Append(ctx, k, s.c.Encode(nil, acc))
}

// Read returns the combined output (the CombineFn's output for no input
// if nothing was added).
func (s *CombiningState[In, Acc, Out]) Read(ctx context.Context) (Out, error) {
	acc, _, _, err := s.accum(ctx)
	if err != nil {
		var zero Out
		return zero, err
	}
	return s.fn.ExtractOutput(acc), nil
}

// Clear resets the combination.
func (s *CombiningState[In, Acc, Out]) Clear(ctx context.Context) error {
	sa, k, err := s.key(ctx, operator.BagUserState)
	if err != nil {
		return err
	}
	return sa.Clear(ctx, k)
}

// MapState maps keys to values per key and window. Its zero value is ready
// to declare.
type MapState[K, V any] struct {
	stateCell
	kc coder.Coder[K]
	vc coder.Coder[V]
}

func (s *MapState[K, V]) declareState(id string) (graph.StateSpec, error) {
	kc, err := coderFor[K](id, "keys")
	if err != nil {
		return graph.StateSpec{}, err
	}
	if !kc.Deterministic() {
		return graph.StateSpec{}, fmt.Errorf("map state %q: the key coder %s is not deterministic", id, kc.Spec())
	}
	vc, err := coderFor[V](id, "values")
	s.id, s.kc, s.vc = id, kc, vc
	return graph.StateSpec{ID: id, Kind: graph.StateMap, Coder: coder.Erase(vc), KeyCoder: coder.Erase(kc)}, err
}

func (s *MapState[K, V]) entry(ctx context.Context, mk K) (operator.StateAccess, *operator.StateKey, error) {
	sa, k, err := s.key(ctx, operator.MultimapUserState)
	if err != nil {
		return nil, nil, err
	}
	k.MapKey = s.kc.Encode(nil, mk)
	return sa, k, nil
}

// Get returns the value of mk, and false if it has none.
func (s *MapState[K, V]) Get(ctx context.Context, mk K) (V, bool, error) {
	var zero V
	sa, k, err := s.entry(ctx, mk)
	if err != nil {
		return zero, false, err
	}
	data, err := operator.ReadAll(ctx, sa, k)
	if err != nil || len(data) == 0 {
		return zero, false, err
	}
	v, _, err := s.vc.Decode(data)
	if err != nil {
		return zero, false, fmt.Errorf("sdk: decode map state %q: %w", s.id, err)
	}
	return v, true, nil
}

// Put sets the value of mk.
func (s *MapState[K, V]) Put(ctx context.Context, mk K, v V) error {
	sa, k, err := s.entry(ctx, mk)
	if err != nil {
		return err
	}
	if err := sa.Clear(ctx, k); err != nil {
		return err
	}
	return sa.Append(ctx, k, s.vc.Encode(nil, v))
}

// PutIfAbsent sets the value of mk unless it has one; it returns the prior
// value and whether there was one.
func (s *MapState[K, V]) PutIfAbsent(ctx context.Context, mk K, v V) (prior V, existed bool, err error) {
	if prior, existed, err = s.Get(ctx, mk); err != nil || existed {
		return prior, existed, err
	}
	return prior, false, s.Put(ctx, mk, v)
}

// Remove removes mk.
func (s *MapState[K, V]) Remove(ctx context.Context, mk K) error {
	sa, k, err := s.entry(ctx, mk)
	if err != nil {
		return err
	}
	return sa.Clear(ctx, k)
}

// Keys returns the map's keys, in the order of their encodings.
func (s *MapState[K, V]) Keys(ctx context.Context) ([]K, error) {
	sa, k, err := s.key(ctx, operator.MultimapKeysUserState)
	if err != nil {
		return nil, err
	}
	data, err := operator.ReadAll(ctx, sa, k)
	if err != nil {
		return nil, err
	}
	return decodeState(s.kc, data)
}

// Clear empties the map.
func (s *MapState[K, V]) Clear(ctx context.Context) error {
	sa, k, err := s.key(ctx, operator.MultimapKeysUserState)
	if err != nil {
		return err
	}
	return sa.Clear(ctx, k)
}

// SetState is a set of values per key and window. Its zero value is ready
// to declare.
type SetState[T any] struct {
	m MapState[T, bool]
}

func (s *SetState[T]) declareState(id string) (graph.StateSpec, error) {
	spec, err := s.m.declareState(id)
	spec.Kind, spec.Coder = graph.StateSet, spec.KeyCoder
	return spec, err
}

// Add adds v to the set.
func (s *SetState[T]) Add(ctx context.Context, v T) error { return s.m.Put(ctx, v, true) }

// AddIfAbsent adds v and reports whether it was absent.
func (s *SetState[T]) AddIfAbsent(ctx context.Context, v T) (bool, error) {
	_, existed, err := s.m.PutIfAbsent(ctx, v, true)
	return !existed, err
}

// Contains reports whether v is in the set.
func (s *SetState[T]) Contains(ctx context.Context, v T) (bool, error) {
	_, ok, err := s.m.Get(ctx, v)
	return ok, err
}

// Remove removes v from the set.
func (s *SetState[T]) Remove(ctx context.Context, v T) error { return s.m.Remove(ctx, v) }

// Read returns the set's values, in the order of their encodings.
func (s *SetState[T]) Read(ctx context.Context) ([]T, error) { return s.m.Keys(ctx) }

// Clear empties the set.
func (s *SetState[T]) Clear(ctx context.Context) error { return s.m.Clear(ctx) }

// TimestampedValue is a value of an OrderedListState with its timestamp.
type TimestampedValue[T any] struct {
	Timestamp time.Time
	Value     T
}

// OrderedListState keeps values sorted by timestamp per key and window
// (equal timestamps in the order added). Its zero value is ready to
// declare.
type OrderedListState[T any] struct {
	stateCell
	c coder.Coder[T]
}

func (s *OrderedListState[T]) declareState(id string) (graph.StateSpec, error) {
	c, err := coderFor[T](id, "elements")
	s.id, s.c = id, c
	return graph.StateSpec{ID: id, Kind: graph.StateOrderedList, Coder: coder.Erase(c)}, err
}

func (s *OrderedListState[T]) rangeKey(ctx context.Context, from, to window.Time) (operator.StateAccess, *operator.StateKey, error) {
	sa, k, err := s.key(ctx, operator.OrderedListUserState)
	if err != nil {
		return nil, nil, err
	}
	k.Start, k.End = int64(from), int64(to)
	return sa, k, nil
}

// Add adds v at timestamp ts.
func (s *OrderedListState[T]) Add(ctx context.Context, ts time.Time, v T) error {
	t := window.FromTime(ts)
	sa, k, err := s.rangeKey(ctx, t, t+1)
	if err != nil {
		return err
	}
	return sa.Append(ctx, k, operator.AppendListEntry(nil, t, s.c.Encode(nil, v)))
}

// Read returns every value, ascending by timestamp.
func (s *OrderedListState[T]) Read(ctx context.Context) ([]TimestampedValue[T], error) {
	return s.ReadRange(ctx, window.MinTime.ToTime(), window.MaxTime.ToTime())
}

// ReadRange returns the values with timestamps in [from, to), ascending.
func (s *OrderedListState[T]) ReadRange(ctx context.Context, from, to time.Time) ([]TimestampedValue[T], error) {
	sa, k, err := s.rangeKey(ctx, window.FromTime(from), window.FromTime(to))
	if err != nil {
		return nil, err
	}
	data, err := operator.ReadAll(ctx, sa, k)
	if err != nil {
		return nil, err
	}
	var out []TimestampedValue[T]
	for len(data) > 0 {
		ts, enc, n, err := operator.CutListEntry(data)
		if err != nil {
			return nil, fmt.Errorf("sdk: decode ordered list state %q: %w", s.id, err)
		}
		v, _, err := s.c.Decode(enc)
		if err != nil {
			return nil, fmt.Errorf("sdk: decode ordered list state %q: %w", s.id, err)
		}
		out = append(out, TimestampedValue[T]{Timestamp: ts.ToTime(), Value: v})
		data = data[n:]
	}
	// Runners keep equal timestamps in insertion order; sort stably in
	// case one pages them by timestamp only.
	slices.SortStableFunc(out, func(a, b TimestampedValue[T]) int { return a.Timestamp.Compare(b.Timestamp) })
	return out, nil
}

// ClearRange removes the values with timestamps in [from, to).
func (s *OrderedListState[T]) ClearRange(ctx context.Context, from, to time.Time) error {
	sa, k, err := s.rangeKey(ctx, window.FromTime(from), window.FromTime(to))
	if err != nil {
		return err
	}
	return sa.Clear(ctx, k)
}

// Clear removes every value.
func (s *OrderedListState[T]) Clear(ctx context.Context) error {
	return s.ClearRange(ctx, window.MinTime.ToTime(), window.MaxTime.ToTime())
}

// CurrentKey returns the key being processed by a stateful DoFn: the key
// of the element in ProcessElement, of the timer in OnTimer, of the
// expiring state in OnWindowExpiration.
func CurrentKey[K any](ctx context.Context) (K, error) {
	var zero K
	ec := operator.FromContext(ctx)
	if ec == nil || ec.Keyed == nil {
		return zero, fmt.Errorf("sdk: CurrentKey: %w", operator.ErrNoState)
	}
	v, err := ec.Keyed.KeyValue()
	if err != nil {
		return zero, err
	}
	k, ok := v.(K)
	if !ok {
		return zero, fmt.Errorf("sdk: CurrentKey: the key is a %T, not a %T", v, zero)
	}
	return k, nil
}
