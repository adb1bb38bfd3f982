// Package recordcmp compares records for the checkers of testutil and
// passert: one at a time, as ordered lists, and as multisets, with go-cmp
// options, and renders them for messages.
package recordcmp

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/google/go-cmp/cmp"
)

// Comparer compares records of type T: with == for plain types when there
// are no cmp options, with cmp.Equal otherwise, and for multisets with less
// if given. It is safe for concurrent use.
type Comparer[T any] struct {
	opts  []cmp.Option
	less  func(a, b T) bool
	plain bool
}

// New returns a Comparer with the cmp options opts and, if not nil, the
// ordering less for multisets. It returns an error if cmp.Equal cannot
// compare values of T with opts (unexported fields, say).
func New[T any](opts []cmp.Option, less func(a, b T) bool) (*Comparer[T], error) {
	c := &Comparer[T]{opts: opts, less: less}
	t := reflect.TypeFor[T]()
	c.plain = len(opts) == 0 && plainComparable(t)
	if !c.plain {
		// cmp panics on what it cannot compare (unexported fields, say);
		// find out now, with zero values, rather than in the middle of a
		// check.
		var zero T
		if err := probeCmp(zero, c.opts); err != nil {
			return nil, fmt.Errorf("records of type %v cannot be compared with cmp.Equal: %v (add cmp options, such as cmp.AllowUnexported or cmp.Comparer)", t, err)
		}
	}
	return c, nil
}

func probeCmp[T any](zero T, opts []cmp.Option) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	cmp.Equal(zero, zero, opts...)
	return nil
}

// plainComparable reports whether == on values of t means what cmp.Equal
// without options means: t is built from bools, numbers and strings, in
// arrays and in structs of exported fields, and has no Equal method (which
// cmp.Equal would call).
func plainComparable(t reflect.Type) bool {
	if _, ok := t.MethodByName("Equal"); ok {
		return false
	}
	if _, ok := reflect.PointerTo(t).MethodByName("Equal"); ok {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return plainComparable(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || !plainComparable(f.Type) {
				return false
			}
		}
		return true
	}
	return false
}

// Equal reports whether a and b are equal.
func (c *Comparer[T]) Equal(a, b T) bool {
	if c.plain {
		return any(a) == any(b)
	}
	return cmp.Equal(a, b, c.opts...)
}

// EqualSlices reports whether a and b hold equal records in the same order.
func (c *Comparer[T]) EqualSlices(a, b []T) bool {
	return slices.EqualFunc(a, b, c.Equal)
}

// Diff returns cmp.Diff(want, got) with the options.
func (c *Comparer[T]) Diff(want, got []T) string {
	return cmp.Diff(want, got, c.opts...)
}

// MultisetDiff returns the records of want that got lacks and the records
// of got that want lacks, counting duplicates.
func (c *Comparer[T]) MultisetDiff(want, got []T) (missing, extra []T) {
	switch {
	case c.plain:
		counts := make(map[any]int, len(want))
		for _, w := range want {
			counts[any(w)]++
		}
		for _, g := range got {
			if counts[any(g)] > 0 {
				counts[any(g)]--
			} else {
				extra = append(extra, g)
			}
		}
		for _, w := range want {
			if counts[any(w)] > 0 {
				counts[any(w)]--
				missing = append(missing, w)
			}
		}
		return missing, extra
	case c.less != nil:
		order := func(a, b T) int {
			switch {
			case c.less(a, b):
				return -1
			case c.less(b, a):
				return 1
			}
			return 0
		}
		w, g := slices.Clone(want), slices.Clone(got)
		slices.SortStableFunc(w, order)
		slices.SortStableFunc(g, order)
		i, j := 0, 0
		for i < len(w) && j < len(g) {
			switch order(w[i], g[j]) {
			case 0:
				i++
				j++
			case -1:
				missing = append(missing, w[i])
				i++
			default:
				extra = append(extra, g[j])
				j++
			}
		}
		return append(missing, w[i:]...), append(extra, g[j:]...)
	}
	used := make([]bool, len(want))
	for _, g := range got {
		found := false
		for i, w := range want {
			if !used[i] && c.Equal(w, g) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			extra = append(extra, g)
		}
	}
	for i, w := range want {
		if !used[i] {
			missing = append(missing, w)
		}
	}
	return missing, extra
}

// IndexOf returns the index of the first record of rs equal to r at or
// after from, or -1.
func (c *Comparer[T]) IndexOf(rs []T, r T, from int) int {
	for i := from; i < len(rs); i++ {
		if c.Equal(rs[i], r) {
			return i
		}
	}
	return -1
}

// Pos renders a position: byte strings and strings quoted, the rest with
// %v.
func Pos(p any) string {
	switch v := p.(type) {
	case []byte:
		return fmt.Sprintf("%q", v)
	case string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(p)
}

// Record renders a record for a message, shortened if long.
func Record(r any) string {
	var s string
	switch v := r.(type) {
	case []byte:
		s = fmt.Sprintf("%q", v)
	case string:
		s = fmt.Sprintf("%q", v)
	default:
		s = fmt.Sprintf("%+v", r)
	}
	const max = 80
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

// Plural returns "1 record" or "n records" (for noun "record").
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
