package foreach

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

func TestBatchSize(t *testing.T) {
	fixed := sdk.NewPipeline()
	windowed := sdk.WindowInto(fixed.Root(), sdk.FixedWindows(time.Minute), sdk.Create(fixed.Root(), []int{1}))
	triggered := window.GlobalStrategy()
	triggered.Trigger = sdk.Repeatedly(sdk.AfterCount(10))
	timed := window.GlobalStrategy()
	timed.Trigger = sdk.Repeatedly(sdk.AfterProcessingTime().PlusDelayOf(time.Second))
	earlyCount := window.GlobalStrategy()
	earlyCount.Trigger = sdk.AfterWatermark().WithEarlyFirings(sdk.AfterCount(5))
	earlyTime := window.GlobalStrategy()
	earlyTime.Trigger = sdk.AfterWatermark().WithEarlyFirings(sdk.AfterProcessingTime().PlusDelayOf(time.Second))
	nestedCount := window.GlobalStrategy()
	nestedCount.Trigger = sdk.Repeatedly(sdk.AfterAny(sdk.AfterProcessingTime().PlusDelayOf(time.Second), sdk.AfterCount(100)))
	always := window.GlobalStrategy()
	always.Trigger = sdk.Repeatedly(sdk.Always())
	fixedTimed := windowed.WindowingStrategy()
	fixedTimed.Trigger = timed.Trigger
	tests := []struct {
		name   string
		st     window.Strategy
		shards int
		want   int
	}{
		{"global, default trigger", window.GlobalStrategy(), 2, batchLimit},
		{"global, many shards", window.GlobalStrategy(), 1000, pendingLimit / 1000},
		{"global, more shards than pendingLimit", window.GlobalStrategy(), 2 * pendingLimit, 1},
		{"global, count trigger", triggered, 2, 1},
		{"global, processing-time trigger", timed, 2, batchLimit},
		{"global, early firings on time", earlyTime, 2, batchLimit},
		{"global, early firings on counts", earlyCount, 2, 1},
		{"global, a count among processing time", nestedCount, 2, 1},
		{"global, always", always, 2, 1},
		{"fixed windows, processing-time trigger", fixedTimed, 2, 1},
		{"fixed windows", windowed.WindowingStrategy(), 2, 1},
	}
	for _, tc := range tests {
		if got := batchSize(tc.st, tc.shards); got != tc.want {
			t.Errorf("%s: batchSize = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// kvs records what a shardFn emits, decoded.
type kvs []sdk.KV[int, []int]

// intsCoder is the batches' coder for ints.
var intsCoder = func() coder.Coder[[]int] {
	c, err := coder.Of[[]int]()
	if err != nil {
		panic(err)
	}
	return c
}()

func (k *kvs) emit(kv sdk.KV[int, []byte]) {
	vs, n, err := intsCoder.Decode(kv.Value)
	if err != nil || n != len(kv.Value) {
		panic(fmt.Sprintf("batch %x: %d of %d bytes decoded, %v", kv.Value, n, len(kv.Value), err))
	}
	*k = append(*k, sdk.KV[int, []int]{Key: kv.Key, Value: vs})
}

func TestBatchShardFnBatchesPerShard(t *testing.T) {
	ctx := context.Background()
	f := &batchShardFn[int]{shardPicker: shardPicker[int]{shards: 2}, limit: 3, coder: intsCoder}
	if err := f.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	f.next = 0
	var got kvs
	if err := f.StartBundle(ctx); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 8; v++ {
		if err := f.ProcessElement(ctx, v, got.emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.FinishBundle(ctx, got.emit); err != nil {
		t.Fatal(err)
	}
	want := kvs{{Key: 0, Value: []int{1, 3, 5}}, {Key: 1, Value: []int{2, 4, 6}}, {Key: 0, Value: []int{7}}, {Key: 1, Value: []int{8}}}
	if !slices.EqualFunc(got, want, func(a, b sdk.KV[int, []int]) bool { return a.Key == b.Key && slices.Equal(a.Value, b.Value) }) {
		t.Errorf("emitted %v, want %v", got, want)
	}
	// A bundle that failed midway leaves elements pending; the next bundle
	// (its retry) must not emit them.
	got = nil
	f.ProcessElement(ctx, 9, got.emit)
	f.StartBundle(ctx)
	f.ProcessElement(ctx, 10, got.emit)
	f.FinishBundle(ctx, got.emit)
	if len(got) != 1 || !slices.Equal(got[0].Value, []int{10}) {
		t.Errorf("after a failed bundle, the next emitted %v, want only [10]", got)
	}
}

func TestShardFnKeysEachElement(t *testing.T) {
	ctx := context.Background()
	f := &shardFn[int]{shardPicker: shardPicker[int]{shards: 2, of: func(v int) uint64 { return uint64(v) }}}
	f.Setup(ctx)
	var got []sdk.KV[int, int]
	for v := range 3 {
		f.ProcessElement(ctx, v, func(kv sdk.KV[int, int]) { got = append(got, kv) })
	}
	if want := []sdk.KV[int, int]{{Key: 0, Value: 0}, {Key: 1, Value: 1}, {Key: 0, Value: 2}}; !slices.Equal(got, want) {
		t.Errorf("emitted %v, want %v", got, want)
	}
}

func TestElementsOfFlattensAndStops(t *testing.T) {
	var encoded [][]byte
	for _, b := range [][]int{{1, 2}, {}, {3}, {4, 5}} {
		encoded = append(encoded, intsCoder.Encode(nil, b))
	}
	batches := slices.Values(encoded)
	if got := slices.Collect(elementsOf(intsCoder, batches)); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Errorf("elementsOf = %v", got)
	}
	var got []int
	for v := range elementsOf(intsCoder, batches) {
		got = append(got, v)
		if v == 3 {
			break
		}
	}
	if !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("elementsOf with break = %v, want [1 2 3]", got)
	}
}

func TestElementsOfPanicsOnBytesItDidNotWrite(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("elementsOf decoded a batch that is not one")
		}
	}()
	for range elementsOf(intsCoder, slices.Values([][]byte{{0xff, 0xff}})) {
	}
}

func TestBytesOfSlicesItsBatches(t *testing.T) {
	batches := [][][]byte{{[]byte("ab"), {}, []byte("cde")}, {}, {[]byte(strings.Repeat("x", 300))}}
	var encoded [][]byte
	var want [][]byte
	for _, b := range batches {
		encoded = append(encoded, bytesBatchCoder.Encode(nil, b))
		want = append(want, b...)
	}
	got := slices.Collect(bytesOf(slices.Values(encoded)))
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("bytesOf = %q, want %q", got, want)
	}
	// The elements are slices of their batch, each ending where it does.
	if &got[0][0] != &encoded[0][5] {
		t.Errorf("the first element is not a slice of its batch")
	}
	_ = append(got[0], 'z')
	if !bytes.Equal(got[2], []byte("cde")) {
		t.Errorf("appending to an element changed the next: %q", got[2])
	}
	// Stopping early stops.
	n := 0
	for range bytesOf(slices.Values(encoded)) {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("ranged over %d elements after a break at 2", n)
	}
	// A batch in blocks (count -1, a block of two, the end) decodes too.
	blocks := []byte{0xff, 0xff, 0xff, 0xff, 2, 1, 'a', 1, 'b', 0}
	if got := slices.Collect(bytesOf(slices.Values([][]byte{blocks}))); !slices.EqualFunc(got, [][]byte{[]byte("a"), []byte("b")}, bytes.Equal) {
		t.Errorf("bytesOf of a batch in blocks = %q", got)
	}
}

func TestBytesOfPanicsOnBytesItDidNotWrite(t *testing.T) {
	for _, b := range [][]byte{{0, 0, 0, 1, 5, 'a'}, {0, 0, 0, 1, 1, 'a', 'b'}, {0, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("bytesOf decoded %x, which is no batch", b)
				}
			}()
			for range bytesOf(slices.Values([][]byte{b})) {
			}
		}()
	}
}
