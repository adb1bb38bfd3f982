package engine

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/metrics"
)

// emptyJob is a job of no stages, enough to encode and decode a snapshot
// body's job-wide fields.
func emptyJob() *job {
	return &job{ckpt: &checkpointer{}, clock: newClock(time.Unix(0, 0)), datasets: map[string]*dataset{}}
}

// The string sets and bounded tries that Beam SDK workers report survive a
// snapshot file, beside the other kinds of metric.
func TestSnapshotKeepsStringSetsAndBoundedTries(t *testing.T) {
	k := metrics.Key{Transform: "Tag", Namespace: "ns", Name: "seen"}
	want := metrics.Snapshot{
		Counters:      map[metrics.Key]int64{k: 3},
		Distributions: map[metrics.Key]metrics.DistributionValue{},
		Gauges:        map[metrics.Key]metrics.GaugeValue{},
		StringSets:    map[metrics.Key]metrics.StringSetValue{k: metrics.NewStringSet("b", "a", "é", "")},
		BoundedTries: map[metrics.Key]metrics.BoundedTrieValue{
			k:                     metrics.NewBoundedTrie(3, []string{"a", "b"}, []string{"a", "c"}, []string{"a", "d"}, []string{"e"}),
			{Name: "empty trie"}:  metrics.NewBoundedTrie(7),
			{Name: "empty path"}:  metrics.NewBoundedTrie(0, nil),
			{Name: "deep single"}: metrics.NewBoundedTrie(5, []string{"x", "y", "z"}),
		},
	}
	j := emptyJob()
	j.metrics = want
	store := dirStore{t.TempDir()}
	if _, err := writeSnapshotFile(store, "ckpt-1.bin", j.encodeSnapshot(1, nil).encode(nil), nil); err != nil {
		t.Fatal(err)
	}
	back := emptyJob()
	back.ckpt.store = store
	if err := back.restoreFile("ckpt-1.bin"); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if diff := cmp.Diff(want, back.metrics); diff != "" {
		t.Errorf("restored metrics (-want +got):\n%s", diff)
	}
}

// A snapshot body written before string sets and bounded tries were kept
// ends after the side inputs' data: it still decodes, with none.
func TestSnapshotBodyWithoutSetMetricsDecodes(t *testing.T) {
	k := metrics.Key{Transform: "Count", Namespace: "ns", Name: "n"}
	j := emptyJob()
	j.metrics = metrics.Snapshot{
		Counters:      map[metrics.Key]int64{k: 5},
		Distributions: map[metrics.Key]metrics.DistributionValue{},
		Gauges:        map[metrics.Key]metrics.GaugeValue{},
	}
	body := j.encodeSnapshot(2, nil).encode(nil)
	// No sets and no tries: the new field is two zero counts.
	old, ok := bytes.CutSuffix(body, []byte{0, 0})
	if !ok {
		t.Fatalf("body %x does not end in the two empty counts", body)
	}
	back := emptyJob()
	if err := back.decodeSnapshot(old, nil); err != nil {
		t.Fatalf("decode an older body: %v", err)
	}
	if diff := cmp.Diff(j.metrics, back.metrics); diff != "" {
		t.Errorf("metrics from an older body (-want +got):\n%s", diff)
	}
	if back.ckpt.seq != 2 {
		t.Errorf("sequence %d, want 2", back.ckpt.seq)
	}
	// A damaged field is an error, not a partial restore.
	if err := emptyJob().decodeSnapshot(append(bytes.Clone(old), 1), nil); err == nil {
		t.Error("a body with a truncated set field decoded")
	}
}
