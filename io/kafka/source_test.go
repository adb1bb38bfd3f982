package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/runner/runnertest"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil"
)

// runners are the runners the pipeline tests run on; their drain channel
// stops the job.
func runners() map[string]func(drain chan struct{}) runner.Runner {
	return map[string]func(chan struct{}) runner.Runner{
		"local": func(d chan struct{}) runner.Runner {
			return local.New(&local.Options{Job: local.Job{Parallelism: 2, Drain: d}})
		},
		"portable": func(d chan struct{}) runner.Runner {
			return portable.New(&portable.Options{Workers: 2, Job: portable.Job{Drain: d}})
		},
	}
}

// produceTo writes values to one partition of topic, value i with
// timestamp base + i seconds.
func produceTo(t *testing.T, addrs []string, topic string, partition int32, base time.Time, values ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i, v := range values {
		recs = append(recs, &kgo.Record{Value: []byte(v), Partition: partition, Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// prefixed returns "<prefix><i>" for i in [0, n).
func prefixed(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// Every partition resumes exactly at every mark: the source's marks are
// offsets, JSON round-tripped, and its watermark never passes a record it
// returns later.
func TestSourceResumesAtEveryMark(t *testing.T) {
	c := newCluster(t, 3, "in")
	addrs := c.ListenAddrs()
	for p := range int32(3) {
		produceTo(t, addrs, "in", p, time.Unix(1000, 0), prefixed(fmt.Sprintf("p%d-", p), 12)...)
	}
	src, err := NewSource(ReadOptions{Brokers: addrs, Topics: []string{"in"}, PollWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := testutil.CheckUnboundedCheckpoints(ctx, src, 12, &testutil.Options[Message]{
		Cmp: cmp.Options{cmp.Comparer(func(a, b Message) bool {
			return a.Topic == b.Topic && a.Partition == b.Partition && a.Offset == b.Offset && string(a.Value) == string(b.Value)
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Partitions != 3 || stats.Records != 36 || stats.Resumes != 39 {
		t.Errorf("stats %+v, want 3 partitions, 36 records, 39 resumes", stats)
	}
}

// A mark of another partition is refused.
func TestSourceRefusesAForeignMark(t *testing.T) {
	c := newCluster(t, 2, "in")
	src, err := NewSource(ReadOptions{Brokers: c.ListenAddrs(), Topics: []string{"in"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Open(context.Background(), Partition{Topic: "in", Partition: 1}, &Mark{Topic: "in", Partition: 0, NextOffset: 3}); err == nil {
		t.Error("Open with partition 0's mark for partition 1 succeeded")
	}
}

// pipeline builds Kafka "in" -> (fn) -> Kafka "out" with the transactional
// sink, epochs cut every 100ms of processing time.
func pipeline(addrs []string, ro ReadOptions, fn sdk.DoFn[Message, string]) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	ro.Brokers, ro.Topics = addrs, []string{"in"}
	msgs := Read(s, ro)
	vals := sdk.ParDo(s, fn, msgs, sdk.Name("Values"))
	trig := sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(100 * time.Millisecond))
	Write(s, vals, func(v string) *kgo.Record { return &kgo.Record{Value: []byte(v)} },
		SinkOptions{Brokers: addrs, Topic: "out", Shards: 2, Trigger: &trig})
	return p
}

// valuesFn passes record values on.
type valuesFn struct{}

func (valuesFn) ProcessElement(_ context.Context, m Message, emit func(string)) error {
	emit(string(m.Value))
	return nil
}

// runUntil runs p, drains it once topic "out" holds n committed records
// (or after a minute), and returns what "out" holds, sorted.
func runUntil(t *testing.T, r func(chan struct{}) runner.Runner, p *sdk.Pipeline, addrs []string, n int, during func()) []string {
	t.Helper()
	drain := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := r(drain).Run(ctx, p); done <- err }()
	if during != nil {
		during()
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && len(readCommitted(t, addrs, "out")) < n {
		select {
		case err := <-done:
			t.Fatalf("the job ended before the output was complete: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	close(drain)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := readCommitted(t, addrs, "out")
	slices.Sort(got)
	return got
}

func sorted(vs ...[]string) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v...)
	}
	slices.Sort(out)
	return out
}

// Records of every partition arrive in the sink exactly once.
func TestReadIntoTheSinkExactlyOnce(t *testing.T) {
	for name, r := range runners() {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, 3, "in", "out")
			addrs := c.ListenAddrs()
			var want []string
			for p := range int32(3) {
				vs := prefixed(fmt.Sprintf("p%d-", p), 40)
				produceTo(t, addrs, "in", p, time.Unix(1000, 0), vs...)
				want = append(want, vs...)
			}
			p := pipeline(addrs, ReadOptions{Unbounded: unbounded.Options{MaxRecords: 7, PollInterval: 20 * time.Millisecond}}, valuesFn{})
			got := runUntil(t, r, p, addrs, len(want), nil)
			if diff := cmp.Diff(sorted(want), got); diff != "" {
				t.Errorf("out (-want +got):\n%s", diff)
			}
		})
	}
}

// createPartitions grows topic to n partitions.
func createPartitions(t *testing.T, addrs []string, topic string, n int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreatePartitionsRequest()
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = topic, n
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	resp, err := req.RequestWith(context.Background(), cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("CreatePartitions: %v", err)
	}
}

// Partitions added while the job runs are found (Discover) and read from
// their start.
func TestReadPicksUpPartitionsAddedWhileRunning(t *testing.T) {
	for name, r := range runners() {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, 1, "in", "out")
			addrs := c.ListenAddrs()
			first := prefixed("p0-", 20)
			produceTo(t, addrs, "in", 0, time.Unix(1000, 0), first...)
			later := [][]string{prefixed("p1-", 15), prefixed("p2-", 15)}
			p := pipeline(addrs, ReadOptions{Unbounded: unbounded.Options{MaxRecords: 5, PollInterval: 20 * time.Millisecond, Discover: 100 * time.Millisecond}}, valuesFn{})
			got := runUntil(t, r, p, addrs, 50, func() {
				// Add partitions once the first one's records are out.
				deadline := time.Now().Add(time.Minute)
				for len(readCommitted(t, addrs, "out")) < len(first) && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				createPartitions(t, addrs, "in", 3)
				produceTo(t, addrs, "in", 1, time.Unix(2000, 0), later[0]...)
				produceTo(t, addrs, "in", 2, time.Unix(2000, 0), later[1]...)
			})
			if diff := cmp.Diff(sorted(first, later[0], later[1]), got); diff != "" {
				t.Errorf("out (-want +got):\n%s", diff)
			}
		})
	}
}

// failOnce fails the first attempt of every bundle that sees one of the
// values in Fail, after the read.
type failOnce struct {
	Fail []string
	Seen *sync.Map
}

func (f *failOnce) ProcessElement(_ context.Context, m Message, emit func(string)) error {
	v := string(m.Value)
	if slices.Contains(f.Fail, v) {
		if _, again := f.Seen.LoadOrStore(v, true); !again {
			return fmt.Errorf("injected failure at %s", v)
		}
	}
	emit(v)
	return nil
}

// A bundle that fails after reading is retried from the committed mark:
// the sink holds every record once.
func TestFailedBundleRereadsFromTheCommittedMark(t *testing.T) {
	// Shared memory (failOnce.Seen) needs the workers in this process:
	// local, and portable with LOOPBACK workers.
	for name, r := range runners() {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, 2, "in", "out")
			addrs := c.ListenAddrs()
			var want []string
			for p := range int32(2) {
				vs := prefixed(fmt.Sprintf("p%d-", p), 50)
				produceTo(t, addrs, "in", p, time.Unix(1000, 0), vs...)
				want = append(want, vs...)
			}
			fn := &failOnce{Fail: []string{"p0-3", "p0-27", "p1-11", "p1-49"}, Seen: &sync.Map{}}
			p := pipeline(addrs, ReadOptions{Group: "g", Unbounded: unbounded.Options{MaxRecords: 6, PollInterval: 20 * time.Millisecond}}, fn)
			got := runUntil(t, r, p, addrs, len(want), nil)
			if diff := cmp.Diff(sorted(want), got); diff != "" {
				t.Errorf("out (-want +got):\n%s", diff)
			}
			n := 0
			fn.Seen.Range(func(any, any) bool { n++; return true })
			if n != len(fn.Fail) {
				t.Errorf("%d failures injected, want %d", n, len(fn.Fail))
			}
			// The group's offsets were committed on finalization, up to the
			// end of each partition.
			cl := client(t, addrs)
			for p := range int32(2) {
				off, ok, err := fetchOffset(context.Background(), cl, "g", "in", p)
				if err != nil || !ok || off != 50 {
					t.Errorf("group g's offset of in/%d = %d, %v, %v; want 50", p, off, ok, err)
				}
			}
		})
	}
}

// client returns a client of the brokers, closed when the test ends.
func client(t *testing.T, addrs []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// parseTime reads a record's event time from its value (seconds).
func parseTime(rec *kgo.Record) (time.Time, error) {
	s, err := strconv.Atoi(string(rec.Value))
	return time.Unix(int64(s), 0), err
}

// A malformed record fails the job at once, naming its topic, partition
// and offset.
func TestReadMalformedRecordFailsTheJob(t *testing.T) {
	for name, r := range runners() {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, 1, "in")
			addrs := c.ListenAddrs()
			produceTo(t, addrs, "in", 0, time.Unix(0, 0), "1", "2", "oops", "4")
			p := sdk.NewPipeline()
			s := p.Root()
			runnertest.Collect(s, Read(s, ReadOptions{Brokers: addrs, Topics: []string{"in"}, EventTime: parseTime}))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := r(nil).Run(ctx, p)
			if err == nil || !strings.Contains(err.Error(), `topic "in" partition 0 offset 2: malformed record`) {
				t.Fatalf("Run error = %v, want a malformed record at in/0/2", err)
			}
			var pe *PositionError
			if name == "local" && (!errors.As(err, &pe) || pe.Offset != 2) {
				t.Errorf("Run error = %v, want a *PositionError at offset 2", err)
			}
			if res != nil && res.Retries > 0 {
				t.Errorf("Retries = %d; a malformed record fails the same way every time, want none", res.Retries)
			}
		})
	}
}

// deadFn renders a dead letter.
type deadFn struct{}

func (deadFn) ProcessElement(_ context.Context, d DeadLetter, emit func(string)) error {
	emit(fmt.Sprintf("%s/%d/%d:%s", d.Message.Topic, d.Message.Partition, d.Message.Offset, d.Message.Value))
	return nil
}

// With dead letters, malformed records go to the second output and the
// others on.
func TestReadWithDeadLetters(t *testing.T) {
	for name, r := range runners() {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, 1, "in", "out", "dead")
			addrs := c.ListenAddrs()
			produceTo(t, addrs, "in", 0, time.Unix(0, 0), "1", "2", "oops", "4", "", "6")
			p := sdk.NewPipeline()
			s := p.Root()
			msgs, dead := ReadWithDeadLetters(s, ReadOptions{Brokers: addrs, Topics: []string{"in"}, EventTime: parseTime,
				Unbounded: unbounded.Options{MaxRecords: 2, PollInterval: 20 * time.Millisecond}})
			trig := sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(100 * time.Millisecond))
			rec := func(v string) *kgo.Record { return &kgo.Record{Value: []byte(v)} }
			Write(s, sdk.ParDo(s, valuesFn{}, msgs), rec, SinkOptions{Brokers: addrs, Topic: "out", Trigger: &trig})
			Write(s, sdk.ParDo(s, deadFn{}, dead), rec, SinkOptions{Brokers: addrs, Topic: "dead", Trigger: &trig})
			got := runUntil(t, r, p, addrs, 4, nil)
			if want := []string{"1", "2", "4", "6"}; !slices.Equal(got, want) {
				t.Errorf("out = %v, want %v", got, want)
			}
			d := readCommitted(t, addrs, "dead")
			slices.Sort(d)
			if want := []string{"in/0/2:oops", "in/0/4:"}; !slices.Equal(d, want) {
				t.Errorf("dead letters = %v, want %v", d, want)
			}
		})
	}
}

