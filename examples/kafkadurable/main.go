// Command kafkadurable is a streaming job that reads Kafka and survives
// being killed: it reads users' spending events from a Kafka topic
// (io/kafka), totals each user's amounts per one-second event-time window
// in keyed state (a value state and an event-time timer per user and
// window), and writes the totals with an epoch sink that writes each epoch
// as one file, atomically, and skips an epoch it finds written. With
// --checkpoint_dir the job snapshots itself every --checkpoint_interval,
// the Kafka offsets it has read among the rest; killed (even with SIGKILL)
// and started again with the same directory, it resumes from the offsets
// of the newest snapshot, and the output ends up holding exactly the
// totals of an uninterrupted run: nothing lost, nothing twice.
//
//	go run ./examples/kafkadurable --out=/tmp/totals --checkpoint_dir=/tmp/ckpt
//
// Without --brokers the command starts an in-process Kafka broker (kfake)
// and produces the events itself, paced (--rate a second per partition).
// With --brokers it reads a topic that someone else fills with the same
// events (Stream.Produce; the chaos test does so from its own process, so
// that the broker outlives the job's kills). With --drain the job drains,
// and so ends, once it has read the whole stream; Verify then compares the
// output with the totals computed from the stream.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/io/kafka"
	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Stream is the event stream: Parts partitions of N events each. Event i
// of partition p is user (7i+3p) mod Users spending i mod 13 + 1, at event
// time Start + i*Step; its record's key is the user and its value the
// amount, in decimal, and its timestamp the event time.
type Stream struct {
	Topic           string
	Parts, N, Users int
	Step            time.Duration
	Start           time.Time
}

// Event is one user's spending at a time.
type Event struct {
	User, Amount int64
	Time         time.Time
}

// Event returns event i of partition p.
func (s Stream) Event(p, i int) Event {
	return Event{User: int64((7*i + 3*p) % s.Users), Amount: int64(i%13 + 1), Time: s.Start.Add(time.Duration(i) * s.Step)}
}

// Record returns event i of partition p as a Kafka record.
func (s Stream) Record(p, i int) *kgo.Record {
	e := s.Event(p, i)
	return &kgo.Record{Topic: s.Topic, Partition: int32(p), Timestamp: e.Time,
		Key: strconv.AppendInt(nil, e.User, 10), Value: strconv.AppendInt(nil, e.Amount, 10)}
}

// Last is the event time of the last event of every partition.
func (s Stream) Last() time.Time { return s.Start.Add(time.Duration(s.N-1) * s.Step) }

