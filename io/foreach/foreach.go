package foreach

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"math/rand/v2"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// Epoch identifies one micro-batch of a sink: the pane of a window of a
// shard. The runner presents the same epoch with the same elements on every
// attempt of the bundle that holds it. It is a comparable value, safe to
// copy and to use as a map key.
type Epoch struct {
	// Shard is the shard, in [0, Options.Shards).
	Shard int
	// Window is the window the epoch's elements belong to: the global
	// window unless the input is windowed.
	Window window.Window
	// Pane is the index of the pane, counting the firings of Window's
	// trigger for Shard from 0; it grows by one per firing.
	Pane int64
	// Final says this is the window's last pane for Shard.
	Final bool
}

// WindowKey returns a stable text form of e's window, for recording an
// epoch in an external table keyed by shard and window.
func (e Epoch) WindowKey() string { return e.Window.String() }

// String returns a readable form of e, e.g. "shard 2 window GlobalWindow pane 7".
func (e Epoch) String() string {
	return fmt.Sprintf("shard %d window %s pane %d", e.Shard, e.Window, e.Pane)
}

// EpochError is the error of a sink's epoch: it names the epoch and wraps
// what went wrong.
type EpochError struct {
	Epoch Epoch
	Err   error
}

// Error returns the message, naming the epoch.
func (e *EpochError) Error() string { return fmt.Sprintf("foreach: %v: %v", e.Epoch, e.Err) }

// Unwrap returns the underlying error.
func (e *EpochError) Unwrap() error { return e.Err }

// Options configure Write and Batch; nil means the defaults. The
// functions they hold are called concurrently from several worker
// threads.
type Options[T any] struct {
	// Name names the transform (default "foreach.Write" or "foreach.Batch").
	Name string
	// Shards is the number of shards, each written by one writer at a
	// time (default 1). More shards write in parallel; one shard keeps
	// a total order of epochs.
	Shards int
	// ShardOf, when set, picks the shard of an element (taken modulo
	// Shards). Set it so that all updates of one key go to one shard, as
	// an upsert sink needs; the default spreads elements round-robin.
	ShardOf func(T) uint64
	// Trigger, when set, re-triggers the input (keeping its window
	// function) before grouping: it decides how often epochs are cut.
	// Unset, the input's own trigger applies. Either way each epoch holds
	// only the elements since the shard's previous epoch (discarding
	// panes), also when the input's panes accumulate.
	Trigger *sdk.Trigger
}

// withDefaults returns a copy of o with defaults filled in.
func (o *Options[T]) withDefaults(name string) Options[T] {
	var c Options[T]
	if o != nil {
		c = *o
	}
	if c.Name == "" {
		c.Name = name
	}
	if c.Shards <= 0 {
		c.Shards = 1
	}
	return c
}

// batchLimit is how many elements of one shard the shard step gathers
// into one shuffle record, where it may gather (see epochs), and
// pendingLimit bounds the elements it holds over all shards: with many
// shards a batch is smaller.
const (
	batchLimit   = 256
	pendingLimit = 16384
)

// batchSize returns how many elements of a shard go into one shuffle
// record, for an input of strategy st cut into shards: batchLimit (fewer
// with many shards) in the global window under a trigger that counts no
// elements, else 1 (see epochs).
func batchSize(st window.Strategy, shards int) int {
	if st.Fn.Kind != window.KindGlobal || countsElements(st.Trigger) {
		return 1
	}
	return max(1, min(batchLimit, pendingLimit/max(shards, 1)))
}

// countsElements reports whether t, or any trigger in it, fires on
// element counts (AfterCount, Always): fed batches, it would count
// batches instead of elements.
func countsElements(t window.Trigger) bool {
	switch t.Kind {
	case window.TriggerAfterCount, window.TriggerAlways:
		return true
	}
	if (t.Early != nil && countsElements(*t.Early)) || (t.Late != nil && countsElements(*t.Late)) {
		return true
	}
	for _, sub := range t.Subs {
		if countsElements(sub) {
			return true
		}
	}
	return false
}

