package jobservice

import (
	"encoding/binary"
	"fmt"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/fnapi/monitoring"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
)

// monitoringInfos encodes a job's user metrics as Beam monitoring infos,
// labelled with the id of the transform whose unique name the metric
// carries (or the name itself if no transform has it).
func monitoringInfos(m fnrunner.Metrics, p *pipepb.Pipeline) ([]*pipepb.MonitoringInfo, error) {
	ids := map[string]string{}
	for id, t := range p.GetComponents().GetTransforms() {
		ids[t.GetUniqueName()] = id
	}
	labels := func(k fnrunner.MetricKey) map[string]string {
		t := k.Transform
		if id, ok := ids[t]; ok {
			t = id
		}
		return map[string]string{urns.LabelTransform: t, urns.LabelNamespace: k.Namespace, urns.LabelName: k.Name}
	}
	var out []*pipepb.MonitoringInfo
	for k, v := range m.Counters {
		out = append(out, &pipepb.MonitoringInfo{
			Urn: urns.MetricUserSumInt64, Type: urns.MetricTypeSumInt64,
			Labels: labels(k), Payload: varints(v),
		})
	}
	for k, v := range m.Distributions {
		out = append(out, &pipepb.MonitoringInfo{
			Urn: urns.MetricUserDistributionInt64, Type: urns.MetricTypeDistributionInt64,
			Labels: labels(k), Payload: varints(v.Count, v.Sum, v.Min, v.Max),
		})
	}
	for k, v := range m.Gauges {
		out = append(out, &pipepb.MonitoringInfo{
			Urn: urns.MetricUserLatestInt64, Type: urns.MetricTypeLatestInt64,
			Labels: labels(k), Payload: varints(v.Timestamp, v.Value),
		})
	}
	for k, v := range m.StringSets {
		out = append(out, &pipepb.MonitoringInfo{
			Urn: urns.MetricUserStringSet, Type: urns.MetricTypeStringSet,
			Labels: labels(k), Payload: monitoring.StringSetPayload(v),
		})
	}
	for k, v := range m.BoundedTries {
		payload, err := monitoring.BoundedTriePayload(v)
		if err != nil {
			return nil, fmt.Errorf("jobservice: metric %v: %w", k, err)
		}
		out = append(out, &pipepb.MonitoringInfo{
			Urn: urns.MetricUserBoundedTrie, Type: urns.MetricTypeBoundedTrie,
			Labels: labels(k), Payload: payload,
		})
	}
	return out, nil
}

// varints encodes vs in Beam's varint coding of int64.
func varints(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}
