package passert

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
	"github.com/beamgo-dev/beamgo/testutil/internal/recordcmp"
)

func strs(ss ...string) []string { return ss }

func TestChecks(t *testing.T) {
	c, err := recordcmp.New[string](nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	nonEmpty := func(s string) bool { return s != "" }
	cases := []struct {
		name  string
		check func(got []string) error
		got   []string
		want  string // the error; "" for none
	}{
		{"equal multisets in another order pass", func(g []string) error { return checkEquals(c, strs("a", "b", "b"), g) }, strs("b", "a", "b"), ""},
		{"a missing and an unexpected element are both named", func(g []string) error { return checkEquals(c, strs("a", "b", "d"), g) }, strs("a", "b", "c"),
			`got 3 elements, want 3: missing 1: "d"; unexpected 1: "c"`},
		{"a duplicate reads as a wrong count", func(g []string) error { return checkEquals(c, strs("a", "b"), g) }, strs("a", "b", "b"),
			`got 3 elements, want 2: unexpected 1: "b" (2 of it, want 1)`},
		{"an empty collection misses everything", func(g []string) error { return checkEquals(c, strs("a"), g) }, nil,
			`got 0 elements, want 1: missing 1: "a"`},
		{"in order passes in order", func(g []string) error { return checkInOrder(c, strs("a", "b"), g) }, strs("a", "b"), ""},
		{"in order fails out of order", func(g []string) error { return checkInOrder(c, strs("a", "b"), g) }, strs("b", "a"),
			"got 2 elements, want 2 in order\n(-want +got):"},
		{"a count passes", func(g []string) error { return checkCount(2, g) }, strs("x", "y"), ""},
		{"a wrong count lists the elements", func(g []string) error { return checkCount(1, g) }, strs("x", "y"), `got 2 elements, want 1: ["x", "y"]`},
		{"empty fails on an element", func(g []string) error { return checkCount(0, g) }, strs("x"), `got 1 element, want 0: ["x"]`},
		{"non-empty fails on nothing", checkNonEmpty[string], nil, "got no elements, want at least one"},
		{"non-empty passes on something", checkNonEmpty[string], strs("x"), ""},
		{"a predicate true of all passes", func(g []string) error { return checkAll(nonEmpty, g) }, strs("x", "y"), ""},
		{"a predicate names the elements failing it", func(g []string) error { return checkAll(nonEmpty, g) }, strs("x", "", "y", ""),
			`2 of 4 elements fail the predicate: ["", ""]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.check(c.got)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("check(%q) = %v, want nil", c.got, err)
			case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
				t.Errorf("check(%q) = %v\nwant an error starting %q", c.got, err, c.want)
			}
		})
	}
}

func TestEqualsWithOptions(t *testing.T) {
	c, err := recordcmp.New[float64]([]cmp.Option{cmpopts.EquateApprox(0, 1e-9)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkEquals(c, []float64{0.3, 1}, []float64{1, 0.1 + 0.2}); err != nil {
		t.Errorf("checkEquals(EquateApprox) = %v, want nil", err)
	}
}

// sideInputs serves every side input of a ParDo from one slice, as a
// runner would after materializing it.
type sideInputs[T any] struct{ elems []T }

func (r sideInputs[T]) Get(ctx context.Context, id any, w window.Window) (any, error) {
	return r.elems, nil
}

// process runs fn as an executor would: with an element context whose
// side inputs are elems.
func process[T any](fn *checkFn[T], elems []T) error {
	ctx := &operator.ElemContext{
		Context: context.Background(),
		Env:     &operator.Env{TransformID: "t1", UniqueName: "passert.Equals/Check", SideInputs: sideInputs[T]{elems}},
		Window:  window.Global(),
	}
	return fn.ProcessElement(ctx, nil, func([]byte) {})
}

func TestCheckFnReadsItsSideInput(t *testing.T) {
	c, _ := recordcmp.New[int](nil, nil)
	pc := sdk.Create(sdk.NewPipeline().Root(), []int{1})
	fn := newCheckFn("passert.Equals", sdk.AsIter(pc), func(got []int) error { return checkEquals(c, []int{1, 2, 3}, got) })
	if err := process(fn, []int{3, 1, 2}); err != nil {
		t.Errorf("ProcessElement(side input 3, 1, 2) = %v, want nil", err)
	}
	err := process(fn, []int{3, 1})
	if want := "passert.Equals: got 2 elements, want 3: missing 1: 2"; err == nil || err.Error() != want {
		t.Errorf("ProcessElement(side input 3, 1) = %v, want %q", err, want)
	}
	var failure interface{ Unwrap() error }
	if !errors.As(err, &failure) {
		t.Errorf("ProcessElement() = %v, want a wrapped error", err)
	}
}
