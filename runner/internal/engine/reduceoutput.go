package engine

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
)

// reduceOutput collects one bundle's output for the reducers reading it,
// in pointer-free buffers: batches wait for a busy reducer, and as
// reduce.Elements (three slices each) they were most of a streaming job's
// live heap, all of it for the collector to scan. The buffers are lists of
// fixed-size blocks, reused: grown by append, a bundle of a few MB of
// output copied it about twice and left the outgrown arrays to the
// collector, and growing fresh buffers for every bundle was four tenths
// of the streaming benchmark's allocations.
type reduceOutput struct {
	// data holds the elements' keys and values, recs the elements, wins
	// their windows.
	data  blocks[byte]
	recs  blocks[elemRec]
	wins  blocks[window.Window]
	n     int
	minTs window.Time
	bytes int64
	// refs counts the reducers that have yet to add the output; j.mu
	// guards it.
	refs int
}

// elemRec is one element of a reduceOutput: its key and value at
// data block kv from offset at, its windows at wins block win from
// offset woff.
type elemRec struct {
	ts        window.Time
	kv, at    uint32
	key, val  uint32
	win, woff uint32
	nwin      uint32
	// hash is the key's, which picks its reducer part.
	hash uint32
}

// Block sizes of a reduceOutput's buffers.
const (
	dataBlock = 256 << 10
	recBlock  = 4096
	winBlock  = 4096
)

// rec returns element i's record.
func (o *reduceOutput) rec(i int) elemRec { return o.recs.list[i/recBlock][i%recBlock] }

// elements appends elements from to to-1 to dst, aliasing o's buffers.
func (o *reduceOutput) elements(dst []reduce.Element, from, to int) []reduce.Element {
	for i := from; i < to; i++ {
		dst = append(dst, o.element(o.rec(i)))
	}
	return dst
}

// element returns the element of r, aliasing o's buffers.
func (o *reduceOutput) element(r elemRec) reduce.Element {
	kv := o.data.at(r.kv, r.at, r.key+r.val)
	ws := o.wins.at(r.win, r.woff, r.nwin)
	return reduce.Element{Key: kv[:r.key:r.key], Value: kv[r.key:], Timestamp: r.ts, Windows: ws}
}

// add records the KV element of windowed value v split at key length k.
func (o *reduceOutput) add(v window.Value[[]byte], k int) {
	if len(v.Elem) > math.MaxUint32/2 || len(v.Windows) > math.MaxUint32/2 {
		panic(fmt.Sprintf("engine: a GroupByKey element of %d bytes or %d windows", len(v.Elem), len(v.Windows)))
	}
	r := elemRec{ts: v.Timestamp, key: uint32(k), val: uint32(len(v.Elem) - k), nwin: uint32(len(v.Windows)), hash: keyHash(v.Elem[:k])}
	r.kv, r.at = o.data.add(v.Elem, dataBlock)
	r.win, r.woff = o.wins.add(v.Windows, winBlock)
	o.recs.addOne(r, recBlock)
	o.n++
	o.minTs = min(o.minTs, v.Timestamp)
	// An element's record and first window take about 64 bytes; further
	// windows (a lifted combine's accumulator in several) count too, or
	// the buffer budget would hold back a source only later.
	o.bytes += int64(len(v.Elem)) + 64 + int64(max(len(v.Windows)-1, 0))*int64(unsafe.Sizeof(window.Window{}))
}

// reset empties o, keeping blocks of its buffers up to maxKeptOutput
// bytes in all.
func (o *reduceOutput) reset() {
	keep := maxKeptOutput
	keep = o.data.reset(dataBlock, keep)
	keep = o.recs.reset(recBlock, keep)
	o.wins.reset(winBlock, keep)
	o.n, o.bytes = 0, 0
}

// capacity is the size of o's buffers.
func (o *reduceOutput) capacity() int {
	return o.data.capacity() + o.recs.capacity() + o.wins.capacity()
}

// blocks is a buffer of runs of values in blocks of a fixed size, a run
// never split over two blocks (one larger than the size gets a block of
// its own), so that a run stays one slice and the buffer grows without
// copying what it holds.
type blocks[T any] struct {
	// list holds the blocks in use, the last one being filled; spare the
	// empty blocks kept for reuse.
	list  [][]T
	spare [][]T
}

