package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"sync"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
)

// flushSize is how many bytes of output the harness gathers per
// instruction and transform before it sends them.
const flushSize = 1 << 20

// queueDepth bounds the received chunks buffered per instruction and
// transform before the stream's reader waits for the bundle to catch up.
const queueDepth = 64

// endedMemory is how many ended instructions the harness remembers, to
// drop data the runner still sends for them.
const endedMemory = 1024

// maxEarly bounds the queues of instructions the harness has not been
// asked to run (yet), per data stream: data may arrive before its
// process_bundle request, but a runner that sends data for instructions
// it never requests must not grow the harness without bound.
const maxEarly = 64

// lostMemory is how many dropped early queues a data stream remembers, so
// that a bundle whose data was dropped fails instead of waiting for it.
const lostMemory = 1024

// earlyGrace is how long the stream's reader waits, with the queue of an
// instruction not yet requested full, for its process_bundle request
// before it drops that instruction's data.
const earlyGrace = 5 * time.Second

// instructionTable tracks the process_bundle instructions of a harness, so
// that its data streams know which received data a bundle will read, which
// may yet be read (its request has not arrived), and which to drop. It is
// safe for concurrent use.
type instructionTable struct {
	// mu guards the fields below.
	mu sync.Mutex
	// running holds the instructions accepted and not ended, with the
	// source transforms of their descriptor (nil until it is known).
	running map[string]map[string]bool
	ended   map[string]bool
	order   []string // ended instructions, oldest first
}

func newInstructionTable() *instructionTable {
	return &instructionTable{running: map[string]map[string]bool{}, ended: map[string]bool{}}
}

// instState is what a data stream does with data for an instruction.
type instState int

const (
	// instUnknown: no request yet; the data is queued for a while.
	instUnknown instState = iota
	// instRunning: the bundle reads the data.
	instRunning
	// instDrop: the instruction ended, or its descriptor has no such
	// source; the data is dropped.
	instDrop
)

// accept records that a process_bundle request for instruction arrived.
// Instruction ids are unique, but should a runner reuse the id of an ended
// instruction, the new request wins.
func (t *instructionTable) accept(instruction string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended[instruction] {
		delete(t.ended, instruction)
		t.order = slices.DeleteFunc(t.order, func(i string) bool { return i == instruction })
	}
	t.running[instruction] = nil
}

// setSources records the source transforms of a running instruction.
func (t *instructionTable) setSources(instruction string, sources []string) {
	set := make(map[string]bool, len(sources))
	for _, s := range sources {
		set[s] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.running[instruction]; ok {
		t.running[instruction] = set
	}
}

// end records that an instruction ended, succeeded or failed.
func (t *instructionTable) end(instruction string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.running, instruction)
	if t.ended[instruction] {
		return
	}
	t.ended[instruction] = true
	t.order = append(t.order, instruction)
	if len(t.order) > endedMemory {
		delete(t.ended, t.order[0])
		t.order = t.order[1:]
	}
}

// state says what to do with data for transform of instruction.
func (t *instructionTable) state(instruction, transform string) instState {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended[instruction] {
		return instDrop
	}
	sources, ok := t.running[instruction]
	switch {
	case !ok:
		return instUnknown
	case sources != nil && !sources[transform]:
		return instDrop
	}
	return instRunning
}

// dataStream is the harness's one stream to a data endpoint, multiplexed
// over instructions. Runners send a bundle's elements on the data stream
// and its process_bundle request on the control stream, in no particular
// order, so received data waits in a queue until its bundle reads it.
//
// A full queue of a running instruction blocks the stream's reader, which
// pushes back on the runner through gRPC flow control. The executor reads
// a descriptor's sources one after another, so a runner that interleaved
// large inputs of several sources of one bundle could stall it; Prism and
// this project's planner give every descriptor one source. Data for an
// instruction that ended (its bundle failed before reading it included),
// or for a transform its descriptor does not read, is dropped. Data for an
// instruction not yet requested is queued; if its queue fills and the
// request does not come within earlyGrace, or more than maxEarly such
// instructions have data waiting, that instruction's data is dropped and
// its bundle, if it ever runs, fails.
//
// It is safe for concurrent use.
type dataStream struct {
	stream fnpb.BeamFnData_DataClient
	cancel context.CancelFunc
	insts  *instructionTable
	grace  time.Duration
	// broken is closed when the stream failed; err tells why.
	broken chan struct{}
	err    error

	// sendMu serializes sends on the stream.
	sendMu sync.Mutex

	// mu guards the fields below.
	mu        sync.Mutex
	queues    map[queueKey]*inQueue
	early     []queueKey        // queues of unknown instructions, oldest first
	lost      map[queueKey]bool // dropped early queues
	lostOrder []queueKey
	// timerQueues hold received timers (see timers.go).
	timerQueues map[queueKey]*timerQueue
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

func openDataStream(ctx context.Context, cc fnpb.BeamFnDataClient, insts *instructionTable) (*dataStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := cc.Data(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("harness: open data stream: %w", err)
	}
	return newDataStream(stream, cancel, insts, earlyGrace), nil
}

// newDataStream starts reading stream; cancel ends it.
func newDataStream(stream fnpb.BeamFnData_DataClient, cancel context.CancelFunc, insts *instructionTable, grace time.Duration) *dataStream {
	d := &dataStream{stream: stream, cancel: cancel, insts: insts, grace: grace, broken: make(chan struct{}),
		queues: map[queueKey]*inQueue{}, lost: map[queueKey]bool{}, timerQueues: map[queueKey]*timerQueue{}}
	go d.read()
	return d
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
			if len(e.GetData()) == 0 && !e.GetIsLast() {
				continue
			}
			d.route(queueKey{e.GetInstructionId(), e.GetTransformId()}, inChunk{data: e.GetData(), last: e.GetIsLast()})
		}
		for _, t := range msg.GetTimers() {
			d.routeTimers(t)
		}
	}
}

