package sdk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/sdk"
)

func TestConstructionErrors(t *testing.T) {
	other := sdk.NewPipeline()
	foreign := sdk.Create(other.Root(), []int{1})
	tests := []struct {
		name  string
		build func(s sdk.Scope)
		want  []string // substrings of the error
	}{
		{
			name: "GroupByKey on a float key is refused as non-deterministic",
			build: func(s sdk.Scope) {
				sdk.GroupByKey(s, sdk.Create(s, []sdk.KV[float64, string]{{Key: 1, Value: "a"}}))
			},
			want: []string{"GroupByKey", "non-deterministic", "float64"},
		},
		{
			name:  "a nil DoFn is refused",
			build: func(s sdk.Scope) { sdk.ParDo[int, int](s, nil, sdk.Create(s, []int{1})) },
			want:  []string{"DoFn is nil"},
		},
		{
			name:  "Map with a nil function is refused",
			build: func(s sdk.Scope) { sdk.Map[int, int](s, nil, sdk.Create(s, []int{1})) },
			want:  []string{"Map", "function is nil"},
		},
		{
			name: "the zero PCollection as an input is refused",
			build: func(s sdk.Scope) {
				sdk.Map(s, func(i int) int { return i }, sdk.PCollection[int]{}, sdk.Name("Downstream"))
			},
			want: []string{"Downstream", "invalid PCollection"},
		},
		{
			name:  "an input from another pipeline is refused",
			build: func(s sdk.Scope) { sdk.Map(s, func(i int) int { return i }, foreign, sdk.Name("Cross")) },
			want:  []string{"Cross", "another pipeline"},
		},
		{
			name:  "Create of a type without a coder is refused",
			build: func(s sdk.Scope) { sdk.Create(s, []chan int{nil}) },
			want:  []string{"Create", "no coder", "chan int"},
		},
		{
			name: "Flatten of differently windowed inputs is refused",
			build: func(s sdk.Scope) {
				a := sdk.Create(s, []int{1})
				b := sdk.WindowInto(s, sdk.FixedWindows(time.Minute), a)
				sdk.Flatten(s, a, b)
			},
			want: []string{"Flatten", "same windowing"},
		},
		{
			name: "WindowInto with a zero window size is refused",
			build: func(s sdk.Scope) {
				sdk.WindowInto(s, sdk.FixedWindows(0), sdk.Create(s, []int{1}))
			},
			want: []string{"WindowInto", "size"},
		},
		{
			name: "Partition into zero outputs is refused",
			build: func(s sdk.Scope) {
				sdk.Partition(s, 0, func(int, int) int { return 0 }, sdk.Create(s, []int{1}))
			},
			want: []string{"Partition", "n >= 1"},
		},
		{
			name: "CombinePerKey with a nil CombineFn is refused",
			build: func(s sdk.Scope) {
				sdk.CombinePerKey[string, int, int, int](s, nil, sdk.Create(s, []sdk.KV[string, int]{{Key: "a", Value: 1}}))
			},
			want: []string{"CombinePerKey", "CombineFn is nil"},
		},
		{
			name: "an error names the caller's file and line",
			build: func(s sdk.Scope) {
				sdk.Map[int, int](s.Scope("Outer"), nil, sdk.Create(s, []int{1}))
			},
			want: []string{"Outer/Map", "construct_test.go:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sdk.NewPipeline()
			tt.build(p.Root())
			err := p.Err()
			if err == nil {
				t.Fatalf("Err() = nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Err() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestValidPipelineHasNoError(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	words := sdk.Create(s, []string{"a", "b", "a"})
	counts := sdk.CountElements(s, words)
	_ = sdk.GroupByKey(s, counts)
	if err := p.Err(); err != nil {
		t.Fatalf("Err() = %v, want nil", err)
	}
	if !counts.IsValid() {
		t.Error("CountElements returned an invalid collection")
	}
}

func TestUniqueNames(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []int{1})
	inner := s.Scope("Inner")
	double := func(i int) int { return 2 * i }
	a := sdk.Map(inner, double, in, sdk.Name("Double"))
	b := sdk.Map(inner, double, in, sdk.Name("Double"))
	if a.String() == b.String() {
		t.Fatalf("two transforms named Double share the output name %q", a)
	}
	if want := "Inner/Double.out"; a.String() != want {
		t.Errorf("first Double output = %q, want %q", a, want)
	}
	if want := "Inner/Double_2.out"; b.String() != want {
		t.Errorf("second Double output = %q, want %q", b, want)
	}
}
