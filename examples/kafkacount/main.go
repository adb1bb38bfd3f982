// Command kafkacount is the streaming word count with Kafka on both ends,
// as in the PyFlink seed: records are read from a topic (kafka.Read), the
// words of their values are counted per key in fixed event-time windows,
// and each window's counts are written to another topic with the
// exactly-once transactional sink (kafka.Write) once the watermark passes
// the window's end.
//
// By default it runs on an embedded broker (kfake, in process) fed by a
// generator of --rate words per second, drains after --for, and prints
// what the output topic holds. With --brokers it reads --in and writes
// --out of a real cluster until interrupted.
//
//	go run ./examples/kafkacount --for=4s --rate=500
//	go run ./examples/kafkacount --brokers=localhost:9092 --in=words --out=counts
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/io/kafka"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config says where the job reads and writes.
type Config struct {
	Brokers []string
	In, Out string
	// Window is the length of the fixed windows.
	Window time.Duration
	// IdleAfter is how long a caught-up partition waits before its
	// watermark follows the clock, closing the windows it holds open.
	IdleAfter time.Duration
}

// CountWords adds the job to s: the words of the records of cfg.In,
// counted per word in fixed windows, written to cfg.Out as lines
// "<window start> <word> <count>" keyed by the word.
func CountWords(s sdk.Scope, cfg Config) {
	msgs := kafka.Read(s, kafka.ReadOptions{
		Brokers: cfg.Brokers, Topics: []string{cfg.In}, IdleAfter: cfg.IdleAfter,
		Unbounded: unbounded.Options{PollInterval: 20 * time.Millisecond},
	})
	words := sdk.FlatMap(s, func(m kafka.Message, emit func(string)) {
		for _, w := range strings.Fields(string(m.Value)) {
			emit(w)
		}
	}, msgs, sdk.Name("Words"))
	counts := sdk.CountElements(s, sdk.WindowInto(s, sdk.FixedWindows(cfg.Window), words))
	lines := sdk.ParDo(s, render{}, counts)
	kafka.Write(s, lines, func(kv sdk.KV[string, string]) *kgo.Record {
		return &kgo.Record{Key: []byte(kv.Key), Value: []byte(kv.Value)}
	}, kafka.SinkOptions{Brokers: cfg.Brokers, Topic: cfg.Out, SinkID: "kafkacount"})
}

// render turns a word's count into its output line, keyed by the word.
type render struct{}

func (render) ProcessElement(ctx context.Context, kv sdk.KV[string, int64], emit func(sdk.KV[string, string])) error {
	start := sdk.WindowOf(ctx).Start.ToTime().UTC().Format(time.RFC3339Nano)
	emit(sdk.KV[string, string]{Key: kv.Key, Value: fmt.Sprintf("%s %s %d", start, kv.Key, kv.Value)})
	return nil
}

// Run runs the job on the local runner until drain is closed (or ctx is
// done), then drains it: the last windows fire and are written.
func Run(ctx context.Context, cfg Config, drain <-chan struct{}) error {
	p := sdk.NewPipeline()
	CountWords(p.Root(), cfg)
	_, err := local.New(&local.Options{Job: local.Job{Drain: drain}}).Run(ctx, p)
	return err
}

// ReadAll returns the values of the records committed to topic when it
// is called (kafka.Committed).
func ReadAll(ctx context.Context, brokers []string, topic string) ([]string, error) {
	recs, err := kafka.Committed(ctx, brokers, topic)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, string(r.Value))
	}
	return out, nil
}

// words is what the generator says.
var words = strings.Fields("the quick brown fox jumps over the lazy dog")

// generate produces rate records per second to topic until ctx is done,
// each a word, stamped with the time it is sent.
func generate(ctx context.Context, brokers []string, topic string, rate float64) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return err
	}
	defer cl.Close()
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return cl.Flush(context.Background())
		case now := <-tick.C:
			cl.Produce(ctx, &kgo.Record{Value: []byte(words[i%len(words)]), Timestamp: now}, nil)
		}
	}
}

func main() {
	brokers := flag.String("brokers", "", "Kafka brokers, comma-separated (default: an embedded broker fed by a generator)")
	in := flag.String("in", "words", "topic to read")
	out := flag.String("out", "counts", "topic to write")
	win := flag.Duration("window", time.Second, "window length")
	rate := flag.Float64("rate", 200, "embedded broker: words generated per second")
	runFor := flag.Duration("for", 3*time.Second, "embedded broker: how long to run before draining")
	flag.Parse()
	log.SetFlags(0)
	cfg := Config{In: *in, Out: *out, Window: *win, IdleAfter: *win}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	drain := make(chan struct{})
	if *brokers != "" {
		cfg.Brokers = strings.Split(*brokers, ",")
		go func() { <-ctx.Done(); close(drain) }()
		if err := Run(context.Background(), cfg, drain); err != nil {
			log.Fatal(err)
		}
		return
	}
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, cfg.In), kfake.SeedTopics(1, cfg.Out))
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()
	cfg.Brokers = broker.ListenAddrs()
	gctx, stopGen := context.WithTimeout(ctx, *runFor)
	defer stopGen()
	gen := make(chan error, 1)
	go func() { gen <- generate(gctx, cfg.Brokers, cfg.In, *rate) }()
	go func() { <-gctx.Done(); close(drain) }()
	if err := Run(context.Background(), cfg, drain); err != nil {
		log.Fatal(err)
	}
	if err := <-gen; err != nil {
		log.Fatal(err)
	}
	lines, err := ReadAll(context.Background(), cfg.Brokers, cfg.Out)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
}
