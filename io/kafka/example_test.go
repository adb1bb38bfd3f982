package kafka_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beamgo-dev/beamgo/io/kafka"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Write sends a collection to a topic exactly once per epoch, and a
// PartitionReader reads it back from offset 0, checkpointing with Mark.
// kfake is an in-process Kafka broker.
func ExampleWrite() {
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "squares"))
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()
	brokers := broker.ListenAddrs()

	p := sdk.NewPipeline()
	s := p.Root()
	squares := sdk.Map(s, func(v int) int { return v * v }, sdk.Create(s, []int{1, 2, 3}))
	kafka.Write(s, squares, func(v int) *kgo.Record {
		return &kgo.Record{Value: []byte(strconv.Itoa(v))}
	}, kafka.SinkOptions{Brokers: brokers, Topic: "squares"})
	if _, err := local.New(nil).Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	r, err := kafka.NewPartitionReader(ctx, kafka.ReaderOptions{
		Brokers: brokers, Topic: "squares", Partition: 0, Offset: 0,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	var got []string
	for len(got) < 3 {
		recs, err := r.Poll(ctx, 10, 5*time.Second)
		if err != nil {
			log.Fatal(err)
		}
		for _, rec := range recs {
			got = append(got, string(rec.Value))
		}
	}
	fmt.Println(len(got), "records; resume at", r.Mark().NextOffset)
	// Output: 3 records; resume at 3
}

// Committed reads back what an exactly-once sink wrote: every record
// committed to the topic when it is called, in partition and offset
// order.
func ExampleCommitted() {
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "words"))
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()
	brokers := broker.ListenAddrs()

	p := sdk.NewPipeline()
	s := p.Root()
	kafka.Write(s, sdk.Create(s, []string{"a", "b", "c"}), func(w string) *kgo.Record {
		return &kgo.Record{Value: []byte(w)}
	}, kafka.SinkOptions{Brokers: brokers, Topic: "words"})
	if _, err := local.New(nil).Run(context.Background(), p); err != nil {
		log.Fatal(err)
	}

	recs, err := kafka.Committed(context.Background(), brokers, "words")
	if err != nil {
		log.Fatal(err)
	}
	var words []string
	for _, r := range recs {
		words = append(words, string(r.Value))
	}
	slices.Sort(words)
	fmt.Println(words)
	// Output: [a b c]
}

// Read reads a topic as an unbounded PCollection, resuming each partition
// from its last committed offset after a failure; here the job is drained
// once it has seen the three records.
func ExampleRead() {
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events"))
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()
	brokers := broker.ListenAddrs()
	ctx := context.Background()
	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("events"))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()
	for _, v := range []string{"a", "b", "c"} {
		if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			log.Fatal(err)
		}
	}

	p := sdk.NewPipeline()
	s := p.Root()
	msgs := kafka.Read(s, kafka.ReadOptions{Brokers: brokers, Topics: []string{"events"}})
	drain := make(chan struct{})
	var seen atomic.Int64
	var once sync.Once
	sdk.ForEachFunc(s, func(_ context.Context, m kafka.Message) error {
		fmt.Printf("%s at %s/%d/%d\n", m.Value, m.Topic, m.Partition, m.Offset)
		if seen.Add(1) == 3 {
			once.Do(func() { close(drain) })
		}
		return nil
	}, msgs)
	if _, err := local.New(&local.Options{Job: local.Job{Drain: drain}}).Run(ctx, p); err != nil {
		log.Fatal(err)
	}
	// Unordered output:
	// a at events/0/0
	// b at events/0/1
	// c at events/0/2
}
