package kafka

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Committed returns the records of topic that read_committed consumers
// may read when it is called, in partition and then offset order: those
// before each partition's last stable offset, without the records of
// aborted transactions. It is how a test or a check reads back what an
// exactly-once sink wrote: it asks each partition's last stable offset
// first and reads until every partition is past it (the transactions'
// control records, which take offsets but hold no value, move it along),
// where reading until nothing came for a while returns part of the topic
// when a fetch happens to take longer. It reads until ctx is done, then
// fails naming the partitions it did not finish. opts add to the client's
// options (TLS, SASL).
func Committed(ctx context.Context, brokers []string, topic string, opts ...kgo.Opt) ([]*kgo.Record, error) {
	ends, err := committedEnds(ctx, brokers, topic, opts)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.KeepControlRecords(),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: reading topic %q: %w", topic, err)
	}
	defer cl.Close()
	next := map[int32]int64{} // each partition's offset after the last record read
	behind := func() []int32 {
		var ps []int32
		for p, end := range ends {
			if next[p] < end {
				ps = append(ps, p)
			}
		}
		slices.Sort(ps)
		return ps
	}
	var out []*kgo.Record
	for len(behind()) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("kafka: topic %q: partitions %v not read to their last stable offsets: %w", topic, behind(), err)
		}
		var ferr error
		fs.EachError(func(_ string, p int32, err error) {
			ferr = fmt.Errorf("kafka: reading topic %q partition %d: %w", topic, p, err)
		})
		if ferr != nil {
			return nil, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			next[r.Partition] = max(next[r.Partition], r.Offset+1)
			if !r.Attrs.IsControl() && r.Offset < ends[r.Partition] {
				out = append(out, r)
			}
		})
	}
	slices.SortStableFunc(out, func(a, b *kgo.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	return out, nil
}

// committedEnds returns the last stable offset of each partition of topic.
func committedEnds(ctx context.Context, brokers []string, topic string, opts []kgo.Opt) (map[int32]int64, error) {
	parts, err := Partitions(ctx, brokers, topic, opts...)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: topic %q: %w", topic, err)
	}
	defer cl.Close()
	req := kmsg.NewPtrListOffsetsRequest()
	req.IsolationLevel = 1 // read_committed: the last stable offset
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, p := range parts {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p, -1 // the end
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafka: last stable offsets of topic %q: %w", topic, err)
	}
	ends := map[int32]int64{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("kafka: last stable offset of topic %q partition %d: %w", topic, p.Partition, err)
			}
			ends[p.Partition] = p.Offset
		}
	}
	if len(ends) != len(parts) {
		return nil, fmt.Errorf("kafka: last stable offsets of topic %q: %d partitions answered of %d", topic, len(ends), len(parts))
	}
	return ends, nil
}
