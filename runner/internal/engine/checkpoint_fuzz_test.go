package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/metrics"
)

// fuzzSnapshotJob is a job of no stages whose job-wide fields and metrics
// are set, so that its snapshot body has every job-wide field: counters,
// distributions, gauges, string sets and bounded tries.
func fuzzSnapshotJob() *job {
	k := metrics.Key{Transform: "T", Namespace: "ns", Name: "n"}
	j := emptyJob()
	j.bundles, j.retries, j.splits, j.truncated = 7, 1, 2, 3
	j.elements.Store(1000)
	j.metrics = metrics.Snapshot{
		Counters:      map[metrics.Key]int64{k: 5, {Name: "neg"}: -3},
		Distributions: map[metrics.Key]metrics.DistributionValue{k: {Count: 2, Sum: 10, Min: 1, Max: 9}},
		Gauges:        map[metrics.Key]metrics.GaugeValue{k: {Value: 4, Timestamp: 1700000000000}},
		StringSets:    map[metrics.Key]metrics.StringSetValue{k: metrics.NewStringSet("a", "é", "")},
		BoundedTries: map[metrics.Key]metrics.BoundedTrieValue{
			k:              metrics.NewBoundedTrie(3, []string{"a", "b"}, []string{"a", "c"}, []string{"d"}),
			{Name: "none"}: metrics.NewBoundedTrie(2),
		},
	}
	return j
}

// FuzzSnapshotBody decodes arbitrary snapshot bodies into a job of no
// stages. A file's CRC catches damage on disk, so a body that fails to
// decode comes from a bug or another build, and must still come back as an
// error, never a panic. A body that decodes must decode the same way again once re-encoded: the
// restored job-wide fields and metrics are what the next snapshot writes.
func FuzzSnapshotBody(f *testing.F) {
	f.Add(emptyJob().encodeSnapshot(1, nil).encode(nil))
	f.Add(fuzzSnapshotJob().encodeSnapshot(42, nil).encode(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		j := emptyJob()
		if err := j.decodeSnapshot(body, nil); err != nil {
			return
		}
		again := j.encodeSnapshot(j.ckpt.seq, nil).encode(nil)
		back := emptyJob()
		if err := back.decodeSnapshot(again, nil); err != nil {
			t.Fatalf("a decoded body, encoded again, does not decode: %v\nbody %x\nagain %x", err, body, again)
		}
		if diff := cmp.Diff(jobFieldsOf(j), jobFieldsOf(back)); diff != "" {
			t.Errorf("job-wide fields change through a second encoding (-first +second):\n%s", diff)
		}
		if diff := cmp.Diff(j.metrics, back.metrics); diff != "" {
			t.Errorf("metrics change through a second encoding (-first +second):\n%s", diff)
		}
	})
}

// jobFields are a snapshot body's job-wide fields besides the metrics.
type jobFields struct {
	Seq                                 uint64
	Bundles, Retries, Splits, Truncated int
	Elements                            int64
	Draining                            bool
	Advanced                            int64
}

func jobFieldsOf(j *job) jobFields {
	return jobFields{j.ckpt.seq, j.bundles, j.retries, j.splits, j.truncated, j.elements.Load(), j.draining, int64(j.clock.advanced)}
}