// epochs shards and groups in, one group per epoch, and writes the groups
// with a sink made by perElement or, where the shard step batches, by
// batched; either is given the function that turns a group's values into
// the epoch's elements (decoded lazily each time they are ranged over).
//
// In the global window, under the default trigger or one that fires on
// time only (processing time, the watermark, and compositions of them,
// such as Repeatedly(AfterProcessingTime), the usual trigger of a
// streaming sink), the shard step gathers each shard's elements of a
// bundle into batches (batchSize) and the shuffle carries one record per
// batch instead of one per element: its per-record work (the windowed
// value, the key, the merge's comparisons) is done once per batch. A batch
// travels as bytes (a []T encoded by T's coder), so that the shuffle finds
// a record's end from its length rather than by skipping each element.
// The epochs hold the same elements: the runner hands a bundle's output to
// the grouping when the bundle commits, all of it at once, so a bundle's
// elements reach the same pane whether batched or not; the only window is
// the global one, which no element is late for; and a batch's timestamp
// (its last element's) reaches nothing, since the sink has no output.
// Elsewhere the shuffle carries one record per element: a batch emitted
// from FinishBundle would get the last element's window, and a count
// trigger (AfterCount, Always, anywhere in the trigger) would count
// batches.
func epochs[T any](s sdk.Scope, in sdk.PCollection[T], o Options[T], name string,
	perElement func(elems func(iter.Seq[T]) iter.Seq[T]) sdk.SinkFn[sdk.Group[int, T]],
	batched func(elems func(iter.Seq[[]byte]) iter.Seq[T]) sdk.SinkFn[sdk.Group[int, []byte]]) {
	// An epoch holds what arrived since the previous one: under an
	// accumulating strategy the sink's own grouping would repeat earlier
	// elements in every later epoch. Re-windowing is skipped when it is
	// not needed, since it would re-merge merged session windows.
	if o.Trigger != nil || in.WindowingStrategy().Accumulation == window.Accumulating {
		wopts := []sdk.Option{sdk.Discarding(), sdk.Name("Discarding")}
		if o.Trigger != nil {
			wopts = append(wopts, sdk.Triggering(*o.Trigger))
		}
		in = sdk.WindowInto(s, in.WindowFn(), in, wopts...)
	}
	pick := shardPicker[T]{shards: o.Shards, of: o.ShardOf}
	limit := batchSize(in.WindowingStrategy(), o.Shards)
	if limit <= 1 {
		keyed := sdk.ParDo(s, sdk.DoFn[T, sdk.KV[int, T]](&shardFn[T]{shardPicker: pick}), in, sdk.Name("Shard"))
		groups := sdk.GroupByKey(s, keyed, sdk.Name("GroupByShard"))
		sdk.ForEach(s, perElement(func(vs iter.Seq[T]) iter.Seq[T] { return vs }), groups, sdk.Name(name))
		return
	}
	c, err := coder.Of[[]T]()
	if err != nil {
		s.Errorf(o.Name, "foreach: %w", err)
		return
	}
	keyed := sdk.ParDo(s, sdk.DoFn[T, sdk.KV[int, []byte]](&batchShardFn[T]{shardPicker: pick, limit: limit, coder: c}), in, sdk.Name("Shard"))
	groups := sdk.GroupByKey(s, keyed, sdk.Name("GroupByShard"))
	elems, ok := any(bytesOf).(func(iter.Seq[[]byte]) iter.Seq[T])
	if !ok {
		elems = func(bs iter.Seq[[]byte]) iter.Seq[T] { return elementsOf(c, bs) }
	}
	sdk.ForEach(s, batched(elems), groups, sdk.Name(name))
}

// elementsOf returns the elements of an epoch's batches, decoded lazily
// each time it is ranged over. The batches are the shard step's own
// encoding: one that does not decode is a bug, and panics.
func elementsOf[T any](c coder.Coder[[]T], batches iter.Seq[[]byte]) iter.Seq[T] {
	return func(yield func(T) bool) {
		for b := range batches {
			vs, _, err := c.Decode(b)
			if err != nil {
				panic(fmt.Sprintf("foreach: a batch of the shuffle does not decode: %v", err))
			}
			for _, v := range vs {
				if !yield(v) {
					return
				}
			}
		}
	}
}

// bytesOf is elementsOf for elements of type []byte (a Kafka sink's
// values, say): each element is a slice of its batch instead of a copy of
// its own, which was an allocation per element. A batch is the grouping's
// decoded value, a copy that no one else holds (decoded values never
// alias the decoder's input), and each element's capacity ends where the
// element does, so appending to one does not overwrite the next. An
// element kept keeps its batch's bytes alive.
func bytesOf(batches iter.Seq[[]byte]) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for b := range batches {
			if !yieldBytes(b, yield) {
				return
			}
		}
	}
}

