package webui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/metrics"
)

// String sets and bounded tries are listed with the other kinds of
// metric: their size as the value and their strings or leaves, and in
// the Prometheus text as sizes.
func TestMetricViewsListStringSetsAndBoundedTries(t *testing.T) {
	k := metrics.Key{Transform: "Tag", Namespace: "ns", Name: "seen"}
	m := metrics.Snapshot{
		Counters:     map[metrics.Key]int64{k: 4},
		StringSets:   map[metrics.Key]metrics.StringSetValue{k: metrics.NewStringSet("b", "a")},
		BoundedTries: map[metrics.Key]metrics.BoundedTrieValue{k: metrics.NewBoundedTrie(2, []string{"x", "y"}, []string{"x", "z"}, []string{"w"})},
	}
	want := []MetricView{
		{Kind: "counter", Transform: "Tag", Namespace: "ns", Name: "seen", Value: 4},
		{Kind: "string_set", Transform: "Tag", Namespace: "ns", Name: "seen", Value: 2, Values: []string{"a", "b"}},
		{Kind: "bounded_trie", Transform: "Tag", Namespace: "ns", Name: "seen", Value: 2, Values: []string{"w", "x/…"}},
	}
	if diff := cmp.Diff(want, metricsOf(m)); diff != "" {
		t.Errorf("metric views (-want +got):\n%s", diff)
	}
	var b strings.Builder
	userMetrics(func(name, labels string, v float64) {
		fmt.Fprintf(&b, "%s{%s} %g\n", name, labels, v)
	}, `job="j"`, m)
	for _, want := range []string{
		`beamgo_user_string_set_size{job="j",transform="Tag",namespace="ns",name="seen"} 2`,
		`beamgo_user_bounded_trie_size{job="j",transform="Tag",namespace="ns",name="seen"} 2`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Prometheus samples lack %q:\n%s", want, b.String())
		}
	}
}
