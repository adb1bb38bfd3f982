package kafka

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newCluster starts an in-process Kafka-protocol broker with topics of
// the given partitions.
func newCluster(t *testing.T, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// readCommitted returns the values of every record of topic committed
// when it is called (Committed).
func readCommitted(t *testing.T, addrs []string, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs, err := Committed(ctx, addrs, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Value))
	}
	return out
}

// produce writes values to partition 0 of topic, record i with timestamp
// base + i seconds.
func produce(t *testing.T, addrs []string, topic string, base time.Time, values ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i, v := range values {
		recs = append(recs, &kgo.Record{Value: []byte(v), Partition: 0, Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// chaos fails, once each, a random share of the epochs' writes at a random
// point.
type chaos struct {
	// mu guards the fields below.
	mu       sync.Mutex
	rng      *rand.Rand
	decided  map[foreach.Epoch]string
	injected int
}

var errInjected = errors.New("injected failure")

func (c *chaos) hook(point string, e foreach.Epoch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, seen := c.decided[e]
	if !seen {
		points := []string{"", "", "", "open", "process", "commit", "committed"}
		at = points[c.rng.IntN(len(points))]
		c.decided[e] = at
	}
	if at != point {
		return nil
	}
	c.decided[e] = "done"
	c.injected++
	return fmt.Errorf("%w at %s of %v", errInjected, point, e)
}

// A job whose epochs fail at random points (before, during and after the
// transaction commits) leaves every record in the topic exactly once.
func TestWriteExactlyOnceUnderFailures(t *testing.T) {
	c := newCluster(t, 3, "out")
	addrs := c.ListenAddrs()
	ch := &chaos{rng: rand.New(rand.NewPCG(3, 4)), decided: map[foreach.Epoch]string{}}
	var want []string
	var vals []int
	var stamps []window.Time
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 600 {
		vals = append(vals, i)
		want = append(want, strconv.Itoa(i))
		stamps = append(stamps, window.FromTime(base.Add(time.Duration(i)*time.Second)))
	}
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.WindowInto(s, sdk.FixedWindows(2*time.Minute), sdk.CreateTimestamped(s, vals, stamps))
	Write(s, in, func(v int) *kgo.Record {
		return &kgo.Record{Key: []byte(strconv.Itoa(v % 7)), Value: []byte(strconv.Itoa(v))}
	}, SinkOptions{Brokers: addrs, Topic: "out", Shards: 3, hook: ch.hook})
	_, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, MaxAttempts: 100}}).Run(context.Background(), p)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ch.injected == 0 {
		t.Fatal("no failure was injected")
	}
	got := readCommitted(t, addrs, "out")
	slices.SortFunc(got, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	if !slices.Equal(got, want) {
		t.Errorf("topic holds %d records, want %d (each value once)", len(got), len(want))
	}
	t.Logf("%d failures injected in %d epochs", ch.injected, len(ch.decided))
}

func TestWriteOptionsAreChecked(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	Write(s, sdk.Create(s, []int{1}), func(int) *kgo.Record { return nil }, SinkOptions{Topic: "t"})
	if err := p.Err(); err == nil {
		t.Error("Write without brokers constructed")
	}
}

func values(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Value))
	}
	return out
}