// route queues one received chunk, or drops it. It waits while the queue
// of a running instruction is full; for an instruction not yet requested
// it waits at most d.grace.
func (d *dataStream) route(k queueKey, c inChunk) {
	var grace *time.Timer
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	for {
		st := d.insts.state(k.instruction, k.transform)
		if st == instDrop {
			return
		}
		q := d.queue(k, st == instUnknown)
		if q == nil {
			return
		}
		var timeout <-chan time.Time
		if st == instUnknown {
			if grace == nil {
				grace = time.NewTimer(d.grace)
			}
			timeout = grace.C
		}
		select {
		case q.ch <- c:
			return
		case <-q.done:
			return
		case <-timeout:
			// Drop the data unless the request arrived meanwhile.
			if d.insts.state(k.instruction, k.transform) == instUnknown {
				d.drop(k, q)
				return
			}
		}
	}
}

// queue returns the queue of an instruction's transform, creating it; nil
// if its data was dropped. A new queue of an instruction not yet
// requested (early) may make the stream drop the oldest such queue.
func (d *dataStream) queue(k queueKey, early bool) *inQueue {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lost[k] {
		return nil
	}
	q, ok := d.queues[k]
	if ok {
		return q
	}
	q = &inQueue{ch: make(chan inChunk, queueDepth), done: make(chan struct{})}
	d.queues[k] = q
	if early {
		// Forget early queues whose instruction has since been requested.
		d.early = slices.DeleteFunc(d.early, func(e queueKey) bool {
			return d.queues[e] == nil || d.insts.state(e.instruction, e.transform) != instUnknown
		})
		d.early = append(d.early, k)
		if len(d.early) > maxEarly {
			d.dropLocked(d.early[0], d.queues[d.early[0]])
		}
	}
	return q
}

// drop drops the data of an early queue and remembers that it did.
func (d *dataStream) drop(k queueKey, q *inQueue) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropLocked(k, q)
}

// dropLocked is drop with d.mu held.
func (d *dataStream) dropLocked(k queueKey, q *inQueue) {
	if d.queues[k] != q || q == nil {
		return
	}
	q.stop()
	delete(d.queues, k)
	d.early = slices.DeleteFunc(d.early, func(e queueKey) bool { return e == k })
	if d.lost[k] {
		return
	}
	d.lost[k] = true
	d.lostOrder = append(d.lostOrder, k)
	if len(d.lostOrder) > lostMemory {
		delete(d.lost, d.lostOrder[0])
		d.lostOrder = d.lostOrder[1:]
	}
}

// input returns the chunks the runner sends to transform for instruction,
// ending after the chunk marked last. It yields an error if ctx ends, the
// stream breaks first, or the instruction's data was dropped.
func (d *dataStream) input(ctx context.Context, instruction, transform string) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		q := d.queue(queueKey{instruction, transform}, false)
		if q == nil {
			yield(nil, fmt.Errorf("harness: the data for transform %s of instruction %s was dropped: it arrived before the instruction's process_bundle request, which came more than %v later or after data for %d other unrequested instructions",
				transform, instruction, d.grace, maxEarly))
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
			case <-q.done:
				yield(nil, fmt.Errorf("harness: the data for transform %s of instruction %s was dropped", transform, instruction))
				return
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

// finish forgets an instruction, which has ended: its queues are dropped,
// and data the runner still sends for it is ignored (the instruction
// table says so).
func (d *dataStream) finish(instruction string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, q := range d.queues {
		if k.instruction == instruction {
			q.stop()
			delete(d.queues, k)
		}
	}
	for k := range d.lost {
		if k.instruction == instruction {
			delete(d.lost, k)
		}
	}
	for k := range d.timerQueues {
		if k.instruction == instruction {
			delete(d.timerQueues, k)
		}
	}
	d.lostOrder = slices.DeleteFunc(d.lostOrder, func(k queueKey) bool { return k.instruction == instruction })
	d.early = slices.DeleteFunc(d.early, func(k queueKey) bool { return k.instruction == instruction })
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
