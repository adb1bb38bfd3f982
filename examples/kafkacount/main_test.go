package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Words with known event times in two partitions give known counts per
// window; every window fires while the job runs (the partitions go idle,
// so their watermarks pass the windows' ends), and each count is written
// once.
func TestCountsPerWindowInTheOutputTopic(t *testing.T) {
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "words"), kfake.SeedTopics(1, "counts"))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	brokers := broker.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("words"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// 600 records over 3 seconds: record i is word i%9 at 5ms*i, in
	// partition i%2; counts per (second, word) are kept as the reference.
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := map[string]int{}
	var recs []*kgo.Record
	for i := range 600 {
		ts := base.Add(time.Duration(i) * 5 * time.Millisecond)
		w := words[i%len(words)]
		recs = append(recs, &kgo.Record{Value: []byte(w), Timestamp: ts, Partition: int32(i % 2)})
		want[fmt.Sprintf("%s %s", ts.Truncate(time.Second).Format(time.RFC3339Nano), w)]++
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var wantLines []string
	for k, n := range want {
		wantLines = append(wantLines, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(wantLines)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	drain := make(chan struct{})
	done := make(chan error, 1)
	cfg := Config{Brokers: brokers, In: "words", Out: "counts", Window: time.Second, IdleAfter: 300 * time.Millisecond}
	go func() { done <- Run(ctx, cfg, drain) }()
	var got []string
	for len(got) < len(wantLines) && ctx.Err() == nil {
		select {
		case err := <-done:
			t.Fatalf("the job ended early: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if got, err = ReadAll(ctx, brokers, "counts"); err != nil {
			t.Fatal(err)
		}
	}
	close(drain)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, err = ReadAll(ctx, brokers, "counts"); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if diff := cmp.Diff(wantLines, got); diff != "" {
		t.Errorf("counts topic (-want +got):\n%s", diff)
	}
}
