package monitoring_test

import (
	"encoding/binary"
	"strings"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/fnapi/monitoring"
	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

func varints(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func info(urn string, payload []byte) *pipepb.MonitoringInfo {
	return &pipepb.MonitoringInfo{Urn: urn, Payload: payload, Labels: map[string]string{
		urns.LabelTransform: "t1", urns.LabelNamespace: "ns", urns.LabelName: "n"}}
}

func TestUserMetricsDecodesAndMerges(t *testing.T) {
	transforms := map[string]*pipepb.PTransform{"t1": {UniqueName: "Count/Words"}}
	got, err := monitoring.UserMetrics([]*pipepb.MonitoringInfo{
		info(urns.MetricUserSumInt64, varints(3)),
		info(urns.MetricUserSumInt64, varints(4)),
		info(urns.MetricUserDistributionInt64, varints(2, 10, 4, 6)),
		info(urns.MetricUserDistributionInt64, varints(1, 1, 1, 1)),
		info(urns.MetricUserLatestInt64, varints(100, 7)),
		info(urns.MetricUserLatestInt64, varints(50, 9)),
		info(urns.MetricElementCount, varints(99)),
	}, transforms)
	if err != nil {
		t.Fatalf("UserMetrics: %v", err)
	}
	k := metrics.Key{Transform: "Count/Words", Namespace: "ns", Name: "n"}
	want := metrics.Snapshot{
		Counters:      map[metrics.Key]int64{k: 7},
		Distributions: map[metrics.Key]metrics.DistributionValue{k: {Count: 3, Sum: 11, Min: 1, Max: 6}},
		Gauges:        map[metrics.Key]metrics.GaugeValue{k: {Timestamp: 100, Value: 7}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UserMetrics (-want +got):\n%s", diff)
	}
}

func TestUserMetricsRejectsMalformedPayloads(t *testing.T) {
	for _, mi := range []*pipepb.MonitoringInfo{
		info(urns.MetricUserSumInt64, nil),
		info(urns.MetricUserSumInt64, varints(1, 2)),
		info(urns.MetricUserDistributionInt64, varints(1, 2, 3)),
		info(urns.MetricUserLatestInt64, []byte{0xff}),
	} {
		if _, err := monitoring.UserMetrics([]*pipepb.MonitoringInfo{mi}, nil); err == nil || !strings.Contains(err.Error(), "monitoring:") {
			t.Errorf("UserMetrics(%s %x) = %v, want a monitoring error", mi.GetUrn(), mi.GetPayload(), err)
		}
	}
}