// Produce writes the stream to brokers, every partition in step, in
// batches of a tenth of perSecond every 100 ms (at once if perSecond is
// 0), so that a job reading it is interrupted mid-stream. Records go to
// their partitions in order, so that every production of a stream gives
// the same offsets.
func (s Stream) Produce(ctx context.Context, brokers []string, perSecond float64) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MaxBufferedRecords(1<<20))
	if err != nil {
		return fmt.Errorf("kafkadurable: produce: %w", err)
	}
	defer cl.Close()
	batch := s.N
	if perSecond > 0 {
		batch = max(1, int(perSecond/10))
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for from := 0; from < s.N; from += batch {
		recs := make([]*kgo.Record, 0, batch*s.Parts)
		for p := range s.Parts {
			for i := from; i < min(from+batch, s.N); i++ {
				recs = append(recs, s.Record(p, i))
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return fmt.Errorf("kafkadurable: produce events from %d: %w", from, err)
		}
		if perSecond > 0 && from+batch < s.N {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
	}
	return nil
}

// Total is a user's total in one window.
type Total struct {
	User        int64
	WindowStart int64 // Unix milliseconds
	Sum, Count  int64
}

// String renders a total as one line of the output.
func (t Total) String() string {
	return fmt.Sprintf("user=%d window=%d sum=%d count=%d", t.User, t.WindowStart, t.Sum, t.Count)
}

// windowTotal totals a user's amounts per window in value state and emits
// the total when the watermark passes the window's end.
type windowTotal struct {
	Sum   sdk.ValueState[int64]
	Count sdk.ValueState[int64]
	Flush sdk.EventTimeTimer
}

func (f *windowTotal) ProcessElement(ctx context.Context, kv sdk.KV[int64, int64], emit func(Total)) error {
	sum, _, err := f.Sum.Read(ctx)
	if err != nil {
		return err
	}
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Sum.Write(ctx, sum+kv.Value); err != nil {
		return err
	}
	if err := f.Count.Write(ctx, n+1); err != nil {
		return err
	}
	return f.Flush.Set(ctx, sdk.WindowOf(ctx).MaxTimestamp().ToTime())
}

func (f *windowTotal) OnTimer(ctx context.Context, _ sdk.FiredTimer, emit func(Total)) error {
	user, err := sdk.CurrentKey[int64](ctx)
	if err != nil {
		return err
	}
	sum, _, err := f.Sum.Read(ctx)
	if err != nil {
		return err
	}
	n, _, err := f.Count.Read(ctx)
	if err != nil {
		return err
	}
	emit(Total{User: user, WindowStart: int64(sdk.WindowOf(ctx).Start), Sum: sum, Count: n})
	return nil
}

// parse turns a record into the user's amount; a record that is not two
// decimals fails the job without retries, naming its offset.
func parse(m kafka.Message) (sdk.KV[int64, int64], error) {
	user, err := strconv.ParseInt(string(m.Key), 10, 64)
	if err == nil {
		var amount int64
		amount, err = strconv.ParseInt(string(m.Value), 10, 64)
		if err == nil {
			return sdk.KV[int64, int64]{Key: user, Value: amount}, nil
		}
	}
	return sdk.KV[int64, int64]{}, sdk.Permanent(&kafka.PositionError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Err: err})
}

// byUser keys the records by user.
type byUser struct{}

func (byUser) ProcessElement(_ context.Context, m kafka.Message, emit func(sdk.KV[int64, int64])) error {
	kv, err := parse(m)
	if err != nil {
		return err
	}
	emit(kv)
	return nil
}

// ReadOptions are the Kafka read's options: the topic from its first
// record, offsets committed for a consumer group as the job commits them
// (advisory: the job resumes from its snapshot's offsets), and no
// idleness, so that a partition the producer has not reached yet holds the
// watermark back instead of following the clock.
func ReadOptions(brokers []string, topic string) kafka.ReadOptions {
	return kafka.ReadOptions{
		Brokers: brokers, Topics: []string{topic}, Start: kafka.StartEarliest, Group: "kafkadurable",
		PollWait: 50 * time.Millisecond, IdleAfter: 24 * time.Hour,
		Unbounded: unbounded.Options{Name: "Events", MaxRecords: 200, PollInterval: 20 * time.Millisecond},
	}
}

// Build adds the job to a new pipeline: events from Kafka, totals per
// user and window, written by the epoch sink into dir.
func Build(brokers []string, topic, dir string) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	events := kafka.Read(s, ReadOptions(brokers, topic))
	kv := sdk.ParDo(s, sdk.DoFn[kafka.Message, sdk.KV[int64, int64]](byUser{}), events, sdk.Name("ByUser"))
	windowed := sdk.WindowInto(s, sdk.FixedWindows(time.Second), kv)
	totals := sdk.ParDo(s, sdk.DoFn[sdk.KV[int64, int64], Total](&windowTotal{}), windowed, sdk.Name("WindowTotal"))
	foreach.Batch(s, WriteEpoch(dir), totals, &foreach.Options[Total]{
		Name: "Files", Shards: 4, ShardOf: func(t Total) uint64 { return uint64(t.User) },
	})
	return p
}

// WriteEpoch returns the sink's batch function: each epoch becomes one
// file named after it, written to a temporary name and renamed, so that
// it appears whole or not at all; an epoch whose file exists was
// committed by an earlier run (or attempt) and is skipped.
func WriteEpoch(dir string) foreach.BatchFunc[Total] {
	return func(_ context.Context, batch []Total, e foreach.Epoch) error {
		name := filepath.Join(dir, fmt.Sprintf("epoch-%d-%d-%d.txt", e.Window.Start, e.Shard, e.Pane))
		if _, err := os.Stat(name); err == nil {
			return nil
		}
		lines := make([]string, len(batch))
		for i, t := range batch {
			lines[i] = t.String() + "\n"
		}
		slices.Sort(lines)
		tmp, err := os.CreateTemp(dir, ".epoch-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.WriteString(strings.Join(lines, "")); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), name)
	}
}

// Run runs the job on the local runner until ctx ends or, with drain,
// until it has read the whole stream (the read's watermark reached
// s.Last()) and drained; job carries the checkpoint settings.
func Run(ctx context.Context, brokers []string, s Stream, out string, job local.Job, drain bool) (*runner.Result, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if drain {
		ch := make(chan struct{})
		var once sync.Once
		job.Drain = ch
		job.Progress = func(p local.Progress) {
			if readAll(p, s.Last()) {
				once.Do(func() { close(ch) })
			}
		}
	}
	return local.New(&local.Options{Job: job}).Run(ctx, Build(brokers, s.Topic, out))
}

// readAll reports whether every unbounded stage's output watermark has
// reached last: the reads have returned the last record of every
// partition, and the runner has committed them.
func readAll(p local.Progress, last time.Time) bool {
	n := 0
	for _, sp := range p.StageProgress {
		if !sp.Unbounded {
			continue
		}
		n++
		if sp.OutputWatermark.Before(last) {
			return false
		}
	}
	return n > 0
}

// Expected returns the lines of an uninterrupted run, sorted.
func Expected(s Stream) []string {
	totals := map[[2]int64]*Total{}
	for p := range s.Parts {
		for i := range s.N {
			e := s.Event(p, i)
			w := e.Time.Truncate(time.Second).UnixMilli()
			k := [2]int64{e.User, w}
			t := totals[k]
			if t == nil {
				t = &Total{User: e.User, WindowStart: w}
				totals[k] = t
			}
			t.Sum += e.Amount
			t.Count++
		}
	}
	out := make([]string, 0, len(totals))
	for _, t := range totals {
		out = append(out, t.String())
	}
	slices.Sort(out)
	return out
}

// Written returns the lines in the epoch files of dir, sorted.
func Written(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "epoch-*.txt"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for l := range strings.Lines(string(data)) {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	slices.Sort(out)
	return out, nil
}

// MismatchError says how the output differs from the reference.
type MismatchError struct {
	Got, Want                int
	Missing, Repeated, Extra []string
}

// Error says how many lines are missing, repeated and unexpected, with
// the first of each.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("kafkadurable: output differs from the reference: %d lines, want %d; %d missing (first %q), %d repeated (first %q), %d unexpected (first %q)",
		e.Got, e.Want, len(e.Missing), first(e.Missing), len(e.Repeated), first(e.Repeated), len(e.Extra), first(e.Extra))
}