func nums(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

func open(t *testing.T, o ReaderOptions) *PartitionReader {
	t.Helper()
	r, err := NewPartitionReader(context.Background(), o)
	if err != nil {
		t.Fatalf("NewPartitionReader: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// Read everything one record at a time, checkpointing after every record
// and resuming from the mark in a new reader: the records equal the
// partition's, in order, none lost or repeated.
func TestReaderCheckpointAfterEveryRecord(t *testing.T) {
	c := newCluster(t, 1, "in")
	addrs := c.ListenAddrs()
	want := nums(25)
	produce(t, addrs, "in", time.Unix(1000, 0), want...)
	var got []string
	mark := Mark{Topic: "in", NextOffset: OffsetEarliest}
	for len(got) < len(want) {
		r, err := NewPartitionReader(context.Background(), ReaderOptions{Brokers: addrs, Topic: "in", Offset: mark.NextOffset})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := r.Poll(context.Background(), 1, 5*time.Second)
		if err != nil || len(recs) != 1 {
			r.Close()
			t.Fatalf("Poll at %v = %d records, %v; want 1", mark, len(recs), err)
		}
		got = append(got, values(recs)...)
		mark = r.Mark()
		r.Close()
		if mark.NextOffset != recs[0].Offset+1 {
			t.Fatalf("Mark after offset %d = %v", recs[0].Offset, mark)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
	// The last mark resumes at the end: nothing more.
	r := open(t, ReaderOptions{Brokers: addrs, Topic: "in", Offset: mark.NextOffset})
	if recs, err := r.Poll(context.Background(), 10, 300*time.Millisecond); err != nil || len(recs) != 0 {
		t.Errorf("Poll at the end = %v, %v; want nothing", values(recs), err)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	// mu guards now.
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// The watermark follows the greatest event time less MaxDelay, never goes
// back for an out-of-order record, and follows the clock once the caught-up
// partition has been idle for IdleAfter.
func TestReaderWatermarkAndIdleness(t *testing.T) {
	c := newCluster(t, 1, "in")
	addrs := c.ListenAddrs()
	// Event times come from the value (seconds); "5" after "9" is out of
	// order.
	produce(t, addrs, "in", time.Unix(0, 0), "3", "9", "5")
	clock := &fakeClock{now: time.Unix(100, 0)}
	r := open(t, ReaderOptions{
		Brokers: addrs, Topic: "in", Offset: OffsetEarliest, MaxDelay: 2 * time.Second,
		IdleAfter: 10 * time.Second, Now: clock.Now,
		EventTime: func(rec *kgo.Record) (time.Time, error) {
			s, err := strconv.Atoi(string(rec.Value))
			return time.Unix(int64(s), 0), err
		},
	})
	var got []Record
	for len(got) < 3 {
		recs, err := r.Poll(context.Background(), 10, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, recs...)
	}
	if et := got[2].EventTime; !et.Equal(time.Unix(5, 0)) {
		t.Errorf("event time of the third record = %v, want 5s", et)
	}
	if wm := r.Watermark(); !wm.Equal(time.Unix(7, 0)) {
		t.Errorf("Watermark = %v, want 9s - 2s", wm.Unix())
	}
	// An empty poll learns that the reader is at the end; idle not yet.
	if recs, err := r.Poll(context.Background(), 10, 200*time.Millisecond); err != nil || len(recs) != 0 {
		t.Fatalf("Poll = %d records, %v", len(recs), err)
	}
	if r.Backlog() != 0 {
		t.Errorf("Backlog = %d at the end, want 0", r.Backlog())
	}
	clock.Add(9 * time.Second)
	if wm := r.Watermark(); !wm.Equal(time.Unix(7, 0)) {
		t.Errorf("Watermark before IdleAfter = %v, want 7", wm.Unix())
	}
	clock.Add(time.Second)
	if wm, want := r.Watermark(), clock.Now().Add(-2*time.Second); !wm.Equal(want) {
		t.Errorf("Watermark of an idle partition = %v, want now - MaxDelay = %v", wm.Unix(), want.Unix())
	}
}

// A reader that is behind the partition's end is not idle, however long
// no record came.
func TestReaderBehindIsNotIdle(t *testing.T) {
	c := newCluster(t, 1, "in")
	addrs := c.ListenAddrs()
	produce(t, addrs, "in", time.Unix(50, 0), nums(5)...)
	clock := &fakeClock{now: time.Unix(1000, 0)}
	r := open(t, ReaderOptions{Brokers: addrs, Topic: "in", Offset: OffsetEarliest, IdleAfter: time.Second, Now: clock.Now})
	if _, err := r.Poll(context.Background(), 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour)
	if wm := r.Watermark(); !wm.Equal(time.Unix(50, 0)) {
		t.Errorf("Watermark of a reader 4 records behind = %v, want the first record's time 50", wm.Unix())
	}
}

// Offsets committed for a group on finalization are where a reader opened
// with OffsetCommitted resumes.
func TestReaderCommitAndResume(t *testing.T) {
	c := newCluster(t, 1, "in")
	addrs := c.ListenAddrs()
	produce(t, addrs, "in", time.Unix(0, 0), nums(10)...)
	o := ReaderOptions{Brokers: addrs, Topic: "in", Offset: OffsetCommitted, Group: "g"}
	r := open(t, o)
	recs, err := r.Poll(context.Background(), 4, 5*time.Second)
	if err != nil || len(recs) == 0 {
		t.Fatalf("Poll = %d, %v", len(recs), err)
	}
	n := len(recs)
	if err := r.Commit(context.Background(), r.Mark()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	r2 := open(t, o)
	var rest []Record
	for len(rest) < 10-n {
		more, err := r2.Poll(context.Background(), 10, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, more...)
	}
	if got := append(values(recs), values(rest)...); !slices.Equal(got, nums(10)) {
		t.Errorf("first reader then resumed reader = %v, want %v", got, nums(10))
	}
	// A reader resumed with a watermark starts from it, even before the
	// records it reads reach it.
	o.Watermark = time.Unix(500, 0)
	if wm := open(t, o).Watermark(); !wm.Equal(o.Watermark) {
		t.Errorf("Watermark of a resumed reader = %v, want %v", wm, o.Watermark)
	}
}

// A malformed record is an error naming topic, partition and offset, and
// the reader does not move past it; with a dead letter it goes there and
// reading goes on.
func TestReaderMalformedRecord(t *testing.T) {
	c := newCluster(t, 1, "in")
	addrs := c.ListenAddrs()
	produce(t, addrs, "in", time.Unix(0, 0), "1", "2", "oops", "4")
	parse := func(rec *kgo.Record) (time.Time, error) {
		s, err := strconv.Atoi(string(rec.Value))
		return time.Unix(int64(s), 0), err
	}
	t.Run("error", func(t *testing.T) {
		r := open(t, ReaderOptions{Brokers: addrs, Topic: "in", Offset: OffsetEarliest, EventTime: parse})
		var got []Record
		var err error
		for err == nil && len(got) < 4 {
			var recs []Record
			recs, err = r.Poll(context.Background(), 10, 5*time.Second)
			got = append(got, recs...)
		}
		var pe *PositionError
		if !errors.As(err, &pe) || pe.Topic != "in" || pe.Partition != 0 || pe.Offset != 2 {
			t.Fatalf("Poll error = %v, want a PositionError at in/0/2", err)
		}
		if !slices.Equal(values(got), []string{"1", "2"}) || r.Mark().NextOffset != 2 {
			t.Errorf("read %v, mark %v; want 1 2 and the mark at the bad record", values(got), r.Mark())
		}
		if _, again := r.Poll(context.Background(), 10, time.Second); !errors.As(again, &pe) {
			t.Errorf("second Poll = %v, want the same error", again)
		}
	})
	t.Run("dead letter", func(t *testing.T) {
		var dead []string
		r := open(t, ReaderOptions{Brokers: addrs, Topic: "in", Offset: OffsetEarliest, EventTime: parse,
			DeadLetter: func(rec *kgo.Record, err error) { dead = append(dead, fmt.Sprintf("%d:%s", rec.Offset, rec.Value)) }})
		var got []Record
		for len(got) < 3 {
			recs, err := r.Poll(context.Background(), 10, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, recs...)
		}
		if !slices.Equal(values(got), []string{"1", "2", "4"}) || !slices.Equal(dead, []string{"2:oops"}) {
			t.Errorf("read %v, dead letters %v; want 1 2 4 and 2:oops", values(got), dead)
		}
	})
}

// A deleted topic is an error naming the topic, partition and offset.
func TestReaderDeletedTopic(t *testing.T) {
	c := newCluster(t, 1, "in")
	addrs := c.ListenAddrs()
	produce(t, addrs, "in", time.Unix(0, 0), "a")
	r := open(t, ReaderOptions{Brokers: addrs, Topic: "in", Offset: OffsetEarliest})
	if recs, err := r.Poll(context.Background(), 10, 5*time.Second); err != nil || len(recs) != 1 {
		t.Fatalf("Poll = %d, %v", len(recs), err)
	}
	if err := c.DeleteTopic("in"); err != nil {
		t.Fatal(err)
	}
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		_, err = r.Poll(context.Background(), 10, 300*time.Millisecond)
	}
	var pe *PositionError
	if !errors.As(err, &pe) || pe.Topic != "in" || pe.Offset != 1 {
		t.Fatalf("Poll after the topic was deleted = %v, want a PositionError at in/0/1", err)
	}
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Logf("error does not wrap UnknownTopicOrPartition: %v", err)
	}
}

// An unreachable broker is an error naming the topic, partition and offset.
func TestReaderUnreachableBroker(t *testing.T) {
	c := newCluster(t, 1, "in")
	addrs := c.ListenAddrs()
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// A real offset needs no broker to start; the first Poll finds none.
	r := open(t, ReaderOptions{Brokers: addrs, Topic: "in", Offset: 7,
		ClientOptions: []kgo.Opt{kgo.DialTimeout(500 * time.Millisecond)}})
	_, err := r.Poll(ctx, 10, 500*time.Millisecond)
	if err == nil {
		t.Fatal("Poll with no broker succeeded")
	}
	var pe *PositionError
	if !errors.As(err, &pe) || pe.Topic != "in" || pe.Offset != 7 {
		t.Errorf("error = %v, want a PositionError at in/0/7", err)
	}
}

// Partitions lists a topic's partitions, including those added later, and
// names a topic that does not exist.
func TestPartitions(t *testing.T) {
	c := newCluster(t, 2, "in")
	addrs := c.ListenAddrs()
	ctx := context.Background()
	got, err := Partitions(ctx, addrs, "in")
	if err != nil || !slices.Equal(got, []int32{0, 1}) {
		t.Fatalf("Partitions = %v, %v; want [0 1]", got, err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreatePartitionsRequest()
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = "in", 4
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	if resp, err := req.RequestWith(ctx, cl); err != nil || kerr.ErrorForCode(resp.Topics[0].ErrorCode) != nil {
		t.Fatalf("CreatePartitions: %v %v", err, resp)
	}
	if got, err := Partitions(ctx, addrs, "in"); err != nil || !slices.Equal(got, []int32{0, 1, 2, 3}) {
		t.Errorf("Partitions after adding two = %v, %v; want [0 1 2 3]", got, err)
	}
	if _, err := Partitions(ctx, addrs, "missing"); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("Partitions of a missing topic = %v, want UnknownTopicOrPartition", err)
	}
}

// Writing to a topic that does not exist fails the job naming the topic.
func TestWriteMissingTopic(t *testing.T) {
	c := newCluster(t, 1, "other")
	p := sdk.NewPipeline()
	s := p.Root()
	Write(s, sdk.Create(s, []int{1, 2}), func(v int) *kgo.Record { return &kgo.Record{Value: []byte{byte(v)}} },
		SinkOptions{Brokers: c.ListenAddrs(), Topic: "missing"})
	_, err := local.New(&local.Options{Job: local.Job{MaxAttempts: 1}}).Run(context.Background(), p)
	if err == nil || !errors.Is(err, kerr.UnknownTopicOrPartition) || !strings.Contains(err.Error(), `topic "missing"`) {
		t.Errorf("Run error = %v, want UnknownTopicOrPartition naming topic \"missing\"", err)
	}
}

// Two attempts of one epoch that overlap (a worker presumed dead that still
// runs): the later one's Open fences the earlier, whose commit then fails,
// and an attempt that starts after a commit skips the epoch.
func TestWriteOverlappingAttemptsOfAnEpoch(t *testing.T) {
	c := newCluster(t, 1, "out")
	addrs := c.ListenAddrs()
	ctx := context.Background()
	opts := &SinkOptions{Brokers: addrs, Topic: "out", SinkID: "s", TransactionTimeout: time.Minute}
	rec := func(v int) *kgo.Record { return &kgo.Record{Value: []byte(strconv.Itoa(v))} }
	e := foreach.Epoch{Window: window.Global()}
	attempt := func() *writer[int] {
		w := &writer[int]{opts: opts, record: rec}
		t.Cleanup(w.closeClient)
		write, err := w.Open(ctx, e)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if write {
			w.Process(ctx, 1)
			w.Process(ctx, 2)
		}
		return w
	}
	zombie := attempt() // its Process began the transaction
	if err := zombie.send(ctx); err != nil {
		t.Fatalf("send: %v", err)
	}
	retry := attempt()
	if err := retry.Close(ctx, nil); err != nil {
		t.Fatalf("Close of the retry: %v", err)
	}
	if err := zombie.cl.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Error("the fenced attempt committed")
	}
	late := &writer[int]{opts: opts, record: rec}
	t.Cleanup(late.closeClient)
	if write, err := late.Open(ctx, e); err != nil || write {
		t.Errorf("Open after the commit = %v, %v; want false (already written)", write, err)
	}
	if got := readCommitted(t, addrs, "out"); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("topic holds %v, want [1 2] once", got)
	}
}
