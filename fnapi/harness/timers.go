package harness

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/fnapi/exec"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

// Timers travel on the data plane of the descriptor's timer API endpoint,
// as Elements.Timers per instruction, transform and timer family, each
// stream ended by is_last, both ways: the runner sends the timers to fire
// and ends every timer family of the descriptor's ParDos; the harness
// sends the timers the bundle set or cleared and ends every family too,
// timers set or not, before it answers the process_bundle request (the
// runner waits for those ends, as Prism does).
//
// The executor reads its data input first and fires timers after it, so
// the runner's timers wait in memory, unbounded, not in the bounded
// queues that push back on the stream: a runner that interleaves a
// bundle's elements and timers (Prism does, key by key) must not stall
// the stream on timers while the executor still waits for elements.

// timerFamily is a timer family of a ParDo of a descriptor.
type timerFamily struct{ transform, family string }

// stream is the id of the family's timer stream among an instruction's
// data queues: it cannot be a transform id, which has no NUL.
func (f timerFamily) stream() string { return f.transform + "\x00timers\x00" + f.family }

// timerFamilies returns the timer families of the ParDos of pb, sorted.
func timerFamilies(pb *fnpb.ProcessBundleDescriptor) ([]timerFamily, error) {
	var out []timerFamily
	for _, id := range slices.Sorted(maps.Keys(pb.GetTransforms())) {
		pt := pb.GetTransforms()[id]
		if pt.GetSpec().GetUrn() != urns.TransformParDo {
			continue
		}
		var pd pipepb.ParDoPayload
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &pd); err != nil {
			return nil, fmt.Errorf("harness: descriptor %s: transform %s: ParDo payload: %w", pb.GetId(), id, err)
		}
		for _, fam := range slices.Sorted(maps.Keys(pd.GetTimerFamilySpecs())) {
			out = append(out, timerFamily{transform: id, family: fam})
		}
	}
	return out, nil
}

// timerQueue holds the timers received for one timer stream of an
// instruction, without bound. It is safe for concurrent use.
type timerQueue struct {
	// mu guards the fields below.
	mu     sync.Mutex
	chunks [][]byte
	last   bool
	// ready is closed and replaced when chunks or last change.
	ready chan struct{}
}

func newTimerQueue() *timerQueue { return &timerQueue{ready: make(chan struct{})} }

// put adds a received chunk.
func (q *timerQueue) put(data []byte, last bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.last {
		return // after the end: the runner's mistake, dropped
	}
	if len(data) > 0 {
		q.chunks = append(q.chunks, data)
	}
	q.last = last
	close(q.ready)
	q.ready = make(chan struct{})
}

// take returns the chunks received so far, whether the stream ended, and
// a channel closed when more arrive.
func (q *timerQueue) take() ([][]byte, bool, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	chunks := q.chunks
	q.chunks = nil
	return chunks, q.last, q.ready
}

// timerQueue returns the timer queue of an instruction's timer stream,
// creating it.
func (d *dataStream) timerQueue(k queueKey) *timerQueue {
	d.mu.Lock()
	defer d.mu.Unlock()
	q, ok := d.timerQueues[k]
	if !ok {
		q = newTimerQueue()
		d.timerQueues[k] = q
	}
	return q
}

// routeTimers queues received timers, or drops them if their instruction
// ended or does not read the stream.
func (d *dataStream) routeTimers(t *fnpb.Elements_Timers) {
	k := queueKey{t.GetInstructionId(), timerFamily{t.GetTransformId(), t.GetTimerFamilyId()}.stream()}
	if d.insts.state(k.instruction, k.transform) == instDrop {
		return
	}
	d.timerQueue(k).put(t.GetTimers(), t.GetIsLast())
}

// timers returns the timers the runner sends on the streams of families
// for instruction, one chunk of concatenated timers at a time, a family
// after another, until each stream ended.
func (d *dataStream) timers(ctx context.Context, instruction string, families []timerFamily) iter.Seq2[exec.TimerInput, error] {
	return func(yield func(exec.TimerInput, error) bool) {
		for _, f := range families {
			q := d.timerQueue(queueKey{instruction, f.stream()})
			for {
				chunks, last, ready := q.take()
				for _, c := range chunks {
					if !yield(exec.TimerInput{TransformID: f.transform, Family: f.family, Encoded: c}, nil) {
						return
					}
				}
				if last {
					break
				}
				select {
				case <-ready:
				case <-ctx.Done():
					yield(exec.TimerInput{}, context.Cause(ctx))
					return
				case <-d.broken:
					yield(exec.TimerInput{}, d.err)
					return
				}
			}
		}
	}
}

// timerOutput gathers the timers a bundle sets or clears, per family, and
// sends them in batches. It is used by one goroutine.
type timerOutput struct {
	d           *dataStream
	instruction string
	families    []timerFamily
	bufs        map[timerFamily][]byte
}

// writer returns the executor's Bundle.Timers for o, nil if o is nil (the
// descriptor has no timers).
func (o *timerOutput) writer() func(transform, family string, encoded []byte) error {
	if o == nil {
		return nil
	}
	return o.write
}

// write appends the encoded timers of a family, sending a batch when it
// is large enough.
func (o *timerOutput) write(transform, family string, encoded []byte) error {
	f := timerFamily{transform, family}
	buf := append(o.bufs[f], encoded...)
	if len(buf) < flushSize {
		o.bufs[f] = buf
		return nil
	}
	// The sent message may be read after Send returns; start a new buffer.
	o.bufs[f] = []byte{}
	return o.d.send(&fnpb.Elements{Timers: []*fnpb.Elements_Timers{{InstructionId: o.instruction, TransformId: transform, TimerFamilyId: family, Timers: buf}}})
}

// last returns the final messages of the timer streams: what remains,
// marked last, for every family of the descriptor and any other written.
func (o *timerOutput) last() []*fnpb.Elements_Timers {
	fams := slices.Clone(o.families)
	for f := range o.bufs {
		if !slices.Contains(fams, f) {
			fams = append(fams, f)
		}
	}
	out := make([]*fnpb.Elements_Timers, 0, len(fams))
	for _, f := range fams {
		out = append(out, &fnpb.Elements_Timers{InstructionId: o.instruction, TransformId: f.transform, TimerFamilyId: f.family, Timers: o.bufs[f], IsLast: true})
	}
	return out
}