// yieldBytes yields the elements of batch b, a beam:coder:iterable:v1 of
// beam:coder:bytes:v1 (a 4-byte big-endian count, then each element's
// varint length and bytes), as slices of b, and reports whether yield
// wants more. A batch in the iterable's other form (blocks of unknown
// length, which the shard step does not write) is decoded by elementsOf.
func yieldBytes(b []byte, yield func([]byte) bool) bool {
	if len(b) < 4 || int32(binary.BigEndian.Uint32(b)) < 0 {
		for v := range elementsOf(bytesBatchCoder, func(y func([]byte) bool) { y(b) }) {
			if !yield(v) {
				return false
			}
		}
		return true
	}
	count, off := int(binary.BigEndian.Uint32(b)), 4
	for i := range count {
		l, m := binary.Uvarint(b[off:])
		if m <= 0 || l > uint64(len(b)-off-m) {
			panic(fmt.Sprintf("foreach: a batch of the shuffle does not decode: element %d of %d", i, count))
		}
		start, end := off+m, off+m+int(l)
		off = end
		if !yield(b[start:end:end]) {
			return false
		}
	}
	if off != len(b) {
		panic(fmt.Sprintf("foreach: a batch of the shuffle does not decode: %d bytes after its %d elements", len(b)-off, count))
	}
	return true
}

// bytesBatchCoder is the coder of batches of []byte.
var bytesBatchCoder = func() coder.Coder[[][]byte] {
	c, err := coder.Of[[][]byte]()
	if err != nil {
		panic(fmt.Sprintf("foreach: no coder for [][]byte: %v", err))
	}
	return c
}()

// shardPicker picks an element's shard: by ShardOf, or round robin.
type shardPicker[T any] struct {
	shards int
	of     func(T) uint64
	// next is this instance's round-robin position.
	next int
}

// start starts the round robin at a random shard, so that many small
// bundles do not all begin at shard 0.
func (p *shardPicker[T]) start() { p.next = rand.IntN(p.shards) }

// pick returns v's shard.
func (p *shardPicker[T]) pick(v T) int {
	if p.of != nil {
		return int(p.of(v) % uint64(p.shards))
	}
	shard := p.next
	p.next = (p.next + 1) % p.shards
	return shard
}

// shardFn keys each element by its shard.
type shardFn[T any] struct {
	shardPicker[T]
}

// Setup starts the round robin.
func (f *shardFn[T]) Setup(context.Context) error {
	f.start()
	return nil
}

// ProcessElement emits v keyed by its shard.
func (f *shardFn[T]) ProcessElement(_ context.Context, v T, emit func(sdk.KV[int, T])) error {
	emit(sdk.KV[int, T]{Key: f.pick(v), Value: v})
	return nil
}

// batchShardFn keys each element by its shard, in batches of up to limit
// elements of one shard, encoded by coder.
type batchShardFn[T any] struct {
	shardPicker[T]
	limit int
	coder coder.Coder[[]T]
	// pending holds each shard's batch not yet emitted.
	pending [][]T
	// size is the length of the last batch's encoding: the next one's
	// buffer is made a little larger, so that it does not grow.
	size int
}

// Setup starts the round robin.
func (f *batchShardFn[T]) Setup(context.Context) error {
	f.start()
	f.pending = make([][]T, f.shards)
	return nil
}

// StartBundle drops what a failed bundle left pending: its retry adds
// those elements again.
func (f *batchShardFn[T]) StartBundle(context.Context) error {
	for i, b := range f.pending {
		clear(b)
		f.pending[i] = b[:0]
	}
	return nil
}

// ProcessElement adds v to its shard's batch, and emits the batch when it
// is full.
func (f *batchShardFn[T]) ProcessElement(_ context.Context, v T, emit func(sdk.KV[int, []byte])) error {
	shard := f.pick(v)
	f.pending[shard] = append(f.pending[shard], v)
	if len(f.pending[shard]) >= f.limit {
		f.emit(shard, emit)
	}
	return nil
}

// emit emits shard's batch, encoded; the batch's array is reused.
func (f *batchShardFn[T]) emit(shard int, emit func(sdk.KV[int, []byte])) {
	b := f.pending[shard]
	enc := f.coder.Encode(make([]byte, 0, f.size+f.size/4+64), b)
	f.size = len(enc)
	clear(b) // drop references for the collector
	f.pending[shard] = b[:0]
	emit(sdk.KV[int, []byte]{Key: shard, Value: enc})
}

// FinishBundle emits the batches that are not full.
func (f *batchShardFn[T]) FinishBundle(_ context.Context, emit func(sdk.KV[int, []byte])) error {
	for shard, b := range f.pending {
		if len(b) > 0 {
			f.emit(shard, emit)
		}
	}
	return nil
}

// epochOf returns the epoch of the group being processed.
func epochOf(ctx context.Context, shard int) Epoch {
	p := sdk.PaneOf(ctx)
	return Epoch{Shard: shard, Window: sdk.WindowOf(ctx), Pane: p.Index, Final: p.IsLast}
}
