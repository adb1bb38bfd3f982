package harness

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/grpc"
)

// fakeDataClient is the harness's end of a data stream, fed by a test:
// Recv returns the messages pushed on in, and counts them.
type fakeDataClient struct {
	grpc.ClientStream
	ctx      context.Context
	in       chan *fnpb.Elements
	received atomic.Int64
	// waiting is set while Recv waits for a message.
	waiting atomic.Bool
}

func (f *fakeDataClient) Recv() (*fnpb.Elements, error) {
	select {
	case m := <-f.in:
		f.received.Add(1)
		return m, nil
	default:
	}
	f.waiting.Store(true)
	defer f.waiting.Store(false)
	select {
	case m := <-f.in:
		f.received.Add(1)
		return m, nil
	case <-f.ctx.Done():
		return nil, f.ctx.Err()
	}
}

func (f *fakeDataClient) Send(*fnpb.Elements) error { return nil }
func (f *fakeDataClient) CloseSend() error          { return nil }

// fuzzOps turns fuzz bytes into data stream traffic and instruction
// events: data and timer chunks for a few instruction and transform ids
// (or arbitrary ones), process_bundle requests that arrive, descriptors
// that name sources, and instructions that end.
type fuzzOp struct {
	kind                   byte // 0 data, 1 timers, 2 accept, 3 sources, 4 end
	instruction, transform string
	data                   []byte
	last                   bool
}

func parseFuzzOps(b []byte) []fuzzOp {
	var ops []fuzzOp
	next := func() byte {
		if len(b) == 0 {
			return 0
		}
		c := b[0]
		b = b[1:]
		return c
	}
	for len(b) > 0 && len(ops) < 2000 {
		c := next()
		op := fuzzOp{kind: c % 5}
		if i := next(); i < 240 {
			op.instruction = "i" + strconv.Itoa(int(i%12))
		} else {
			n := min(int(i-240), len(b))
			op.instruction, b = "x"+string(b[:n]), b[n:]
		}
		op.transform = "t" + strconv.Itoa(int(next()%4))
		n := min(int(next()%32), len(b))
		op.data, b = b[:n], b[n:]
		op.last = c&0x80 != 0
		ops = append(ops, op)
	}
	return ops
}

// FuzzDataStream feeds arbitrary chunks and instruction events to a data
// stream's demultiplexer: it must not panic or stall, must keep its
// bookkeeping within bounds, and must still deliver a valid bundle's input
// afterwards.
func FuzzDataStream(f *testing.F) {
	f.Add([]byte{})
	// Data for an instruction that is never requested, past the queue depth.
	f.Add(bytes.Repeat([]byte{0, 1, 0, 3, 'a', 'b', 'c'}, 100))
	// A request, its sources, data for another transform, then its end.
	f.Add([]byte{2, 1, 0, 0, 3, 1, 0, 0, 0, 1, 1, 2, 'x', 'y', 0x80, 1, 0, 0, 4, 1, 0, 0})
	// Timers and empty chunks, arbitrary ids.
	f.Add([]byte{1, 245, 'a', 'b', 'c', 'd', 'e', 1, 4, 1, 2, 3, 4, 0x80, 250, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ops := parseFuzzOps(b)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		fc := &fakeDataClient{ctx: ctx, in: make(chan *fnpb.Elements, len(ops)+16)}
		insts := newInstructionTable()
		d := newDataStream(fc, cancel, insts, time.Millisecond)
		accepted := map[string]bool{}
		pushed := int64(0)
		for _, op := range ops {
			switch op.kind {
			case 0:
				fc.in <- &fnpb.Elements{Data: []*fnpb.Elements_Data{{InstructionId: op.instruction, TransformId: op.transform, Data: op.data, IsLast: op.last}}}
				pushed++
			case 1:
				fc.in <- &fnpb.Elements{Timers: []*fnpb.Elements_Timers{{InstructionId: op.instruction, TransformId: op.transform, Timers: op.data, IsLast: op.last}}}
				pushed++
			case 2:
				insts.accept(op.instruction)
				accepted[op.instruction] = true
			case 3:
				insts.setSources(op.instruction, []string{op.transform})
			case 4:
				insts.end(op.instruction)
				d.finish(op.instruction)
				delete(accepted, op.instruction)
			}
		}
		// Bundles end: what they did not read is dropped.
		for inst := range accepted {
			insts.end(inst)
			d.finish(inst)
		}
		deadline := time.Now().Add(10 * time.Second)
		for fc.received.Load() < pushed || !fc.waiting.Load() {
			if time.Now().After(deadline) {
				t.Fatalf("the stream's reader stalled: it read %d of %d messages", fc.received.Load(), pushed)
			}
			time.Sleep(100 * time.Microsecond)
		}
		checkBounds(t, d, insts)

		// A valid bundle still gets its whole input.
		insts.accept("valid")
		insts.setSources("valid", []string{"src"})
		var got []byte
		var readErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			for chunk, err := range d.input(ctx, "valid", "src") {
				if err != nil {
					readErr = err
					return
				}
				got = append(got, chunk...)
			}
		})
		var want []byte
		for i := range 3 {
			c := []byte(fmt.Sprintf("chunk%d;", i))
			want = append(want, c...)
			fc.in <- &fnpb.Elements{Data: []*fnpb.Elements_Data{{InstructionId: "valid", TransformId: "src", Data: c, IsLast: i == 2}}}
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a valid bundle's input did not arrive after the fuzzed traffic")
		}
		if readErr != nil || !bytes.Equal(got, want) {
			t.Fatalf("valid bundle input = %q, %v; want %q", got, readErr, want)
		}
		insts.end("valid")
		d.finish("valid")
		checkBounds(t, d, insts)
	})
}

// checkBounds fails t if the stream's or the table's bookkeeping grew past
// its bounds, or still holds instructions that ended.
func checkBounds(t *testing.T, d *dataStream, insts *instructionTable) {
	t.Helper()
	d.mu.Lock()
	queues, early, lost := len(d.queues), len(d.early), len(d.lost)
	d.mu.Unlock()
	insts.mu.Lock()
	running, ended := len(insts.running), len(insts.ended)
	insts.mu.Unlock()
	if queues > maxEarly || early > maxEarly || lost > lostMemory || ended > endedMemory || running != 0 {
		t.Fatalf("bookkeeping out of bounds: %d queues, %d early (max %d), %d lost (max %d), %d ended (max %d), %d running (want 0)",
			queues, early, maxEarly, lost, lostMemory, ended, endedMemory, running)
	}
}
