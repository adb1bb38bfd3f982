package runner

import (
	"context"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Runner executes pipelines. Implementations: runner/local (in process) and
// runner/portable (Fn API over gRPC).
type Runner interface {
	// Run executes p and returns its result, or the first error: a
	// construction error, an invalid pipeline, or a failure that retries
	// could not overcome, naming the transform.
	Run(ctx context.Context, p *sdk.Pipeline) (*Result, error)
}

// MetricKey names a user metric by transform, namespace and name.
type MetricKey = metrics.Key

// DistributionValue is the count, sum, min and max of a distribution.
type DistributionValue = metrics.DistributionValue

// GaugeValue is a gauge's latest value and its time in Unix milliseconds.
type GaugeValue = metrics.GaugeValue

// StringSetValue is a string set's distinct strings, sorted (reported by
// Beam SDK workers; this SDK has no string set of its own).
type StringSetValue = metrics.StringSetValue

// BoundedTrieValue is a bounded trie of string sequences (reported by
// Beam SDK workers; this SDK has no bounded trie of its own).
type BoundedTrieValue = metrics.BoundedTrieValue

// Metrics are the user metrics of a job's committed bundles.
type Metrics = metrics.Snapshot

// Result is the outcome of a successful job.
type Result struct {
	// Metrics are the user metrics of committed bundles, aggregated; the
	// metrics of failed attempts are dropped.
	Metrics Metrics
	// Stages and Bundles count what ran; Retries counts failed attempts
	// that were retried; Splits counts dynamic splits; Spills counts
	// shuffle runs written to disk.
	Stages, Bundles, Retries, Splits, Spills int
	// Checkpoints counts the durable snapshots written (Job.Checkpoint);
	// CheckpointBytes is the largest one's size and CheckpointTime the time
	// all took, pauses included. RestoredFrom is the sequence number of
	// the snapshot the job resumed from, 0 if it started afresh.
	Checkpoints     int
	CheckpointBytes int64
	CheckpointTime  time.Duration
	RestoredFrom    uint64
}

// Counter returns a user counter summed over transforms.
func (r *Result) Counter(namespace, name string) int64 {
	var n int64
	for k, v := range r.Metrics.Counters {
		if k.Namespace == namespace && k.Name == name {
			n += v
		}
	}
	return n
}

// Distribution returns a user distribution merged over transforms.
func (r *Result) Distribution(namespace, name string) DistributionValue {
	return mergedOver(r.Metrics.Distributions, namespace, name)
}

// StringSet returns a user string set united over transforms.
func (r *Result) StringSet(namespace, name string) StringSetValue {
	return mergedOver(r.Metrics.StringSets, namespace, name)
}

// BoundedTrie returns a user bounded trie merged over transforms.
func (r *Result) BoundedTrie(namespace, name string) BoundedTrieValue {
	return mergedOver(r.Metrics.BoundedTries, namespace, name)
}

// mergedOver merges the values of metric namespace/name over transforms.
func mergedOver[V interface{ Merge(V) V }](m map[metrics.Key]V, namespace, name string) V {
	var out V
	for k, v := range m {
		if k.Namespace == namespace && k.Name == name {
			out = out.Merge(v)
		}
	}
	return out
}

// Gauge returns the latest value of a user gauge over transforms.
func (r *Result) Gauge(namespace, name string) (GaugeValue, bool) {
	var g GaugeValue
	found := false
	for k, v := range r.Metrics.Gauges {
		if k.Namespace == namespace && k.Name == name && (!found || v.Timestamp >= g.Timestamp) {
			g, found = v, true
		}
	}
	return g, found
}
