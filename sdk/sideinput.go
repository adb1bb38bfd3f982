package sdk

import (
	"context"
	"fmt"
	"iter"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// SideInputView is a collection made available to a ParDo as a side input:
// a *SingletonView, *IterView, *MapView or *MultiMapView. Pass it with
// WithSideInput and read it in ProcessElement with the view's Get.
//
// A side input is read in the window that corresponds to the main input
// element's window: the global window for a globally windowed side input,
// otherwise the side input window that holds the end of the main window.
type SideInputView interface {
	collection() *graph.Collection
	spec() *graph.SideInput
}

type sideView = SideInputView

// WithSideInput makes view readable in a ParDo's ProcessElement.
func WithSideInput(view SideInputView) Option {
	return optionFunc(func(o *options) { o.sides = append(o.sides, view) })
}

// view is the shared part of all views: the collection and how to decode it.
type view[T any] struct {
	pc PCollection[T]
}

func (v *view[T]) collection() *graph.Collection { return v.pc.c }

// decodeAll decodes the concatenated nested encodings of a side input.
func decodeAll[T any](pc PCollection[T], elems []byte) ([]T, error) {
	c, err := coder.Of[T]()
	if err != nil {
		return nil, err
	}
	var out []T
	for len(elems) > 0 {
		v, n, err := c.Decode(elems)
		if err != nil {
			return nil, fmt.Errorf("sdk: side input %s: element %d: %w", pc, len(out), err)
		}
		out = append(out, v)
		elems = elems[n:]
	}
	return out, nil
}

// get reads the materialized side input for the current element's window.
func get[V any](ctx context.Context, id any, what string) V {
	ec := operator.FromContext(ctx)
	if ec == nil || ec.Env == nil || ec.Env.SideInputs == nil {
		panic(fmt.Sprintf("sdk: %s.Get called outside ProcessElement of a ParDo given WithSideInput", what))
	}
	v, err := ec.Env.SideInputs.Get(ctx, id, ec.Window)
	if err != nil {
		panic(fmt.Errorf("sdk: reading %s side input: %w", what, err))
	}
	return v.(V)
}

// SingletonView is a side input holding exactly one element per window.
type SingletonView[T any] struct{ view[T] }

// AsSingleton views pc, which must hold exactly one element per window, as a
// side input.
func AsSingleton[T any](pc PCollection[T]) *SingletonView[T] {
	return &SingletonView[T]{view[T]{pc: pc}}
}

func (v *SingletonView[T]) spec() *graph.SideInput {
	return &graph.SideInput{ID: v, Pattern: "iterable", Materialize: func(b []byte) (any, error) {
		all, err := decodeAll(v.pc, b)
		if err != nil {
			return nil, err
		}
		if len(all) != 1 {
			return nil, fmt.Errorf("sdk: singleton side input %s has %d elements in the window, want 1", v.pc, len(all))
		}
		return all[0], nil
	}}
}

// Get returns the side input's element in the current window. It panics
// (failing the bundle with the transform's name) if the window does not hold
// exactly one element.
func (v *SingletonView[T]) Get(ctx context.Context) T { return get[T](ctx, v, "singleton") }

// IterView is a side input of all elements of a window.
type IterView[T any] struct{ view[T] }

// AsIter views pc as an iterable side input.
func AsIter[T any](pc PCollection[T]) *IterView[T] { return &IterView[T]{view[T]{pc: pc}} }

func (v *IterView[T]) spec() *graph.SideInput {
	return &graph.SideInput{ID: v, Pattern: "iterable", Materialize: func(b []byte) (any, error) {
		return decodeAll(v.pc, b)
	}}
}

// Get returns the side input's elements in the current window.
func (v *IterView[T]) Get(ctx context.Context) iter.Seq[T] {
	all := get[[]T](ctx, v, "iterable")
	return func(yield func(T) bool) {
		for _, x := range all {
			if !yield(x) {
				return
			}
		}
	}
}

// MapView is a side input of a keyed collection with unique keys per window.
type MapView[K comparable, V any] struct{ view[KV[K, V]] }

// AsMap views pc, whose keys must be unique per window, as a map side input.
func AsMap[K comparable, V any](pc PCollection[KV[K, V]]) *MapView[K, V] {
	return &MapView[K, V]{view[KV[K, V]]{pc: pc}}
}

func (v *MapView[K, V]) spec() *graph.SideInput {
	return &graph.SideInput{ID: v, Pattern: "iterable", Materialize: func(b []byte) (any, error) {
		all, err := decodeAll(v.pc, b)
		if err != nil {
			return nil, err
		}
		m := make(map[K]V, len(all))
		for _, kv := range all {
			if _, dup := m[kv.Key]; dup {
				return nil, fmt.Errorf("sdk: map side input %s has key %v more than once in the window", v.pc, kv.Key)
			}
			m[kv.Key] = kv.Value
		}
		return m, nil
	}}
}

// Get returns the side input as a map for the current window. The map is
// shared: do not modify it.
func (v *MapView[K, V]) Get(ctx context.Context) map[K]V { return get[map[K]V](ctx, v, "map") }

// MultiMapView is a side input of a keyed collection, each key mapping to all
// its values in the window.
type MultiMapView[K comparable, V any] struct{ view[KV[K, V]] }

// AsMultiMap views pc as a multimap side input.
func AsMultiMap[K comparable, V any](pc PCollection[KV[K, V]]) *MultiMapView[K, V] {
	return &MultiMapView[K, V]{view[KV[K, V]]{pc: pc}}
}

func (v *MultiMapView[K, V]) spec() *graph.SideInput {
	return &graph.SideInput{ID: v, Pattern: "iterable", Materialize: func(b []byte) (any, error) {
		all, err := decodeAll(v.pc, b)
		if err != nil {
			return nil, err
		}
		m := map[K][]V{}
		for _, kv := range all {
			m[kv.Key] = append(m[kv.Key], kv.Value)
		}
		return m, nil
	}}
}

// Get returns the side input as a multimap for the current window. The map
// is shared: do not modify it.
func (v *MultiMapView[K, V]) Get(ctx context.Context) map[K][]V {
	return get[map[K][]V](ctx, v, "multimap")
}
