// Package monitoring decodes Beam monitoring infos, the Fn API's and the
// JobService's form of metrics, into this project's metric values. Runners
// use it both for bundle responses from SDK workers (runner/portable) and
// for job metrics from a JobService (runner/universal).
package monitoring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

// UserMetrics converts the user counters, distributions, gauges, string
// sets and bounded tries among infos into a snapshot keyed by transform unique name (transform ids in
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
		case urns.MetricUserStringSet:
			v, err := ReadStringSet(mi.GetPayload())
			if err != nil {
				return m, fmt.Errorf("monitoring: string set %v: %w", k, err)
			}
			if m.StringSets == nil {
				m.StringSets = map[metrics.Key]metrics.StringSetValue{}
			}
			m.StringSets[k] = m.StringSets[k].Merge(v)
		case urns.MetricUserBoundedTrie:
			v, err := ReadBoundedTrie(mi.GetPayload())
			if err != nil {
				return m, fmt.Errorf("monitoring: bounded trie %v: %w", k, err)
			}
			if m.BoundedTries == nil {
				m.BoundedTries = map[metrics.Key]metrics.BoundedTrieValue{}
			}
			m.BoundedTries[k] = m.BoundedTries[k].Merge(v)
		}
	}
	return m, nil
}

// ReadStringSet decodes the payload of a string set (type
// beam:metrics:set_string:v1): a beam:coder:iterable:v1 of
// beam:coder:string_utf8:v1, either with its length up front or in
// blocks (length -1, then block sizes, the last 0).
func ReadStringSet(b []byte) (metrics.StringSetValue, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("string set payload of %d bytes: want a 4-byte length first", len(b))
	}
	n := int32(binary.BigEndian.Uint32(b))
	b = b[4:]
	var strs []string
	read := func(count uint64) error {
		for i := uint64(0); i < count; i++ {
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return fmt.Errorf("string %d of the set: malformed length", len(strs))
			}
			s := b[k : k+int(l)]
			if !utf8.Valid(s) {
				return fmt.Errorf("string %d of the set is not UTF-8", len(strs))
			}
			strs = append(strs, string(s))
			b = b[k+int(l):]
		}
		return nil
	}
	switch {
	case n >= 0:
		if err := read(uint64(n)); err != nil {
			return nil, err
		}
	case n == -1:
		for {
			count, k := binary.Uvarint(b)
			if k <= 0 {
				return nil, errors.New("string set payload: malformed block size")
			}
			b = b[k:]
			if count == 0 {
				break
			}
			if err := read(count); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("string set payload: length %d", n)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d trailing payload bytes", len(b))
	}
	return metrics.NewStringSet(strs...), nil
}

// StringSetPayload encodes a string set as ReadStringSet reads it, its
// length up front.
func StringSetPayload(v metrics.StringSetValue) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(v)))
	for _, s := range v {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// ReadBoundedTrie decodes the payload of a bounded trie (type
// beam:metrics:bounded_trie:v1): a BoundedTrie message, whose root or
// singleton sequence holds the values.
func ReadBoundedTrie(b []byte) (metrics.BoundedTrieValue, error) {
	var pb pipepb.BoundedTrie
	if err := proto.Unmarshal(b, &pb); err != nil {
		return metrics.BoundedTrieValue{}, fmt.Errorf("bounded trie payload: %w", err)
	}
	bound := int(pb.GetBound())
	switch {
	case pb.GetRoot() != nil:
		v := metrics.BoundedTrieValue{Bound: bound, Root: trieNode(pb.GetRoot())}
		// Merging into nothing applies the default bound and trims.
		return metrics.BoundedTrieValue{}.Merge(v), nil
	case len(pb.GetSingleton()) > 0:
		return metrics.NewBoundedTrie(bound, pb.GetSingleton()), nil
	}
	return metrics.NewBoundedTrie(bound), nil
}

func trieNode(pb *pipepb.BoundedTrieNode) *metrics.TrieNode {
	n := &metrics.TrieNode{Truncated: pb.GetTruncated()}
	if n.Truncated || len(pb.GetChildren()) == 0 {
		return n
	}
	n.Children = make(map[string]*metrics.TrieNode, len(pb.GetChildren()))
	for k, c := range pb.GetChildren() {
		n.Children[k] = trieNode(c)
	}
	return n
}

// BoundedTriePayload encodes a bounded trie as ReadBoundedTrie reads it;
// it fails only on a segment that is not UTF-8.
func BoundedTriePayload(v metrics.BoundedTrieValue) ([]byte, error) {
	pb := &pipepb.BoundedTrie{Bound: int32(min(v.Bound, math.MaxInt32))}
	if v.Root != nil {
		pb.Root = trieNodeProto(v.Root)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("monitoring: bounded trie payload: %w", err)
	}
	return b, nil
}

func trieNodeProto(n *metrics.TrieNode) *pipepb.BoundedTrieNode {
	pb := &pipepb.BoundedTrieNode{Truncated: n.Truncated}
	if len(n.Children) > 0 {
		pb.Children = make(map[string]*pipepb.BoundedTrieNode, len(n.Children))
		for k, c := range n.Children {
			pb.Children[k] = trieNodeProto(c)
		}
	}
	return pb
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
