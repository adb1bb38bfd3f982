package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
)

// flushSize is how many bytes of output the harness gathers per
// instruction and transform before it sends them.
const flushSize = 1 << 20

// queueDepth bounds the received chunks buffered per instruction and
// transform before the stream's reader waits for the bundle to catch up.
const queueDepth = 64

// closedMemory is how many finished instructions a data stream remembers,
// to drop data the runner still sends for them.
const closedMemory = 1024

// dataStream is the harness's one stream to a data endpoint, multiplexed
// over instructions. Runners send a bundle's elements on the data stream
// and its process_bundle request on the control stream, in no particular
// order, so received data waits in a queue until its bundle reads it.
//
// A full queue blocks the stream's reader, which pushes back on the runner
// through gRPC flow control. The executor reads a descriptor's sources one
// after another, so a runner that interleaved large inputs of several
// sources of one bundle could stall it; Prism and this project's planner
// give every descriptor one source.
//
// It is safe for concurrent use.
type dataStream struct {
	stream fnpb.BeamFnData_DataClient
	cancel context.CancelFunc
	// broken is closed when the stream failed; err tells why.
	broken chan struct{}
	err    error

	// sendMu serializes sends on the stream.
	sendMu sync.Mutex

	// mu guards the fields below.
	mu     sync.Mutex
	queues map[queueKey]*inQueue
	closed map[string]bool
	order  []string // closed instructions, oldest first
}

type queueKey struct{ instruction, transform string }

// inQueue holds the received chunks for one instruction and transform.
type inQueue struct {
	ch chan inChunk
	// done is closed when the instruction finished, or its reader stopped
	// early (the rest of the input was split off); later data is dropped.
	done     chan struct{}
	doneOnce sync.Once
}

// stop drops the queue's later data.
func (q *inQueue) stop() { q.doneOnce.Do(func() { close(q.done) }) }

type inChunk struct {
	data []byte
	last bool
}

func openDataStream(ctx context.Context, cc fnpb.BeamFnDataClient) (*dataStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := cc.Data(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("harness: open data stream: %w", err)
	}
	d := &dataStream{stream: stream, cancel: cancel, broken: make(chan struct{}),
		queues: map[queueKey]*inQueue{}, closed: map[string]bool{}}
	go d.read()
	return d, nil
}

// read routes received elements to their queues until the stream ends.
func (d *dataStream) read() {
	for {
		msg, err := d.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("runner closed the data stream")
			}
			d.err = fmt.Errorf("harness: data stream: %w", err)
			close(d.broken)
			return
		}
		for _, e := range msg.GetData() {
			q := d.queue(e.GetInstructionId(), e.GetTransformId())
			if q == nil || (len(e.GetData()) == 0 && !e.GetIsLast()) {
				continue
			}
			select {
			case q.ch <- inChunk{data: e.GetData(), last: e.GetIsLast()}:
			case <-q.done:
			}
		}
		// Timers are not supported: descriptors with timer families fail
		// to build, so no bundle here expects them.
	}
}

// queue returns the queue of an instruction's transform, creating it; nil
// if the instruction already finished.
func (d *dataStream) queue(instruction, transform string) *inQueue {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed[instruction] {
		return nil
	}
	k := queueKey{instruction, transform}
	q, ok := d.queues[k]
	if !ok {
		q = &inQueue{ch: make(chan inChunk, queueDepth), done: make(chan struct{})}
		d.queues[k] = q
	}
	return q
}

// input returns the chunks the runner sends to transform for instruction,
// ending after the chunk marked last. It yields an error if ctx ends or
// the stream breaks first.
func (d *dataStream) input(ctx context.Context, instruction, transform string) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		q := d.queue(instruction, transform)
		if q == nil {
			yield(nil, fmt.Errorf("harness: instruction %s already finished", instruction))
			return
		}
		for {
			select {
			case c := <-q.ch:
				if len(c.data) > 0 && !yield(c.data, nil) {
					// The bundle stopped reading: its input was split.
					q.stop()
					return
				}
				if c.last {
					return
				}
			case <-ctx.Done():
				yield(nil, context.Cause(ctx))
				return
			case <-d.broken:
				yield(nil, d.err)
				return
			}
		}
	}
}

// finish forgets an instruction: its queues are dropped, and data the
// runner still sends for it is ignored.
func (d *dataStream) finish(instruction string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, q := range d.queues {
		if k.instruction == instruction {
			q.stop()
			delete(d.queues, k)
		}
	}
	if d.closed[instruction] {
		return
	}
	d.closed[instruction] = true
	d.order = append(d.order, instruction)
	if len(d.order) > closedMemory {
		delete(d.closed, d.order[0])
		d.order = d.order[1:]
	}
}

// send sends one message, failing if the stream broke.
func (d *dataStream) send(msg *fnpb.Elements) error {
	select {
	case <-d.broken:
		return d.err
	default:
	}
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	if err := d.stream.Send(msg); err != nil {
		return fmt.Errorf("harness: data stream send: %w", err)
	}
	return nil
}

// close ends the stream.
func (d *dataStream) close() {
	d.sendMu.Lock()
	d.stream.CloseSend()
	d.sendMu.Unlock()
	d.cancel()
}

// output gathers the elements a bundle writes to one sink transform and
// sends them in batches. It is used by one goroutine.
type output struct {
	d                      *dataStream
	instruction, transform string
	buf                    []byte
}

// write appends encoded elements, sending a batch when it is large enough.
func (o *output) write(b []byte) error {
	o.buf = append(o.buf, b...)
	if len(o.buf) < flushSize {
		return nil
	}
	data := o.buf
	// The sent message may be read after Send returns; start a new buffer.
	o.buf = make([]byte, 0, flushSize+flushSize/4)
	return o.d.send(&fnpb.Elements{Data: []*fnpb.Elements_Data{{InstructionId: o.instruction, TransformId: o.transform, Data: data}}})
}

// last returns the final message of this output: what remains, marked last.
func (o *output) last() *fnpb.Elements_Data {
	return &fnpb.Elements_Data{InstructionId: o.instruction, TransformId: o.transform, Data: o.buf, IsLast: true}
}
