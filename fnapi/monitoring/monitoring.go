// Package monitoring decodes Beam monitoring infos, the Fn API's and the
// JobService's form of metrics, into this project's metric values. Runners
// use it both for bundle responses from SDK workers (runner/portable) and
// for job metrics from a JobService (runner/universal).
package monitoring

import (
	"encoding/binary"
	"errors"
	"fmt"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

// UserMetrics converts the user counters, distributions and gauges among
// infos into a snapshot keyed by transform unique name (transform ids in
// the labels are resolved through transforms). Other infos are skipped; a
// user metric whose payload does not decode is an error.
func UserMetrics(infos []*pipepb.MonitoringInfo, transforms map[string]*pipepb.PTransform) (metrics.Snapshot, error) {
	m := metrics.Snapshot{
		Counters:      map[metrics.Key]int64{},
		Distributions: map[metrics.Key]metrics.DistributionValue{},
		Gauges:        map[metrics.Key]metrics.GaugeValue{},
	}
	for _, mi := range infos {
		labels := mi.GetLabels()
		name := labels[urns.LabelTransform]
		if t, ok := transforms[name]; ok {
			name = t.GetUniqueName()
		}
		k := metrics.Key{Transform: name, Namespace: labels[urns.LabelNamespace], Name: labels[urns.LabelName]}
		switch mi.GetUrn() {
		case urns.MetricUserSumInt64:
			v, err := ReadVarints(mi.GetPayload(), 1)
			if err != nil {
				return m, fmt.Errorf("monitoring: counter %v: %w", k, err)
			}
			m.Counters[k] += v[0]
		case urns.MetricUserDistributionInt64:
			v, err := ReadVarints(mi.GetPayload(), 4)
			if err != nil {
				return m, fmt.Errorf("monitoring: distribution %v: %w", k, err)
			}
			m.Distributions[k] = m.Distributions[k].Merge(metrics.DistributionValue{Count: v[0], Sum: v[1], Min: v[2], Max: v[3]})
		case urns.MetricUserLatestInt64:
			v, err := ReadVarints(mi.GetPayload(), 2)
			if err != nil {
				return m, fmt.Errorf("monitoring: gauge %v: %w", k, err)
			}
			g := metrics.GaugeValue{Timestamp: v[0], Value: v[1]}
			if cur, ok := m.Gauges[k]; !ok || g.Timestamp >= cur.Timestamp {
				m.Gauges[k] = g
			}
		}
	}
	return m, nil
}

// ReadVarints decodes exactly n of Beam's varint-coded int64s.
func ReadVarints(b []byte, n int) ([]int64, error) {
	out := make([]int64, n)
	for i := range out {
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errors.New("malformed varint payload")
		}
		out[i], b = int64(v), b[k:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d trailing payload bytes", len(b))
	}
	return out, nil
}
