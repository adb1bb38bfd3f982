package sdk_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
	"github.com/beamgo-dev/beamgo/testutil/passert"
)

// runners are the runners every transform of this package is proven on:
// in process, and over the Fn API with LOOPBACK workers.
func runners() map[string]runner.Runner {
	return map[string]runner.Runner{
		"local":    local.New(&local.Options{Job: local.Job{Parallelism: 3}}),
		"portable": portable.New(&portable.Options{Workers: 2}),
	}
}

// runOnEach builds a pipeline with build and runs it on every runner; the
// pipeline's passert checks fail the run.
func runOnEach(t *testing.T, build func(s sdk.Scope)) {
	t.Helper()
	for name, r := range runners() {
		t.Run(name, func(t *testing.T) {
			p := sdk.NewPipeline()
			build(p.Root())
			if _, err := r.Run(context.Background(), p); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

func ints(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func add(a, b int) int { return a + b }

func TestReduce(t *testing.T) {
	runOnEach(t, func(s sdk.Scope) {
		nums := sdk.Create(s, ints(1000))
		passert.Equals(s, sdk.Reduce(s, add, nums), 500500)
		longest := sdk.Reduce(s, func(a, b string) string {
			if len(b) > len(a) || len(b) == len(a) && b > a {
				return b
			}
			return a
		}, sdk.Create(s, []string{"a", "ccc", "bb", "ddd"}))
		passert.Equals(s, longest, "ddd")
		passert.Empty(s, sdk.Reduce(s, add, sdk.Create(s, []int{})))
	})
}

func TestReducePerKey(t *testing.T) {
	runOnEach(t, func(s sdk.Scope) {
		kvs := sdk.Map(s, func(v int) sdk.KV[string, int] {
			return sdk.KV[string, int]{Key: []string{"even", "odd"}[v%2], Value: v}
		}, sdk.Create(s, ints(100)))
		passert.Equals(s, sdk.ReducePerKey(s, add, kvs),
			sdk.KV[string, int]{Key: "even", Value: 2550}, sdk.KV[string, int]{Key: "odd", Value: 2500})
	})
}

func TestDistinct(t *testing.T) {
	runOnEach(t, func(s sdk.Scope) {
		words := sdk.Create(s, []string{"a", "b", "a", "c", "b", "a"})
		passert.Equals(s, sdk.Distinct(s, words), "a", "b", "c")
		kvs := sdk.Create(s, []sdk.KV[string, int]{{Key: "x", Value: 1}, {Key: "x", Value: 1}, {Key: "x", Value: 2}, {Key: "y", Value: 1}})
		passert.Equals(s, sdk.DistinctPerKey(s, kvs),
			sdk.KV[string, int]{Key: "x", Value: 1}, sdk.KV[string, int]{Key: "x", Value: 2}, sdk.KV[string, int]{Key: "y", Value: 1})
	})
}

func TestDistinctRefusesNonDeterministicElements(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Distinct(s, sdk.Create(s, []float64{1, 1}))
	err := p.Err()
	if err == nil || !strings.Contains(err.Error(), "Distinct") || !strings.Contains(err.Error(), "non-deterministic") {
		t.Errorf("Distinct of float64s: got %v, want a construction error naming Distinct and the non-deterministic coder", err)
	}
}

type joined = sdk.KV[string, sdk.Joined[int, string]]

func TestJoins(t *testing.T) {
	both := func(k string, l int, r string) joined {
		return joined{Key: k, Value: sdk.Joined[int, string]{Left: l, Right: r, HasLeft: true, HasRight: true}}
	}
	leftOnly := func(k string, l int) joined {
		return joined{Key: k, Value: sdk.Joined[int, string]{Left: l, HasLeft: true}}
	}
	rightOnly := func(k string, r string) joined {
		return joined{Key: k, Value: sdk.Joined[int, string]{Right: r, HasRight: true}}
	}
	inner := []joined{both("b", 2, "x"), both("b", 3, "x"), both("c", 4, "y"), both("c", 4, "z")}
	for _, tt := range []struct {
		name string
		join func(sdk.Scope, sdk.PCollection[sdk.KV[string, int]], sdk.PCollection[sdk.KV[string, string]], ...sdk.Option) sdk.PCollection[joined]
		want []joined
	}{
		{"an inner join pairs the values of keys on both sides", sdk.InnerJoin[string, int, string], inner},
		{"a left outer join keeps unmatched left values", sdk.LeftOuterJoin[string, int, string], append(slices.Clone(inner), leftOnly("a", 1))},
		{"a right outer join keeps unmatched right values", sdk.RightOuterJoin[string, int, string], append(slices.Clone(inner), rightOnly("d", "w"))},
		{"a full outer join keeps unmatched values of both", sdk.FullOuterJoin[string, int, string], append(slices.Clone(inner), leftOnly("a", 1), rightOnly("d", "w"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			runOnEach(t, func(s sdk.Scope) {
				left := sdk.Create(s, []sdk.KV[string, int]{{Key: "a", Value: 1}, {Key: "b", Value: 2}, {Key: "b", Value: 3}, {Key: "c", Value: 4}})
				right := sdk.Create(s, []sdk.KV[string, string]{{Key: "b", Value: "x"}, {Key: "c", Value: "y"}, {Key: "c", Value: "z"}, {Key: "d", Value: "w"}})
				passert.EqualsList(s, tt.join(s, left, right), tt.want)
			})
		})
	}
}

func TestKvSwap(t *testing.T) {
	runOnEach(t, func(s sdk.Scope) {
		kvs := sdk.Create(s, []sdk.KV[string, int]{{Key: "a", Value: 1}, {Key: "b", Value: 2}})
		passert.Equals(s, sdk.KvSwap(s, kvs), sdk.KV[int, string]{Key: 1, Value: "a"}, sdk.KV[int, string]{Key: 2, Value: "b"})
	})
}

func sorted(v []int) []int { v = slices.Clone(v); slices.Sort(v); return v }

func TestToList(t *testing.T) {
	runOnEach(t, func(s sdk.Scope) {
		list := sdk.ToList(s, sdk.Create(s, ints(50)))
		passert.EqualsList(s, sdk.Map(s, sorted, list), [][]int{ints(50)})
		passert.Equals(s, sdk.ToList(s, sdk.Create(s, []int{})), []int{})
	})
}

func TestLatest(t *testing.T) {
	runOnEach(t, func(s sdk.Scope) {
		ts := []window.Time{30, 10, 50, 20}
		vals := sdk.CreateTimestamped(s, []string{"c", "a", "e", "b"}, ts)
		passert.Equals(s, sdk.Latest(s, vals), "e")
		kvs := sdk.CreateTimestamped(s, []sdk.KV[string, int]{{Key: "x", Value: 1}, {Key: "x", Value: 2}, {Key: "y", Value: 3}, {Key: "y", Value: 4}}, ts)
		passert.Equals(s, sdk.LatestPerKey(s, kvs), sdk.KV[string, int]{Key: "x", Value: 1}, sdk.KV[string, int]{Key: "y", Value: 3})
		passert.Empty(s, sdk.Latest(s, sdk.Create(s, []string{})))
	})
}

func TestSample(t *testing.T) {
	// isSampleOf reports whether got holds n distinct elements of 1..max.
	isSampleOf := func(n, max int) func([]int) bool {
		return func(got []int) bool {
			got = sorted(got)
			return len(got) == n && len(slices.Compact(got)) == n && got[0] >= 1 && got[n-1] <= max
		}
	}
	runOnEach(t, func(s sdk.Scope) {
		nums := sdk.Create(s, ints(1000))
		sample := sdk.Sample(s, 7, nums)
		passert.Count(s, sample, 1)
		passert.True(s, sample, isSampleOf(7, 1000))
		passert.EqualsList(s, sdk.Map(s, sorted, sdk.Sample(s, 10, sdk.Create(s, ints(4)))), [][]int{ints(4)})
		perKey := sdk.SamplePerKey(s, 3, sdk.Map(s, func(v int) sdk.KV[bool, int] { return sdk.Pair(v%2 == 0, v) }, nums))
		passert.Count(s, perKey, 2)
		passert.True(s, perKey, func(kv sdk.KV[bool, []int]) bool {
			return isSampleOf(3, 1000)(kv.Value) && !slices.ContainsFunc(kv.Value, func(v int) bool { return (v%2 == 0) != kv.Key })
		})
	})
}

// TestSampleIsUniform checks that every element is about as likely to be
// sampled: over many samples of 2 of 4 elements, each is in about half.
func TestSampleIsUniform(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	const runs = 400
	keys := sdk.FlatMap(s, func(v int, emit func(sdk.KV[int, int])) {
		for k := range runs {
			emit(sdk.Pair(k, v))
		}
	}, sdk.Create(s, ints(4)))
	picked := sdk.FlatMap(s, func(kv sdk.KV[int, []int], emit func(int)) {
		for _, v := range kv.Value {
			emit(v)
		}
	}, sdk.SamplePerKey(s, 2, keys))
	passert.True(s, sdk.CountElements(s, picked), func(kv sdk.KV[int, int64]) bool {
		// Binomial(400, 0.5): mean 200, standard deviation 10.
		return kv.Value > 150 && kv.Value < 250
	})
	if _, err := local.Execute(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}
