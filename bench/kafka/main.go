// Command kafka measures Kafka to Kafka through a stateless map: our
// kafka.Read, sdk.Map and the exactly-once kafka.Write on the local runner,
// against a hand-written franz-go consume-transform-produce loop, on the
// same in-process broker (kfake) and records, runs interleaved.
//
//	go run ./bench/kafka -records=200000 -runs=3
//
// The input topic has -partitions partitions (default one per core),
// filled once with -records records of -size bytes. Each run reads all of
// them, upper-cases each value, and writes the results to a fresh output
// topic; the time is from the start until a read_committed consumer of
// the output (the same in both runs) has seen every record, which it also
// checks: each value exactly once.
//
// The hand-written loop (-impl=hand) is one goroutine per partition, each
// with its own consumer of the partition and transactional producer: poll
// up to -batch records, produce their results in one transaction, commit,
// repeat; the offsets stay in memory (no consumer group), nothing is
// recorded for replays. -hand=plain drops the transactions (idempotent
// producer only). Ours (-impl=beamgo) cuts an epoch (one transaction per
// shard) every -epoch of processing time, with one shard per partition.
//
// Ours runs without the soft memory limit the local runner sets by default
// (-memory_limit=-1), as the hand-written loop does: this process also
// holds the in-process broker's topics and the verifying consumer, 80-120
// MB at the peak, which that limit, sized for a job's own budget, counts
// as the job's, so that the collector ran back to back (more than half of
// ours' CPU). -memory_limit=0 restores the runner's default.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"golang.org/x/sync/errgroup"

	"github.com/beamgo-dev/beamgo/bench/internal/cpuprof"
	"github.com/beamgo-dev/beamgo/io/kafka"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// config is what every run shares.
type config struct {
	brokers    []string
	partitions int32
	// perPartition is how many records each input partition holds.
	perPartition []int
	records      int
	batch        int
	hand         string
	epoch        time.Duration
	parallelism  int
	memoryLimit  int64
	turn         int
	// readDone receives nil once runRead has counted every record.
	readDone chan error
}

func main() {
	records := flag.Int("records", 200_000, "records in the input topic")
	size := flag.Int("size", 100, "bytes per record value")
	partitions := flag.Int("partitions", runtime.NumCPU(), "input partitions (default: one per core)")
	runs := flag.Int("runs", 3, "runs of each, interleaved")
	impl := flag.String("impl", "both", "beamgo, hand, both, or read (ours without the sink: kafka.Read and the map into a counter)")
	hand := flag.String("hand", "txn", "hand-written loop: txn (a transaction per batch) or plain (idempotent producer)")
	batch := flag.Int("batch", 10_000, "hand-written: records per poll and transaction")
	epoch := flag.Duration("epoch", 200*time.Millisecond, "ours: processing time between the sink's epochs")
	parallelism := flag.Int("parallelism", 0, "ours: bundles at once (default: number of CPUs)")
	memoryLimit := flag.Int64("memory_limit", -1, "ours: the local runner's soft memory limit in bytes (local.Options.MemoryLimit); -1 leaves the collector alone, as the hand-written loop runs, 0 is the runner's default (see the package doc)")
	turn := flag.Int("turn", 10_000, "ours: records a partition's read emits before it checkpoints (unbounded.Options.MaxRecords)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the runs of -impl here")
	memprofile := flag.String("memprofile", "", "write the heap profile at the runs' peak live heap here")
	flag.Parse()
	log.SetFlags(0)

	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(*partitions), "in"))
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()
	cfg := &config{brokers: broker.ListenAddrs(), partitions: int32(*partitions), records: *records,
		batch: *batch, hand: *hand, epoch: *epoch, parallelism: *parallelism, turn: *turn, memoryLimit: *memoryLimit}
	if err := cfg.fill(*size); err != nil {
		log.Fatal(err)
	}
	impls := map[string]func(ctx context.Context, out string) error{
		"hand":   cfg.runHand,
		"beamgo": cfg.runBeamgo,
		"read":   cfg.runRead,
	}
	order := []string{*impl}
	if *impl == "both" {
		order = []string{"hand", "beamgo"}
	}
	stop := cpuprof.Start(*cpuprofile)
	stopHeap := cpuprof.StartHeap(*memprofile)
	best := map[string]time.Duration{}
	for run := range *runs {
		for _, name := range order {
			out := fmt.Sprintf("out-%s-%d", name, run)
			d, err := cfg.measure(out, impls[name])
			if err != nil {
				log.Fatalf("%s run %d: %v", name, run, err)
			}
			fmt.Printf("%-7s run %d: %d records in %v: %.0f records/s\n", name, run, cfg.records, d.Round(time.Millisecond), float64(cfg.records)/d.Seconds())
			if b, ok := best[name]; !ok || d < b {
				best[name] = d
			}
		}
	}
	stop()
	stopHeap()
	for _, name := range order {
		fmt.Printf("best %-7s %.0f records/s\n", name, float64(cfg.records)/best[name].Seconds())
	}
	if h, b := best["hand"], best["beamgo"]; h > 0 && b > 0 {
		fmt.Printf("beamgo / hand-written: %.0f%%\n", 100*h.Seconds()/b.Seconds())
	}
}

