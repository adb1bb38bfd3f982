package metrics

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSnapshotMerge(t *testing.T) {
	k := Key{Transform: "t", Namespace: "ns", Name: "n"}
	a, b := NewStore(), NewStore()
	a.Counter(k).Add(2)
	b.Counter(k).Add(3)
	a.Distribution(k).Update(5)
	b.Distribution(k).Update(-1)
	b.Distribution(k).Update(9)
	a.Gauge(k).Set(7, 200)
	b.Gauge(k).Set(8, 100)
	var got Snapshot
	got.Merge(a.Snapshot())
	got.Merge(b.Snapshot())
	want := Snapshot{
		Counters:      map[Key]int64{k: 5},
		Distributions: map[Key]DistributionValue{k: {Count: 3, Sum: 13, Min: -1, Max: 9}},
		Gauges:        map[Key]GaugeValue{k: {Value: 7, Timestamp: 200}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged snapshot (-want +got):\n%s", diff)
	}
}

func TestSortedKeys(t *testing.T) {
	keys := []Key{
		{Transform: "b", Namespace: "a", Name: "a"},
		{Transform: "a", Namespace: "b", Name: "a"},
		{Transform: "a", Namespace: "a", Name: "b"},
		{Transform: "a", Namespace: "a", Name: "a"},
	}
	m := map[Key]int{}
	for i, k := range keys {
		m[k] = i
	}
	got := SortedKeys(m)
	want := []Key{keys[3], keys[2], keys[1], keys[0]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SortedKeys (-want +got):\n%s", diff)
	}
}
