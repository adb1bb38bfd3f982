package graph

import (
	"sort"
	"sync"
	"sync/atomic"
)

// MetricKey names a user metric: the transform that reported it, its
// namespace and name.
type MetricKey struct {
	Transform string
	Namespace string
	Name      string
}

// CounterCell holds a counter's value.
type CounterCell struct{ v atomic.Int64 }

// Add adds n to the counter.
func (c *CounterCell) Add(n int64) { c.v.Add(n) }

// Value returns the counter's value.
func (c *CounterCell) Value() int64 { return c.v.Load() }

// DistributionCell accumulates count, sum, min and max of reported values.
type DistributionCell struct {
	// mu guards the fields below.
	mu                   sync.Mutex
	count, sum, min, max int64
}

// Update adds one value to the distribution.
func (d *DistributionCell) Update(v int64) {
	d.mu.Lock()
	if d.count == 0 || v < d.min {
		d.min = v
	}
	if d.count == 0 || v > d.max {
		d.max = v
	}
	d.count++
	d.sum += v
	d.mu.Unlock()
}

// Value returns count, sum, min and max.
func (d *DistributionCell) Value() DistributionValue {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DistributionValue{Count: d.count, Sum: d.sum, Min: d.min, Max: d.max}
}

// DistributionValue is a snapshot of a distribution.
type DistributionValue struct{ Count, Sum, Min, Max int64 }

// Merge combines two distribution snapshots.
func (a DistributionValue) Merge(b DistributionValue) DistributionValue {
	if a.Count == 0 {
		return b
	}
	if b.Count == 0 {
		return a
	}
	return DistributionValue{Count: a.Count + b.Count, Sum: a.Sum + b.Sum, Min: min(a.Min, b.Min), Max: max(a.Max, b.Max)}
}

// GaugeCell holds the latest reported value of a gauge and when it was set.
type GaugeCell struct {
	// mu guards the fields below.
	mu        sync.Mutex
	value, ts int64
}

// Set records v at time ts (milliseconds since the epoch), keeping the latest.
func (g *GaugeCell) Set(v, ts int64) {
	g.mu.Lock()
	if ts >= g.ts {
		g.value, g.ts = v, ts
	}
	g.mu.Unlock()
}

// Value returns the gauge's value and timestamp.
func (g *GaugeCell) Value() GaugeValue {
	g.mu.Lock()
	defer g.mu.Unlock()
	return GaugeValue{Value: g.value, Timestamp: g.ts}
}

// GaugeValue is a snapshot of a gauge.
type GaugeValue struct{ Value, Timestamp int64 }

// MetricStore holds the metric cells of one bundle (or an aggregate). It is
// safe for concurrent use: operators update cells while progress reporting
// reads them.
type MetricStore struct {
	// mu guards the maps below (not the cells).
	mu            sync.Mutex
	counters      map[MetricKey]*CounterCell
	distributions map[MetricKey]*DistributionCell
	gauges        map[MetricKey]*GaugeCell
}

// NewMetricStore returns an empty store.
func NewMetricStore() *MetricStore {
	return &MetricStore{
		counters:      map[MetricKey]*CounterCell{},
		distributions: map[MetricKey]*DistributionCell{},
		gauges:        map[MetricKey]*GaugeCell{},
	}
}

// Counter returns the counter cell for k, creating it.
func (s *MetricStore) Counter(k MetricKey) *CounterCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.counters[k]
	if !ok {
		c = &CounterCell{}
		s.counters[k] = c
	}
	return c
}

// Distribution returns the distribution cell for k, creating it.
func (s *MetricStore) Distribution(k MetricKey) *DistributionCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.distributions[k]
	if !ok {
		c = &DistributionCell{}
		s.distributions[k] = c
	}
	return c
}

// Gauge returns the gauge cell for k, creating it.
func (s *MetricStore) Gauge(k MetricKey) *GaugeCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.gauges[k]
	if !ok {
		c = &GaugeCell{}
		s.gauges[k] = c
	}
	return c
}

// MetricsSnapshot is a point-in-time copy of metric values.
type MetricsSnapshot struct {
	Counters      map[MetricKey]int64
	Distributions map[MetricKey]DistributionValue
	Gauges        map[MetricKey]GaugeValue
}

// Snapshot copies the store's values.
func (s *MetricStore) Snapshot() MetricsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := MetricsSnapshot{
		Counters:      make(map[MetricKey]int64, len(s.counters)),
		Distributions: make(map[MetricKey]DistributionValue, len(s.distributions)),
		Gauges:        make(map[MetricKey]GaugeValue, len(s.gauges)),
	}
	for k, c := range s.counters {
		out.Counters[k] = c.Value()
	}
	for k, d := range s.distributions {
		out.Distributions[k] = d.Value()
	}
	for k, g := range s.gauges {
		out.Gauges[k] = g.Value()
	}
	return out
}

// Merge adds snapshot o into s: counters add, distributions merge, the later gauge wins.
func (s *MetricsSnapshot) Merge(o MetricsSnapshot) {
	if s.Counters == nil {
		s.Counters = map[MetricKey]int64{}
		s.Distributions = map[MetricKey]DistributionValue{}
		s.Gauges = map[MetricKey]GaugeValue{}
	}
	for k, v := range o.Counters {
		s.Counters[k] += v
	}
	for k, v := range o.Distributions {
		s.Distributions[k] = s.Distributions[k].Merge(v)
	}
	for k, v := range o.Gauges {
		if cur, ok := s.Gauges[k]; !ok || v.Timestamp >= cur.Timestamp {
			s.Gauges[k] = v
		}
	}
}

// SortedKeys returns keys of m sorted by transform, namespace and name.
func SortedKeys[V any](m map[MetricKey]V) []MetricKey {
	keys := make([]MetricKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Transform != b.Transform {
			return a.Transform < b.Transform
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return keys
}