// fill writes the input: record i, "<i> " padded to size bytes, goes to
// partition i mod partitions.
func (c *config) fill(size int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.DefaultProduceTopic("in"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	c.perPartition = make([]int, c.partitions)
	pad := bytes.Repeat([]byte("x"), size)
	start := time.Now()
	for i := range c.records {
		v := strconv.AppendInt(nil, int64(i), 10)
		v = append(v, ' ')
		v = append(v, pad[:max(size-len(v), 0)]...)
		p := int32(i) % c.partitions
		c.perPartition[p]++
		cl.Produce(context.Background(), &kgo.Record{Value: v, Partition: p, Timestamp: start.Add(time.Duration(i) * time.Microsecond)}, func(_ *kgo.Record, err error) {
			if err != nil {
				log.Fatalf("filling the input: %v", err)
			}
		})
	}
	return cl.Flush(context.Background())
}

// transform is the stateless map of both programs.
func transform(v []byte) []byte { return bytes.ToUpper(v) }

// measure creates topic out, runs write into it and times it until a
// read_committed consumer has seen every record once.
func (c *config) measure(out string, write func(ctx context.Context, out string) error) (time.Duration, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...))
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	if err := createTopic(ctx, admin, out, c.partitions); err != nil {
		return 0, err
	}
	start := time.Now()
	done := make(chan error, 1)
	if out[:8] == "out-read" {
		c.readDone = done
	} else {
		go func() { done <- c.verify(ctx, out) }()
	}
	werr := make(chan error, 1)
	go func() { werr <- write(ctx, out) }()
	select {
	case err := <-werr:
		// The hand-written loop ends once it has written everything;
		// ours runs until drained.
		if err != nil {
			return 0, fmt.Errorf("the writer failed: %w", err)
		}
		err = <-done
		return time.Since(start), err
	case err := <-done:
		d := time.Since(start)
		cancel()
		if werr := <-werr; werr != nil && ctx.Err() == nil {
			return 0, werr
		}
		return d, err
	}
}

// verify consumes out until every input record's result is there, once.
func (c *config) verify(ctx context.Context, out string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.ConsumeTopics(out),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	seen := make([]bool, c.records)
	n := 0
	for n < c.records {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var bad error
		fs.EachRecord(func(r *kgo.Record) {
			end := bytes.IndexByte(r.Value, ' ')
			i, err := strconv.Atoi(string(r.Value[:max(end, 0)]))
			switch {
			case err != nil || i < 0 || i >= c.records || !bytes.Equal(r.Value[end:], bytes.ToUpper(r.Value[end:])):
				bad = fmt.Errorf("output record %q is no result of an input", r.Value)
			case seen[i]:
				bad = fmt.Errorf("output record %d twice", i)
			default:
				seen[i] = true
				n++
			}
		})
		if bad != nil {
			return bad
		}
	}
	return nil
}

