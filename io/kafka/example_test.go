package kafka_test

import (
	"context"
	"fmt"
	"log"
	"strconv"
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
