package sdk

import (
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// TestHelpersAreLifted checks that the combining helpers build combines
// that runners lift: a CombinePerKey whose accumulator has a coder.
func TestHelpersAreLifted(t *testing.T) {
	for _, tt := range []struct {
		name  string
		build func(s Scope, nums PCollection[int], kvs PCollection[KV[string, int]])
	}{
		{"Reduce", func(s Scope, nums PCollection[int], _ PCollection[KV[string, int]]) {
			Reduce(s, func(a, b int) int { return a + b }, nums)
		}},
		{"ReducePerKey", func(s Scope, _ PCollection[int], kvs PCollection[KV[string, int]]) {
			ReducePerKey(s, func(a, b int) int { return a + b }, kvs)
		}},
		{"Distinct", func(s Scope, nums PCollection[int], _ PCollection[KV[string, int]]) { Distinct(s, nums) }},
		{"DistinctPerKey", func(s Scope, _ PCollection[int], kvs PCollection[KV[string, int]]) { DistinctPerKey(s, kvs) }},
		{"ToList", func(s Scope, nums PCollection[int], _ PCollection[KV[string, int]]) { ToList(s, nums) }},
		{"Latest", func(s Scope, nums PCollection[int], _ PCollection[KV[string, int]]) { Latest(s, nums) }},
		{"LatestPerKey", func(s Scope, _ PCollection[int], kvs PCollection[KV[string, int]]) { LatestPerKey(s, kvs) }},
		{"Sample", func(s Scope, nums PCollection[int], _ PCollection[KV[string, int]]) { Sample(s, 3, nums) }},
		{"SamplePerKey", func(s Scope, _ PCollection[int], kvs PCollection[KV[string, int]]) { SamplePerKey(s, 3, kvs) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPipeline()
			s := p.Root()
			nums := CreateTimestamped(s, []int{1, 2}, []window.Time{1, 2})
			tt.build(s, nums, Map(s, func(v int) KV[string, int] { return Pair("k", v) }, nums))
			if err := p.Err(); err != nil {
				t.Fatal(err)
			}
			var combines []*graph.Transform
			for _, tr := range p.g.Transforms {
				if tr.Kind == graph.KindCombinePerKey && strings.HasPrefix(tr.UniqueName, tt.name) {
					combines = append(combines, tr)
				}
			}
			if len(combines) != 1 || combines[0].Combine == nil {
				t.Errorf("%s built %d combines (%v), want one with an accumulator coder, which runners lift", tt.name, len(combines), combines)
			}
		})
	}
}