// Verify compares the output in dir with the expected totals; a
// difference is a *MismatchError.
func Verify(s Stream, dir string) error {
	got, err := Written(dir)
	if err != nil {
		return err
	}
	want := Expected(s)
	if slices.Equal(got, want) {
		return nil
	}
	count := map[string]int{}
	for _, l := range got {
		count[l]++
	}
	e := &MismatchError{Got: len(got), Want: len(want)}
	for _, l := range want {
		switch count[l] {
		case 0:
			e.Missing = append(e.Missing, l)
		case 1:
		default:
			e.Repeated = append(e.Repeated, l)
		}
		delete(count, l)
	}
	for l := range count {
		e.Extra = append(e.Extra, l)
	}
	slices.Sort(e.Extra)
	return e
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// DefaultStream is the stream the command reads.
func DefaultStream() Stream {
	return Stream{Topic: "events", Parts: 3, N: 3000, Users: 20, Step: 10 * time.Millisecond,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// embedded starts an in-process broker with the stream's topic and
// produces the stream into it, paced, in the background.
func embedded(s Stream, rate float64) ([]string, func(), error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(s.Parts), s.Topic))
	if err != nil {
		return nil, nil, fmt.Errorf("kafkadurable: kfake: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		if err := s.Produce(ctx, c.ListenAddrs(), rate); err != nil && ctx.Err() == nil {
			log.Fatal(err)
		}
	}()
	return c.ListenAddrs(), func() { cancel(); c.Close() }, nil
}

func main() {
	out := flag.String("out", "", "directory of the output epoch files (default: a new temporary directory)")
	brokers := flag.String("brokers", "", "Kafka brokers, comma-separated (empty: an in-process broker that this command fills)")
	dir := flag.String("checkpoint_dir", "", "directory of the job's snapshots (empty: no checkpoints)")
	every := flag.Duration("checkpoint_interval", time.Second, "time between snapshots")
	fresh := flag.Bool("fresh", false, "start over, deleting the snapshots in --checkpoint_dir")
	drain := flag.Bool("drain", true, "drain and end once the whole stream is read")
	rate := flag.Float64("rate", 1000, "events per second per partition that the in-process broker receives (0: all at once)")
	s := DefaultStream()
	flag.IntVar(&s.N, "events", s.N, "events per partition")
	flag.StringVar(&s.Topic, "topic", s.Topic, "topic to read")
	flag.Parse()
	if *out == "" {
		d, err := os.MkdirTemp("", "kafkadurable-")
		if err != nil {
			log.Fatal(err)
		}
		*out = d
	}
	addrs := strings.Split(*brokers, ",")
	if *brokers == "" {
		a, stop, err := embedded(s, *rate)
		if err != nil {
			log.Fatal(err)
		}
		defer stop()
		addrs = a
	}
	var job local.Job
	if *dir != "" {
		job.Checkpoint = &local.Checkpointing{Dir: *dir, Interval: *every, Fresh: *fresh}
	}
	start := time.Now()
	res, err := Run(context.Background(), addrs, s, *out, job, *drain)
	if err != nil {
		log.Fatal(err)
	}
	if err := Verify(s, *out); err != nil {
		var me *MismatchError
		if !errors.As(err, &me) {
			log.Fatal(err)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("kafkadurable: %d totals in %s, exactly the reference, in %v; %d snapshots (largest %d bytes, %v in all), resumed from snapshot %d\n",
		len(Expected(s)), *out, time.Since(start).Round(time.Millisecond), res.Checkpoints, res.CheckpointBytes, res.CheckpointTime.Round(time.Millisecond), res.RestoredFrom)
}
