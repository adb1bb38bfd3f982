package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The raw group-offset requests of this package name topics by name and
// by ID: newer request versions (OffsetCommit v10, TxnOffsetCommit v6,
// OffsetFetch v10) address topics by ID only, older brokers by name only.

// topicID returns a topic's ID from the brokers' metadata.
func topicID(ctx context.Context, cl *kgo.Client, topic string) ([16]byte, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return [16]byte{}, err
	}
	for _, t := range resp.Topics {
		if t.Topic != nil && *t.Topic == topic {
			return t.TopicID, kerr.ErrorForCode(t.ErrorCode)
		}
	}
	return [16]byte{}, kerr.UnknownTopicOrPartition
}

// fetchOffset returns the offset group committed for a partition, waiting
// for a transactional commit in flight (RequireStable); ok is false when
// it committed none.
func fetchOffset(ctx context.Context, cl *kgo.Client, group, topic string, partition int32) (offset int64, ok bool, err error) {
	id, err := topicID(ctx, cl, topic)
	if err != nil {
		return 0, false, err
	}
	return fetchOffsetOf(ctx, cl, group, topic, id, partition)
}

// fetchOffsetOf is fetchOffset for a topic whose ID is known.
func fetchOffsetOf(ctx context.Context, cl *kgo.Client, group, topic string, id [16]byte, partition int32) (offset int64, ok bool, err error) {
	for {
		offset, ok, err = fetchOffsetOnce(ctx, cl, group, topic, id, partition)
		if !errors.Is(err, kerr.UnstableOffsetCommit) {
			return offset, ok, err
		}
		// A transaction that commits this group's offset is still
		// completing: ask again shortly.
		select {
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func fetchOffsetOnce(ctx context.Context, cl *kgo.Client, group, topic string, id [16]byte, partition int32) (offset int64, ok bool, err error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.RequireStable = true
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic, gt.TopicID, gt.Partitions = topic, id, []int32{partition}
	g.Topics = append(g.Topics, gt)
	req.Groups = append(req.Groups, g)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, false, err
	}
	for _, rg := range resp.Groups {
		if err := kerr.ErrorForCode(rg.ErrorCode); err != nil {
			if errors.Is(err, kerr.GroupIDNotFound) {
				return 0, false, nil
			}
			return 0, false, err
		}
		for _, t := range rg.Topics {
			for _, p := range t.Partitions {
				if p.Partition != partition {
					continue
				}
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return 0, false, err
				}
				return p.Offset, p.Offset >= 0, nil
			}
		}
	}
	return 0, false, nil
}

// commitOffset commits offset for group outside any transaction, as an
// administrative commit (no member, generation -1).
func commitOffset(ctx context.Context, cl *kgo.Client, group, topic string, partition int32, offset int64) error {
	id, err := topicID(ctx, cl, topic)
	if err != nil {
		return err
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation, req.MemberID = group, -1, ""
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = partition, offset, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return err
			}
		}
	}
	return nil
}

// txnCommitOffset adds group to the open transaction of the producer and
// commits offset for it there: the offset becomes visible when, and only
// if, the transaction commits. id is the topic's ID.
func txnCommitOffset(ctx context.Context, cl *kgo.Client, txnID, group, topic string, id [16]byte, partition int32, offset int64) error {
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("producer ID: %w", err)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = txnID, pid, epoch, group
	addResp, err := add.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(addResp.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("add offsets to transaction: %w", err)
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = txnID, group, pid, epoch
	req.Generation, req.MemberID = -1, ""
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = partition, offset, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return err
			}
		}
	}
	return nil
}

// Partitions returns the partitions of topic, in order: the splits of a
// Kafka source. Call it again to find partitions added since.
func Partitions(ctx context.Context, brokers []string, topic string, opts ...kgo.Opt) ([]int32, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: topic %q: %w", topic, err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafka: partitions of topic %q: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return nil, fmt.Errorf("kafka: partitions of topic %q: %w", topic, err)
		}
		ps := make([]int32, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ps = append(ps, p.Partition)
		}
		slices.Sort(ps)
		return ps, nil
	}
	return nil, fmt.Errorf("kafka: partitions of topic %q: %w", topic, kerr.UnknownTopicOrPartition)
}
