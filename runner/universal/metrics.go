package universal

import (
	"encoding/binary"
	"errors"
	"fmt"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"beamgo/proto/urns"
	"beamgo/runner"
)

// metricsOf converts a job's monitoring infos into user metrics keyed by
// transform unique name, as the local runner reports them. Other metrics
// (element counts, execution times) are skipped; a user metric whose
// payload does not decode is an error.
func metricsOf(infos []*pipepb.MonitoringInfo, transforms map[string]*pipepb.PTransform) (runner.Metrics, error) {
	m := runner.Metrics{
		Counters:      map[runner.MetricKey]int64{},
		Distributions: map[runner.MetricKey]runner.DistributionValue{},
		Gauges:        map[runner.MetricKey]runner.GaugeValue{},
	}
	for _, mi := range infos {
		labels := mi.GetLabels()
		name := labels[urns.LabelTransform]
		if t, ok := transforms[name]; ok {
			name = t.GetUniqueName()
		}
		k := runner.MetricKey{Transform: name, Namespace: labels[urns.LabelNamespace], Name: labels[urns.LabelName]}
		switch mi.GetUrn() {
		case urns.MetricUserSumInt64:
			v, err := readVarints(mi.GetPayload(), 1)
			if err != nil {
				return m, fmt.Errorf("counter %v: %w", k, err)
			}
			m.Counters[k] += v[0]
		case urns.MetricUserDistributionInt64:
			v, err := readVarints(mi.GetPayload(), 4)
			if err != nil {
				return m, fmt.Errorf("distribution %v: %w", k, err)
			}
			d := runner.DistributionValue{Count: v[0], Sum: v[1], Min: v[2], Max: v[3]}
			m.Distributions[k] = m.Distributions[k].Merge(d)
		case urns.MetricUserLatestInt64:
			v, err := readVarints(mi.GetPayload(), 2)
			if err != nil {
				return m, fmt.Errorf("gauge %v: %w", k, err)
			}
			g := runner.GaugeValue{Timestamp: v[0], Value: v[1]}
			if cur, ok := m.Gauges[k]; !ok || g.Timestamp >= cur.Timestamp {
				m.Gauges[k] = g
			}
		}
	}
	return m, nil
}

// readVarints decodes exactly n of Beam's varint-coded int64s.
func readVarints(b []byte, n int) ([]int64, error) {
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
