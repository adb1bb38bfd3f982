package monitoring_test

import (
	"encoding/binary"
	"strings"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

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

// String sets arrive as Beam's iterable of UTF-8 strings, its length up
// front (as Beam Python sends it) or in blocks; the sets of one metric
// unite. Bounded tries arrive as BoundedTrie messages, with a root or a
// singleton sequence.
func TestUserMetricsDecodesStringSetsAndBoundedTries(t *testing.T) {
	sized := []byte{0, 0, 0, 2, 1, 'a', 3, 'z', 'z', 'z'}
	blocks := []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 0xc3, 0xa9, 1, 1, 'a', 0}
	single, err := proto.Marshal(&pipepb.BoundedTrie{Bound: 100, Singleton: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	rooted, err := proto.Marshal(&pipepb.BoundedTrie{Bound: 50, Root: &pipepb.BoundedTrieNode{Children: map[string]*pipepb.BoundedTrieNode{
		"a": {Children: map[string]*pipepb.BoundedTrieNode{"c": {}}},
		"d": {Truncated: true},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := monitoring.UserMetrics([]*pipepb.MonitoringInfo{
		info(urns.MetricUserStringSet, sized),
		info(urns.MetricUserStringSet, blocks),
		info(urns.MetricUserBoundedTrie, single),
		info(urns.MetricUserBoundedTrie, rooted),
	}, nil)
	if err != nil {
		t.Fatalf("UserMetrics: %v", err)
	}
	k := metrics.Key{Transform: "t1", Namespace: "ns", Name: "n"}
	if diff := cmp.Diff(metrics.StringSetValue{"a", "zzz", "é"}, got.StringSets[k]); diff != "" {
		t.Errorf("string set (-want +got):\n%s", diff)
	}
	trie := got.BoundedTries[k]
	want := []metrics.TrieLeaf{{Segments: []string{"a", "b"}}, {Segments: []string{"a", "c"}}, {Segments: []string{"d"}, Truncated: true}}
	if diff := cmp.Diff(want, trie.Leaves()); diff != "" {
		t.Errorf("bounded trie leaves (-want +got):\n%s", diff)
	}
	if trie.Bound != 50 {
		t.Errorf("bound %d, want the smaller, 50", trie.Bound)
	}
}

// What the job service encodes, the decoder reads back.
func TestStringSetAndBoundedTriePayloadsRoundTrip(t *testing.T) {
	set := metrics.NewStringSet("", "x", "日本")
	back, err := monitoring.ReadStringSet(monitoring.StringSetPayload(set))
	if err != nil || !cmp.Equal(set, back) {
		t.Errorf("string set round trip = %v, %v; want %v", back, err, set)
	}
	trie := metrics.NewBoundedTrie(3, []string{"a", "b"}, []string{"a", "c"}, []string{"a", "d"}, []string{"e"}, nil)
	payload, err := monitoring.BoundedTriePayload(trie)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := monitoring.ReadBoundedTrie(payload)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(trie, tb); diff != "" {
		t.Errorf("bounded trie round trip (-want +got):\n%s", diff)
	}
	empty, err := monitoring.BoundedTriePayload(metrics.NewBoundedTrie(9))
	if err != nil {
		t.Fatal(err)
	}
	if tb, err := monitoring.ReadBoundedTrie(empty); err != nil || tb.Root != nil || tb.Bound != 9 {
		t.Errorf("empty trie round trip = %+v, %v", tb, err)
	}
}

func TestStringSetAndBoundedTrieRejectMalformedPayloads(t *testing.T) {
	for name, mi := range map[string]*pipepb.MonitoringInfo{
		"no length":        info(urns.MetricUserStringSet, []byte{0, 0}),
		"short string":     info(urns.MetricUserStringSet, []byte{0, 0, 0, 1, 5, 'a'}),
		"missing string":   info(urns.MetricUserStringSet, []byte{0, 0, 0, 2, 1, 'a'}),
		"not UTF-8":        info(urns.MetricUserStringSet, []byte{0, 0, 0, 1, 1, 0xff}),
		"trailing bytes":   info(urns.MetricUserStringSet, []byte{0, 0, 0, 0, 7}),
		"negative length":  info(urns.MetricUserStringSet, []byte{0xff, 0xff, 0xff, 0xfe}),
		"unended blocks":   info(urns.MetricUserStringSet, []byte{0xff, 0xff, 0xff, 0xff, 1, 1, 'a'}),
		"not a trie proto": info(urns.MetricUserBoundedTrie, []byte{0xff, 0xff}),
	} {
		if _, err := monitoring.UserMetrics([]*pipepb.MonitoringInfo{mi}, nil); err == nil || !strings.Contains(err.Error(), "monitoring:") {
			t.Errorf("%s: UserMetrics(%s %x) = %v, want a monitoring error", name, mi.GetUrn(), mi.GetPayload(), err)
		}
	}
}