// runHand is the hand-written consume-transform-produce loop.
func (c *config) runHand(ctx context.Context, out string) error {
	var eg errgroup.Group
	for p := range c.partitions {
		eg.Go(func() error { return c.handPartition(ctx, out, p) })
	}
	return eg.Wait()
}

func (c *config) handPartition(ctx context.Context, out string, p int32) error {
	cons, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"in": {p: kgo.NewOffset().At(0)}}))
	if err != nil {
		return err
	}
	defer cons.Close()
	opts := []kgo.Opt{kgo.SeedBrokers(c.brokers...), kgo.DefaultProduceTopic(out), kgo.RecordPartitioner(kgo.ManualPartitioner())}
	txn := c.hand == "txn"
	if txn {
		opts = append(opts, kgo.TransactionalID(out+"-"+strconv.Itoa(int(p))))
	}
	prod, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer prod.Close()
	var failed error
	var mu sync.Mutex
	onErr := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			failed = err
			mu.Unlock()
		}
	}
	for n := 0; n < c.perPartition[p]; {
		fs := cons.PollRecords(ctx, c.batch)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fs.Err(); err != nil {
			return err
		}
		if txn {
			if err := prod.BeginTransaction(); err != nil {
				return err
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			prod.Produce(ctx, &kgo.Record{Value: transform(r.Value), Partition: p}, onErr)
			n++
		})
		if err := prod.Flush(ctx); err != nil {
			return err
		}
		if txn {
			if err := prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
				return err
			}
		}
		mu.Lock()
		err := failed
		mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// runBeamgo is ours: kafka.Read, sdk.Map, kafka.Write on the local
// runner, drained once measure has seen the output (ctx done).
func (c *config) runBeamgo(ctx context.Context, out string) error {
	p := sdk.NewPipeline()
	s := p.Root()
	msgs := kafka.Read(s, kafka.ReadOptions{Brokers: c.brokers, Topics: []string{"in"},
		Unbounded: unbounded.Options{PollInterval: 10 * time.Millisecond, MaxRecords: c.turn}})
	upper := sdk.Map(s, func(m kafka.Message) []byte { return transform(m.Value) }, msgs)
	trig := sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(c.epoch))
	kafka.Write(s, upper, func(v []byte) *kgo.Record { return &kgo.Record{Value: v} },
		kafka.SinkOptions{Brokers: c.brokers, Topic: out, Shards: int(c.partitions), Trigger: &trig})
	drain := make(chan struct{})
	go func() { <-ctx.Done(); close(drain) }()
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: c.parallelism, Drain: drain}, MemoryLimit: c.memoryLimit}).Run(context.Background(), p)
	return err
}

// createTopic creates topic with n partitions.
func createTopic(ctx context.Context, cl *kgo.Client, topic string, n int32) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, n, 1
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	return kerr.ErrorForCode(resp.Topics[0].ErrorCode)
}

// runRead is ours without the sink: the records' results are counted, and
// the count's reaching every record ends the measurement.
func (c *config) runRead(ctx context.Context, _ string) error {
	p := sdk.NewPipeline()
	s := p.Root()
	msgs := kafka.Read(s, kafka.ReadOptions{Brokers: c.brokers, Topics: []string{"in"},
		Unbounded: unbounded.Options{PollInterval: 10 * time.Millisecond, MaxRecords: c.turn}})
	upper := sdk.Map(s, func(m kafka.Message) []byte { return transform(m.Value) }, msgs)
	var n atomic.Int64
	sdk.ForEachFunc(s, func(_ context.Context, v []byte) error {
		if n.Add(1) == int64(c.records) {
			c.readDone <- nil
		}
		return nil
	}, upper)
	drain := make(chan struct{})
	go func() { <-ctx.Done(); close(drain) }()
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: c.parallelism, Drain: drain}, MemoryLimit: c.memoryLimit}).Run(context.Background(), p)
	return err
}
