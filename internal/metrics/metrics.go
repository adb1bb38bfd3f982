// Package metrics holds the user metrics of running bundles: the cells that
// user code updates through sdk.Counter, sdk.Distribution and sdk.Gauge, the
// per-bundle Store that holds them, and the Snapshots that runners merge
// across bundles and workers and report with a job's result. Snapshots
// also hold the string sets and bounded tries that Beam's other SDKs
// report (sets.go).
//
// It is a leaf (standard library only), so that runners, the engine and
// the Fn API monitoring code can share the types without linking the
// construction graph or the operators.
package metrics

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Key names a user metric: the transform that reported it, its
// namespace and name.
type Key struct {
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

// Store holds the metric cells of one bundle (or an aggregate). It is
// safe for concurrent use: operators update cells while progress reporting
// reads them.
type Store struct {
	// mu guards the maps below (not the cells).
	mu            sync.Mutex
	counters      map[Key]*CounterCell
	distributions map[Key]*DistributionCell
	gauges        map[Key]*GaugeCell
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		counters:      map[Key]*CounterCell{},
		distributions: map[Key]*DistributionCell{},
		gauges:        map[Key]*GaugeCell{},
	}
}

// Counter returns the counter cell for k, creating it.
func (s *Store) Counter(k Key) *CounterCell {
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
func (s *Store) Distribution(k Key) *DistributionCell {
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
func (s *Store) Gauge(k Key) *GaugeCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.gauges[k]
	if !ok {
		c = &GaugeCell{}
		s.gauges[k] = c
	}
	return c
}

// Snapshot is a point-in-time copy of metric values.
type Snapshot struct {
	Counters      map[Key]int64
	Distributions map[Key]DistributionValue
	Gauges        map[Key]GaugeValue
	// StringSets and BoundedTries come from Beam SDK workers that report
	// them (this SDK has neither); nil when there are none.
	StringSets   map[Key]StringSetValue
	BoundedTries map[Key]BoundedTrieValue
}

// Snapshot copies the store's values.
func (s *Store) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{
		Counters:      make(map[Key]int64, len(s.counters)),
		Distributions: make(map[Key]DistributionValue, len(s.distributions)),
		Gauges:        make(map[Key]GaugeValue, len(s.gauges)),
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

// Merge adds snapshot o into s: counters add, distributions merge, the
// later gauge wins, string sets and bounded tries unite. s shares nothing
// with o afterwards that either could change.
func (s *Snapshot) Merge(o Snapshot) {
	if s.Counters == nil {
		s.Counters = map[Key]int64{}
		s.Distributions = map[Key]DistributionValue{}
		s.Gauges = map[Key]GaugeValue{}
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
	if len(o.StringSets) > 0 && s.StringSets == nil {
		s.StringSets = map[Key]StringSetValue{}
	}
	for k, v := range o.StringSets {
		s.StringSets[k] = s.StringSets[k].Merge(v)
	}
	if len(o.BoundedTries) > 0 && s.BoundedTries == nil {
		s.BoundedTries = map[Key]BoundedTrieValue{}
	}
	for k, v := range o.BoundedTries {
		s.BoundedTries[k] = s.BoundedTries[k].Merge(v)
	}
}

// SortedKeys returns keys of m sorted by transform, namespace and name.
func SortedKeys[V any](m map[Key]V) []Key {
	return slices.SortedFunc(maps.Keys(m), Key.Compare)
}

// Compare orders keys by transform, namespace and name.
func (k Key) Compare(o Key) int {
	return cmp.Or(cmp.Compare(k.Transform, o.Transform), cmp.Compare(k.Namespace, o.Namespace), cmp.Compare(k.Name, o.Name))
}
