package unbounded

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Tick is a record of Rate: its sequence number and event time (in Unix
// milliseconds, which is also the record's event timestamp).
type Tick struct {
	Value     int64
	UnixMilli int64
}

// Time returns the tick's event time.
func (t Tick) Time() time.Time { return time.UnixMilli(t.UnixMilli) }

// Rate is the rate source of Spark Structured Streaming: it generates
// Ticks with values 0, 1, 2, ... at PerSecond records per second, spread
// over NumPartitions partitions (value v goes to partition v mod
// NumPartitions),
// each stamped with the time it is due: Start + v/PerSecond. It is
// deterministic, so a resumed partition generates exactly what it would
// have. Use it to try and test streaming pipelines.
type Rate struct {
	// PerSecond is the rate in records per second (default 1).
	PerSecond float64
	// NumPartitions is the number of partitions (default 1).
	NumPartitions int
	// Start is the event time of value 0 (default: when the source is
	// first opened in the process — set it for a deterministic run).
	Start time.Time
	// Count, when positive, ends the source after that many records.
	Count int64
	// Unpaced generates records as fast as they are read instead of at
	// their due time (event times stay the same): for tests and
	// benchmarks.
	Unpaced bool
}

// RatePartition is a partition of Rate.
type RatePartition struct {
	Index int
}

// RateMark is the next value a Rate partition generates.
type RateMark struct {
	Next int64
}

func (r Rate) norm() Rate {
	if r.PerSecond <= 0 {
		r.PerSecond = 1
	}
	if r.NumPartitions <= 0 {
		r.NumPartitions = 1
	}
	return r
}

// Partitions implements Source.
func (r Rate) Partitions(context.Context) ([]RatePartition, error) {
	r = r.norm()
	ps := make([]RatePartition, r.NumPartitions)
	for i := range ps {
		ps[i] = RatePartition{Index: i}
	}
	return ps, nil
}

// Open implements Source.
func (r Rate) Open(_ context.Context, p RatePartition, mark *RateMark) (Reader[Tick, RateMark], error) {
	r = r.norm()
	if p.Index < 0 || p.Index >= r.NumPartitions {
		return nil, fmt.Errorf("unbounded: Rate: partition %d of %d", p.Index, r.NumPartitions)
	}
	if r.Start.IsZero() {
		r.Start = processStart
	}
	next := int64(p.Index)
	if mark != nil {
		if mark.Next < 0 || mark.Next%int64(r.NumPartitions) != int64(p.Index) {
			return nil, fmt.Errorf("unbounded: Rate: mark %d is not a value of partition %d of %d", mark.Next, p.Index, r.NumPartitions)
		}
		next = mark.Next
	}
	return &rateReader{r: r, next: next}, nil
}

// processStart is Rate's default Start.
var processStart = time.Now().Truncate(time.Millisecond)

type rateReader struct {
	r    Rate
	next int64
}

func (rr *rateReader) due(v int64) time.Time {
	return rr.r.Start.Add(time.Duration(float64(v) / rr.r.PerSecond * float64(time.Second)))
}

func (rr *rateReader) Next(context.Context) (Record[Tick], bool, error) {
	if rr.r.Count > 0 && rr.next >= rr.r.Count {
		return Record[Tick]{}, false, io.EOF
	}
	t := rr.due(rr.next)
	if !rr.r.Unpaced && time.Now().Before(t) {
		return Record[Tick]{}, false, nil
	}
	v := rr.next
	rr.next += int64(rr.r.NumPartitions)
	return Record[Tick]{Value: Tick{Value: v, UnixMilli: t.UnixMilli()}, Time: t}, true, nil
}

func (rr *rateReader) Mark() RateMark { return RateMark{Next: rr.next} }

// Watermark is the due time of the next value: values are generated in
// order.
func (rr *rateReader) Watermark() time.Time { return rr.due(rr.next) }

func (rr *rateReader) Close() error { return nil }