// add appends vs and returns where they are: block and offset.
func (b *blocks[T]) add(vs []T, size int) (blk, off uint32) {
	n := len(b.list)
	if n == 0 || cap(b.list[n-1])-len(b.list[n-1]) < len(vs) {
		b.list = append(b.list, b.block(max(size, len(vs))))
		n++
	}
	last := b.list[n-1]
	b.list[n-1] = append(last, vs...)
	return uint32(n - 1), uint32(len(last))
}

// addOne appends v, in a block of the given size, and returns where it
// is: add of one value without a slice of it to copy from.
func (b *blocks[T]) addOne(v T, size int) (blk, off uint32) {
	n := len(b.list)
	if n == 0 || len(b.list[n-1]) == cap(b.list[n-1]) {
		b.list = append(b.list, b.block(size))
		n++
	}
	last := &b.list[n-1]
	*last = append(*last, v)
	return uint32(n - 1), uint32(len(*last) - 1)
}

// block returns an empty block of capacity size, a spare one if it fits.
func (b *blocks[T]) block(size int) []T {
	if k := len(b.spare); k > 0 && cap(b.spare[k-1]) >= size {
		blk := b.spare[k-1]
		b.spare[k-1] = nil
		b.spare = b.spare[:k-1]
		return blk
	}
	return make([]T, 0, size)
}

// at returns the n values at offset off of block blk.
func (b *blocks[T]) at(blk, off, n uint32) []T {
	return b.list[blk][off : off+n : off+n]
}

// reset empties b, keeping blocks of the standard size as spares while
// they fit in keep bytes, and returns what is left of keep.
func (b *blocks[T]) reset(size, keep int) int {
	var zero T
	bytes := size * int(unsafe.Sizeof(zero))
	b.list = append(b.list, b.spare...)
	b.spare = b.spare[:0]
	for i, blk := range b.list {
		if cap(blk) == size && keep >= bytes {
			b.spare = append(b.spare, blk[:0])
			keep -= bytes
		}
		b.list[i] = nil
	}
	b.list = b.list[:0]
	return keep
}

// capacity is the size of b's blocks, in bytes.
func (b *blocks[T]) capacity() int {
	var zero T
	n := 0
	for _, blk := range b.list {
		n += cap(blk)
	}
	for _, blk := range b.spare {
		n += cap(blk)
	}
	return n * int(unsafe.Sizeof(zero))
}

// reduceOutputs holds emptied reduceOutputs for reuse. It is a free list,
// not a sync.Pool: a pool is emptied by every other collection, and a
// streaming job near its memory limit collects several times a second, so
// almost every bundle grew its buffers from nothing again (growslice and
// copying were a tenth of the Kafka benchmark's CPU).
var reduceOutputs outputFreeList

// outputFreeList is a bounded list of emptied reduceOutputs, safe for
// concurrent use.
type outputFreeList struct {
	// mu guards the fields below.
	mu   sync.Mutex
	list []*reduceOutput
	// bytes is the capacity of the buffers held by list.
	bytes int
}

// Bounds of what a recycled reduceOutput and the free list keep, so that
// one huge bundle does not pin its memory for the rest of the job, nor a
// burst of bundles theirs.
const (
	maxKeptOutput  = 4 << 20
	maxFreeOutputs = 16 << 20
)

// get returns an emptied reduceOutput, or nil if none is free.
func (l *outputFreeList) get() *reduceOutput {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.list)
	if n == 0 {
		return nil
	}
	o := l.list[n-1]
	l.list[n-1] = nil
	l.list = l.list[:n-1]
	l.bytes -= o.capacity()
	return o
}

// put empties o and keeps it for reuse, unless the list is full.
func (l *outputFreeList) put(o *reduceOutput) {
	o.reset()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bytes+o.capacity() > maxFreeOutputs {
		return
	}
	l.list = append(l.list, o)
	l.bytes += o.capacity()
}

// newReduceOutput returns an empty reduceOutput, reused if one is free.
func newReduceOutput() *reduceOutput {
	o := reduceOutputs.get()
	if o == nil {
		o = new(reduceOutput)
	}
	o.minTs = window.MaxTime
	return o
}

// release recycles the batch's memory once no reducer still has to add
// it; j.mu is held.
func (b *reduceBatch) release() {
	o := b.out
	b.out = nil
	if o == nil {
		return
	}
	if o.refs--; o.refs > 0 {
		return
	}
	reduceOutputs.put(o)
}