// An unreachable broker fails the job with an error that names the topic,
// within the open timeout.
func TestReadUnreachableBroker(t *testing.T) {
	c := newCluster(t, 1, "in")
	addrs := c.ListenAddrs()
	c.Close()
	p := sdk.NewPipeline()
	s := p.Root()
	runnertest.Collect(s, Read(s, ReadOptions{Brokers: addrs, Topics: []string{"in"}, OpenTimeout: time.Second}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := local.New(&local.Options{Job: local.Job{MaxAttempts: 2}}).Run(ctx, p)
	if err == nil || !strings.Contains(err.Error(), `topic "in"`) {
		t.Fatalf("Run error = %v, want one naming topic \"in\"", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the job took %v to fail", d)
	}
	t.Logf("error: %v", err)
}

// A topic deleted while the job reads it fails the job with an error
// naming the topic, partition and offset.
func TestReadDeletedTopic(t *testing.T) {
	c := newCluster(t, 1, "in", "out")
	addrs := c.ListenAddrs()
	produceTo(t, addrs, "in", 0, time.Unix(0, 0), prefixed("v", 5)...)
	p := pipeline(addrs, ReadOptions{PollWait: 50 * time.Millisecond, Unbounded: unbounded.Options{PollInterval: 20 * time.Millisecond}}, valuesFn{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := local.New(&local.Options{Job: local.Job{MaxAttempts: 2}}).Run(ctx, p)
		done <- err
	}()
	for len(readCommitted(t, addrs, "out")) < 5 {
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.DeleteTopic("in"); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var pe *PositionError
	if !errors.As(err, &pe) || pe.Topic != "in" || pe.Offset != 5 {
		t.Fatalf("Run error = %v, want a *PositionError at in/0/5", err)
	}
	t.Logf("error: %v", err)
}
