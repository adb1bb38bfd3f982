package sdk

import (
	"context"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/operator"
)

// Counter is a user metric that sums the values reported to it, per
// transform. Declare counters once (package level or in a DoFn's fields) and
// report from ProcessElement and the lifecycle methods through their ctx;
// runners aggregate them across bundles and workers and return them with
// the job's result. A Counter is safe for concurrent use.
type Counter struct{ namespace, name string }

// NewCounter returns the counter name in namespace.
func NewCounter(namespace, name string) *Counter { return &Counter{namespace, name} }

// Inc adds n to the counter. Outside a DoFn call it does nothing.
func (c *Counter) Inc(ctx context.Context, n int64) {
	ec := operator.FromContext(ctx)
	if ec == nil || ec.Env == nil || ec.Env.Metrics == nil {
		return
	}
	cell := ec.Cell(c, func() any {
		return ec.Env.Metrics.Counter(metrics.Key{Transform: ec.Env.UniqueName, Namespace: c.namespace, Name: c.name})
	}).(*metrics.CounterCell)
	cell.Add(n)
}

// Distribution is a user metric that records count, sum, min and max of the
// values reported to it. It is safe for concurrent use.
type Distribution struct{ namespace, name string }

// NewDistribution returns the distribution name in namespace.
func NewDistribution(namespace, name string) *Distribution { return &Distribution{namespace, name} }

// Update records v. Outside a DoFn call it does nothing.
func (d *Distribution) Update(ctx context.Context, v int64) {
	ec := operator.FromContext(ctx)
	if ec == nil || ec.Env == nil || ec.Env.Metrics == nil {
		return
	}
	cell := ec.Cell(d, func() any {
		return ec.Env.Metrics.Distribution(metrics.Key{Transform: ec.Env.UniqueName, Namespace: d.namespace, Name: d.name})
	}).(*metrics.DistributionCell)
	cell.Update(v)
}

// Gauge is a user metric that keeps the latest value reported to it. It is
// safe for concurrent use.
type Gauge struct{ namespace, name string }

// NewGauge returns the gauge name in namespace.
func NewGauge(namespace, name string) *Gauge { return &Gauge{namespace, name} }

// Set records v as the gauge's current value. Outside a DoFn call it does nothing.
func (g *Gauge) Set(ctx context.Context, v int64) {
	ec := operator.FromContext(ctx)
	if ec == nil || ec.Env == nil || ec.Env.Metrics == nil {
		return
	}
	cell := ec.Cell(g, func() any {
		return ec.Env.Metrics.Gauge(metrics.Key{Transform: ec.Env.UniqueName, Namespace: g.namespace, Name: g.name})
	}).(*metrics.GaugeCell)
	cell.Set(v, time.Now().UnixMilli())
}
