package harness

import (
	"encoding/binary"
	"sort"
	"strconv"
	"strings"
	"sync"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

// shortIDs assigns the short ids of monitoring infos (Beam's
// monitoring_info_short_ids protocol): a bundle response carries only
// id -> payload, and the runner asks for the metadata of ids it has not
// seen. It is safe for concurrent use.
type shortIDs struct {
	// mu guards the fields below.
	mu    sync.Mutex
	byKey map[string]string
	infos map[string]*pipepb.MonitoringInfo
}

func newShortIDs() *shortIDs {
	return &shortIDs{byKey: map[string]string{}, infos: map[string]*pipepb.MonitoringInfo{}}
}

// id returns the short id of the metric with urn and labels, assigning one.
func (s *shortIDs) id(urn, typ string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(urn)
	for _, k := range keys {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(labels[k])
	}
	key := b.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byKey[key]; ok {
		return id
	}
	id := strconv.FormatInt(int64(len(s.byKey)+1), 36)
	s.byKey[key] = id
	s.infos[id] = &pipepb.MonitoringInfo{Urn: urn, Type: typ, Labels: labels}
	return id
}

// lookup returns the metadata (without payloads) of the given short ids;
// unknown ids are left out.
func (s *shortIDs) lookup(ids []string) map[string]*pipepb.MonitoringInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*pipepb.MonitoringInfo, len(ids))
	for _, id := range ids {
		if mi, ok := s.infos[id]; ok {
			out[id] = mi
		}
	}
	return out
}

// varints encodes int64s as Beam's varint coder does (two's complement, no
// zigzag), the payload encoding of the int64 metric types.
func varints(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

// monitoringData is the monitoring payload of a bundle, and optionally the
// full infos for runners without short id support.
type monitoringData struct {
	ids     *shortIDs
	full    bool
	payload map[string][]byte
	infos   []*pipepb.MonitoringInfo
}

func (m *monitoringData) add(urn, typ string, labels map[string]string, payload []byte) {
	m.payload[m.ids.id(urn, typ, labels)] = payload
	if m.full {
		m.infos = append(m.infos, &pipepb.MonitoringInfo{Urn: urn, Type: typ, Labels: labels, Payload: payload})
	}
}

// monitoring reports the user metrics of a bundle and the element counts of
// its sources. transformID maps a metric's transform unique name to the
// descriptor's transform id, the PTRANSFORM label runners expect.
func monitoring(ids *shortIDs, full bool, snap metrics.Snapshot, transformID func(string) string, sources []sourceCount) *monitoringData {
	m := &monitoringData{ids: ids, full: full, payload: map[string][]byte{}}
	user := func(k metrics.Key) map[string]string {
		return map[string]string{urns.LabelTransform: transformID(k.Transform), urns.LabelNamespace: k.Namespace, urns.LabelName: k.Name}
	}
	for _, k := range metrics.SortedKeys(snap.Counters) {
		m.add(urns.MetricUserSumInt64, urns.MetricTypeSumInt64, user(k), varints(snap.Counters[k]))
	}
	for _, k := range metrics.SortedKeys(snap.Distributions) {
		d := snap.Distributions[k]
		if d.Count == 0 {
			continue
		}
		m.add(urns.MetricUserDistributionInt64, urns.MetricTypeDistributionInt64, user(k), varints(d.Count, d.Sum, d.Min, d.Max))
	}
	for _, k := range metrics.SortedKeys(snap.Gauges) {
		g := snap.Gauges[k]
		m.add(urns.MetricUserLatestInt64, urns.MetricTypeLatestInt64, user(k), varints(g.Timestamp, g.Value))
	}
	for _, s := range sources {
		m.add(urns.MetricElementCount, urns.MetricTypeSumInt64, map[string]string{urns.LabelPCollection: s.pcollection}, varints(s.elements))
		// The read index is the index of the last element read.
		m.add(urns.MetricDataChannelReadIndex, urns.MetricTypeSumInt64, map[string]string{urns.LabelTransform: s.transform}, varints(s.elements-1))
	}
	return m
}

// sourceCount is how many elements a data source has decoded.
type sourceCount struct {
	transform, pcollection string
	elements               int64
}
