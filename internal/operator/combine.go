package operator

import (
	"context"
	"fmt"
	"strings"
	"unsafe"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// CombineFn is the method set of sdk.CombineFn, which the combine
// operators call; see there for the contract.
type CombineFn[In, Acc, Out any] interface {
	CreateAccumulator() Acc
	AddInput(acc Acc, in In) Acc
	MergeAccumulators(a, b Acc) Acc
	ExtractOutput(acc Acc) Out
}

// Compacter is the method set of sdk.Compacter, an optional CombineFn
// method that shrinks an accumulator before it is encoded for the shuffle.
type Compacter[Acc any] interface {
	Compact(acc Acc) Acc
}

// Tally names the sdk's CombineFns whose precombine over string keys in
// the global window sums int64s in a tallyTable instead of accumulators in
// a map.
type Tally int

// The CombineFns a tally table runs.
const (
	// NoTally is any other CombineFn.
	NoTally Tally = iota
	// TallyCount counts inputs: accumulators and outputs are int64.
	TallyCount
	// TallySum sums int64 inputs into int64 accumulators and outputs.
	TallySum
)

// Combine describes a CombineFn to its precombine.
type Combine[In, Acc, Out any] struct {
	// NewFn returns the copy of the CombineFn that one operator instance
	// calls (instances run concurrently).
	NewFn func() CombineFn[In, Acc, Out]
	// Global says that the input is in the global window.
	Global bool
	// EndOfWindow says that the GroupByKey's timestamp combiner is the end
	// of the window, so that the grouping ignores the timestamps of the
	// precombine's accumulators (see precombine.flush).
	EndOfWindow bool
	// Builtin says that the CombineFn is one of the sdk's own, whose
	// methods cannot panic: elements skip the panic recovery.
	Builtin bool
	// Tally says which tally table, if any, runs the CombineFn.
	Tally Tally
}

// NewPrecombine returns the factory of a lifted combine's precombine
// phase: it turns KV[K, In] elements (of in) into partial KV[K, Acc]
// accumulators (of out) per bundle.
func NewPrecombine[K comparable, In, Acc, Out any](in, out TypeOps, c Combine[In, Acc, Out]) Factory {
	return &phaseFactory{in: in, out: out, build: func(env *Env, next any) (Operator, any, error) {
		r, ok := next.(Receiver[coder.KV[K, Acc]])
		if !ok {
			return nil, nil, fmt.Errorf("operator: %s precombine: output receiver is %T", env.UniqueName, next)
		}
		op := &precombine[K, In, Acc, Out]{env: env, fn: c.NewFn(), next: r, global: c.Global, endOfWindow: c.EndOfWindow, builtin: c.Builtin, tallyKind: c.Tally}
		return op, op, nil
	}}
}

// precombineFlushKeys bounds the keys a precombine holds before it flushes
// partial accumulators early, to bound memory.
const precombineFlushKeys = 1 << 18

// NewMapPhase returns the factory of a one-to-one phase of a combine
// (merging accumulators, extracting outputs, combining grouped values):
// its operator turns each element a of in into f(fn, a) of out, where fn,
// the operator instance's own copy of the CombineFn, comes from newFn. A
// panic becomes an error naming the transform.
func NewMapPhase[F, A, B any](in, out TypeOps, newFn func() F, f func(fn F, a A) B) Factory {
	return &phaseFactory{in: in, out: out, build: func(env *Env, next any) (Operator, any, error) {
		r, ok := next.(Receiver[B])
		if !ok {
			return nil, nil, fmt.Errorf("operator: %s: output receiver is %T", env.UniqueName, next)
		}
		fn := newFn()
		return NoLifecycle{}, receiverFunc[A](func(v window.Value[A]) (err error) {
			defer func() {
				if x := recover(); x != nil {
					err = PanicError(env.UniqueName, v.Elem, true, x)
				}
			}()
			return r.Receive(window.Value[B]{Elem: f(fn, v.Elem), Timestamp: v.Timestamp, Windows: v.Windows, Pane: v.Pane})
		}), nil
	}}
}

// receiverFunc adapts a function to Receiver.
type receiverFunc[T any] func(v window.Value[T]) error

func (f receiverFunc[T]) Receive(v window.Value[T]) error { return f(v) }

// phaseFactory is a Factory for single-input, single-output operators.
type phaseFactory struct {
	in, out TypeOps
	build   func(env *Env, next any) (Operator, any, error)
}

func (f *phaseFactory) InputOps() TypeOps    { return f.in }
func (f *phaseFactory) OutputOps() []TypeOps { return []TypeOps{f.out} }
func (f *phaseFactory) Build(env *Env, outs []any) (Operator, any, error) {
	if len(outs) != 1 {
		return nil, nil, fmt.Errorf("operator: %s: wired %d outputs, want 1", env.UniqueName, len(outs))
	}
	return f.build(env, outs[0])
}

// keyWins is a key's entry of precombine.byKeyWins: the key, its first
// window and that window's accumulator inline (all there is in fixed
// windows), the latest start of its windows, its ring of newest further
// windows and the blocks of older ones.
type keyWins[K comparable, Acc any] struct {
	// k is the key (the map's copy), so that flush can walk the entries
	// in the order they came, where their blocks mostly lie too, instead
	// of in the map's order (see flush).
	k   K
	w   window.Window
	acc Acc
	// top is the latest Start of the key's windows: a window that starts
	// later is new to the key, without a scan.
	top window.Time
	// ring is the winBlock of the key's newest further windows, noBlock
	// if none: the rn-th window put in it is in slot (rn-1)%winBlockLen,
	// so that it holds the last winBlockLen that came. rn, kept here
	// rather than in the block, tells where the newest is without reading
	// the block first.
	ring, rn int32
	// more is the newest of the blocks the ring's windows went to when it
	// was full, noBlock if none; they hold the key's older windows, in the
	// order they came, and are chained from newest to oldest. All but the
	// newest are full: the ring's rn-winBlockLen oldest went there (see
	// older).
	more int32
}

// older returns how many windows of the key's newest older block hold
// (see keyWins.more).
func (e *keyWins[K, Acc]) older() int32 {
	if e.more == noBlock {
		return 0
	}
	return (e.rn-winBlockLen-1)%winBlockLen + 1
}

// winBlock holds up to winBlockLen windows of one key and their
// accumulators, each window beside its accumulator: as a key's ring or,
// filled in order, as one of its older blocks, where next is the previous
// block of the key (see keyWins). How many a block holds follows from the
// key's entry, so that adding a window reads no block.
type winBlock[Acc any] struct {
	slots [winBlockLen]winSlot[Acc]
	next  int32
}

// winSlot is a window and its accumulator.
type winSlot[Acc any] struct {
	w   window.Window
	acc Acc
}

// winBlockLen is the length of a winBlock: a sliding window's element
// goes to a few consecutive windows, mostly the key's newest ones, which
// a key's ring of 8 holds. The tables' bound on blocks is in blocks of
// this length, so their memory stays the same.
const winBlockLen = 8

// noBlock ends a key's list of winBlocks.
const noBlock int32 = -1

// winAcc is one of a key's windows and its accumulator; done marks one
// emitted already (see emitKey).
type winAcc[Acc any] struct {
	w    window.Window
	acc  Acc
	done bool
}

// maxGrouped bounds the windows of a key whose accumulators flush
// compares, each with each.
const maxGrouped = 16

// precombine holds partial accumulators per key (and window) for one bundle
// and emits them when the bundle finishes or too many keys are held.
//
// Outside the global window an element goes to several windows (five in
// sliding windows of five periods): a map of (key, window) was looked up
// once per window, each a cache miss in a map of every key and window of
// the bundle (the bids benchmark: 18% of its CPU). byKeyWins is looked up
// once per element instead, and the key's windows are scanned in its own
// entry and blocks, which lie together, each window beside its
// accumulator: a window found is an accumulator found, without another
// cache miss into a table of accumulators.
//
// The maps hold indexes (into accs, kwins) rather than accumulators or
// pointers: the entries stay contiguous (one cache miss less per element
// than a pointer), and an existing key is never assigned again, so the map keeps
// the copied key it was inserted with. String keys are copied into
// keyArena chunks rather than allocated one by one: the keys of a bundle lie
// together in memory, the frequent ones (which come first) in the first
// chunks, so the map's key comparisons touch fewer cache lines. The maps
// are reused (cleared) from bundle to bundle.
type precombine[K comparable, In, Acc, Out any] struct {
	env    *Env
	fn     CombineFn[In, Acc, Out]
	next   Receiver[coder.KV[K, Acc]]
	global bool
	// endOfWindow is Combine.EndOfWindow; sameAcc, set with it when Acc
	// is int64 or string, says whether two accumulators are equal.
	endOfWindow bool
	sameAcc     func(a, b Acc) bool
	// passThrough is set when the grouping's timestamp combiner is not the
	// end of the window: each input goes out at once as an accumulator of
	// its own, at its own timestamp, so that the grouping combines the
	// inputs' timestamps as it would the inputs'. (Held accumulators go
	// out at the end of their window, which the earliest or latest input
	// is not.)
	passThrough bool
	// group is flush's scratch: a key's windows and accumulators.
	group []winAcc[Acc]
	// byKey is used in the global window: it maps a key to its
	// accumulator in accs.
	byKey map[K]int32
	accs  []Acc
	// byKeyWins is used otherwise: it maps a key to its entry in kwins,
	// which holds the key's windows and their accumulators with its
	// blocks. held counts those accumulators.
	byKeyWins map[K]int32
	kwins     []keyWins[K, Acc]
	blocks    []winBlock[Acc]
	held      int
	// spareKwins and spareBlocks are the tables makeRoom rebuilds kwins
	// and blocks into, swapped with them, so that their memory is reused.
	spareKwins  []keyWins[K, Acc]
	spareBlocks []winBlock[Acc]
	// blockOrder is gatherInOrder's scratch: a key's blocks, newest first.
	blockOrder []int32
	// builtin is set for the sdk's own CombineFns, which cannot panic:
	// their elements skip the panic recovery.
	builtin bool
	// tallyKind is the tally table the CombineFn may run in (see tally).
	tallyKind Tally
	// strKeys is set when K is string: keys are copied into keys.
	strKeys bool
	keys    keyArena
	// tally, when set, holds the sums instead of byKey and accs: the
	// CombineFn is the sdk's count or int64 sum (tallyKind), K is string
	// and the window global (see tallyTable). tallyIn is the input as an int64
	// for a sum, nil for a count (which adds 1); asKey and asAcc turn a
	// table's key and sum into K and Acc, which are string and int64.
	tally   *tallyTable
	tallyIn func(In) int64
	asKey   func(string) K
	asAcc   func(int64) Acc
	// configured is set once the fields above are.
	configured bool
}

var _ elemSinker[coder.KV[string, int]] = (*precombine[string, int, int, int])(nil)

// configure sets the fields derived from the types and the kind of
// CombineFn.
func (p *precombine[K, In, Acc, Out]) configure() {
	if p.configured {
		return
	}
	p.configured = true
	var k K
	_, p.strKeys = any(k).(string)
	if !p.endOfWindow {
		p.passThrough = true
		return
	}
	if p.endOfWindow {
		if eq, ok := any(func(a, b int64) bool { return a == b }).(func(Acc, Acc) bool); ok {
			p.sameAcc = eq
		} else if eq, ok := any(func(a, b string) bool { return a == b }).(func(Acc, Acc) bool); ok {
			p.sameAcc = eq
		}
	}
	asKey, strKey := any(func(s string) string { return s }).(func(string) K)
	asAcc, intAcc := any(func(n int64) int64 { return n }).(func(int64) Acc)
	if !p.global || !strKey || !intAcc {
		return
	}
	switch p.tallyKind {
	case TallyCount:
		p.tally = newTallyTable()
	case TallySum:
		in, ok := any(func(v int64) int64 { return v }).(func(In) int64)
		if !ok {
			return
		}
		p.tally, p.tallyIn = newTallyTable(), in
	default:
		return
	}
	p.asKey, p.asAcc = asKey, asAcc
}

// Setup configures the operator.
func (p *precombine[K, In, Acc, Out]) Setup(context.Context) error {
	p.configure()
	return nil
}

// elemSink returns the function a fused predecessor calls with each
// input, specialized for the common cases: the global window with the
// sdk's own CombineFns (no panic recovery), and counting.
func (p *precombine[K, In, Acc, Out]) elemSink() func(coder.KV[K, In], *elemMeta) error {
	p.configure()
	switch {
	case p.passThrough:
		return func(kv coder.KV[K, In], m *elemMeta) error { return p.passRecovering(kv, m.Timestamp, m.Windows) }
	case p.tally != nil:
		return func(kv coder.KV[K, In], _ *elemMeta) error { return p.addTally(kv) }
	case p.global && p.builtin:
		return func(kv coder.KV[K, In], _ *elemMeta) error { return p.addGlobal(kv) }
	case p.builtin:
		return func(kv coder.KV[K, In], m *elemMeta) error { return p.add(kv, m.Windows) }
	default:
		return func(kv coder.KV[K, In], m *elemMeta) error { return p.addRecovering(kv, m.Windows) }
	}
}

// counter is implemented by the precombine: countSink returns, for a count
// over string keys in a tally table, the function that counts one key, a
// func(string, *elemMeta) error, and otherwise nil. A FuncOp whose
// function pairs its input with 1 (Func.KeysOne) calls it in place of its
// own sink.
type counter interface {
	countSink() any
}

var _ counter = (*precombine[string, int, int64, int64])(nil)

// countSink implements counter.
func (p *precombine[K, In, Acc, Out]) countSink() any {
	p.configure()
	if p.tally == nil || p.tallyIn != nil {
		return nil
	}
	t := p.tally
	return func(k string, _ *elemMeta) error {
		if t.add(k, 1, precombineFlushKeys) {
			return nil
		}
		if err := p.flush(); err != nil {
			return err
		}
		t.add(k, 1, precombineFlushKeys)
		return nil
	}
}

// countEmitter is implemented by the precombine, and by a FuncOp that
// pairs its input with 1 in front of one: countEmit returns, for a count
// over string keys in a tally table, a func(string) that counts one key,
// to be a FlatMap's emit function in place of its closure and its
// successor's sink (two indirect calls per output fewer); otherwise nil.
// The function does nothing once *downErr is set, and sets it to the error
// of a flush it had to do.
type countEmitter interface {
	countEmit(downErr *error) any
}

var _ countEmitter = (*precombine[string, int, int64, int64])(nil)

// countEmit implements countEmitter.
func (p *precombine[K, In, Acc, Out]) countEmit(downErr *error) any {
	p.configure()
	if p.tally == nil || p.tallyIn != nil {
		return nil
	}
	t := p.tally
	return func(k string) {
		if *downErr != nil {
			return
		}
		if t.add(k, 1, precombineFlushKeys) {
			return
		}
		if err := p.flush(); err != nil {
			*downErr = err
			return
		}
		t.add(k, 1, precombineFlushKeys)
	}
}

// addTally adds an input to its key's sum in the tally table, flushing
// first if the key is new and too many are held.
func (p *precombine[K, In, Acc, Out]) addTally(kv coder.KV[K, In]) error {
	// K is string (configure checked), so its bytes are a string's.
	k := *(*string)(unsafe.Pointer(&kv.Key))
	v := int64(1)
	if p.tallyIn != nil {
		v = p.tallyIn(kv.Value)
	}
	if p.tally.add(k, v, precombineFlushKeys) {
		return nil
	}
	if err := p.flush(); err != nil {
		return err
	}
	p.tally.add(k, v, precombineFlushKeys)
	return nil
}

// addGlobal adds an input to its key's accumulator in the global window.
func (p *precombine[K, In, Acc, Out]) addGlobal(kv coder.KV[K, In]) error {
	i, ok := p.byKey[kv.Key]
	if !ok {
		var err error
		if i, err = p.newAcc(); err != nil {
			return err
		}
		p.byKey[p.ownKey(kv.Key)] = i
	}
	p.accs[i] = p.fn.AddInput(p.accs[i], kv.Value)
	return nil
}

// StartBundle empties the tables, keeping their memory.
func (p *precombine[K, In, Acc, Out]) StartBundle(context.Context) error {
	if p.byKey == nil {
		p.byKey = map[K]int32{}
		p.byKeyWins = map[K]int32{}
	}
	p.reset()
	return nil
}

// reset empties the tables, keeping their memory.
func (p *precombine[K, In, Acc, Out]) reset() {
	clear(p.byKey)
	clear(p.byKeyWins)
	clear(p.kwins)
	p.kwins = p.kwins[:0]
	clear(p.blocks)
	p.blocks = p.blocks[:0]
	p.held = 0
	clear(p.accs)
	p.accs = p.accs[:0]
	// Later keys go to new chunks, so that the chunks of the keys just
	// emitted are freed as soon as nothing downstream holds them.
	p.keys.release()
	if p.tally != nil {
		p.tally.reset()
	}
}

// Teardown does nothing.
func (p *precombine[K, In, Acc, Out]) Teardown(context.Context) error { return nil }

// newAcc starts an accumulator, flushing first if too many are held, and
// returns its index.
func (p *precombine[K, In, Acc, Out]) newAcc() (int32, error) {
	if len(p.accs) >= precombineFlushKeys {
		if err := p.flush(); err != nil {
			return 0, err
		}
	}
	p.accs = append(p.accs, p.fn.CreateAccumulator())
	return int32(len(p.accs) - 1), nil
}

// ownKey returns a copy of a key about to be held, so that it does not pin
// the larger string it was cut from (a line of text, say).
func (p *precombine[K, In, Acc, Out]) ownKey(k K) K {
	if p.strKeys {
		return any(p.keys.clone(any(k).(string))).(K)
	}
	return k
}

// Receive adds an input that did not come through a fused chain.
func (p *precombine[K, In, Acc, Out]) Receive(v window.Value[coder.KV[K, In]]) error {
	if p.passThrough {
		return p.passRecovering(v.Elem, v.Timestamp, v.Windows)
	}
	return p.addRecovering(v.Elem, v.Windows)
}

// passRecovering emits an input at once, in an accumulator of its own, at
// its timestamp ts (see passThrough), turning a panic of the CombineFn
// into an error.
func (p *precombine[K, In, Acc, Out]) passRecovering(kv coder.KV[K, In], ts window.Time, wins []window.Window) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = PanicError(p.env.UniqueName, kv, true, x)
		}
	}()
	return p.emitAcc(kv.Key, p.fn.AddInput(p.fn.CreateAccumulator(), kv.Value), ts, wins)
}

// addRecovering is add, turning a panic of the CombineFn into an error.
func (p *precombine[K, In, Acc, Out]) addRecovering(kv coder.KV[K, In], wins []window.Window) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = PanicError(p.env.UniqueName, kv, true, x)
		}
	}()
	return p.add(kv, wins)
}

// add adds an input to the accumulators of its key in each of the windows.
func (p *precombine[K, In, Acc, Out]) add(kv coder.KV[K, In], wins []window.Window) (err error) {
	if p.tally != nil {
		return p.addTally(kv)
	}
	if p.global {
		return p.addGlobal(kv)
	}
	if len(wins) == 0 {
		return nil
	}
	// Flush before the element rather than while adding it, so that its
	// key's entry stays valid: each window may take an accumulator and a
	// block.
	if p.held+len(wins) > precombineFlushKeys || len(p.blocks)+len(wins) > precombineFlushKeys/winBlockLen {
		if err := p.makeRoom(); err != nil {
			return err
		}
	}
	ki, ok := p.byKeyWins[kv.Key]
	if !ok {
		ki = int32(len(p.kwins))
		k := p.ownKey(kv.Key)
		p.kwins = append(p.kwins, keyWins[K, Acc]{k: k, w: wins[0], acc: p.fn.CreateAccumulator(), top: wins[0].Start, ring: noBlock, more: noBlock})
		p.held++
		p.byKeyWins[k] = ki
	}
	e := &p.kwins[ki]
	at := int32(-1)
	for _, w := range wins {
		a := p.accOf(e, w, &at)
		*a = p.fn.AddInput(*a, kv.Value)
	}
	return nil
}

// accOf returns the accumulator of key entry e's window w, starting one if
// w is new. The caller made room (see add), and uses the pointer before
// the next call.
//
// A window that starts after all of the key's is new without a scan (in
// time order, that is most new windows); otherwise the key's ring is
// scanned newest first, where an element's windows mostly are (the bids
// benchmark: a key's newest windows had been spread over two blocks, and
// finding the newest meant reading the block's count first, each a cache
// miss), then its older blocks.
//
// *at is the place in the ring (counted as rn is) of the element's
// previous window, -1 if none or not in the ring, and is set to w's: an
// element's windows (a sliding window's, in the order window.Fn.Assign
// gives them) came in that order before, so that each is in the slot
// after the previous one's, found without a scan, whose loop exit the
// processor mispredicts.
func (p *precombine[K, In, Acc, Out]) accOf(e *keyWins[K, Acc], w window.Window, at *int32) *Acc {
	if w.Start <= e.top {
		if e.w == w {
			*at = -1
			return &e.acc
		}
		if e.ring != noBlock {
			r := &p.blocks[e.ring].slots
			if i := *at + 1; i > 0 && i < e.rn {
				if s := &r[i%winBlockLen]; s.w == w {
					*at = i
					return &s.acc
				}
			}
			for i := e.rn - 1; i >= max(e.rn-winBlockLen, 0); i-- {
				if s := &r[i%winBlockLen]; s.w == w {
					*at = i
					return &s.acc
				}
			}
		}
		*at = -1
		for b, n := e.more, e.older(); b != noBlock; n = winBlockLen {
			blk := &p.blocks[b]
			for j := n - 1; j >= 0; j-- {
				if s := &blk.slots[j]; s.w == w {
					return &s.acc
				}
			}
			b = blk.next
		}
	} else {
		e.top = w.Start
	}
	if e.ring == noBlock {
		p.blocks = append(p.blocks, winBlock[Acc]{next: noBlock})
		e.ring = int32(len(p.blocks) - 1)
	} else if e.rn >= winBlockLen {
		// The ring is full: its oldest window goes to the older blocks.
		j := (e.rn - winBlockLen) % winBlockLen
		if j == 0 {
			p.blocks = append(p.blocks, winBlock[Acc]{next: e.more})
			e.more = int32(len(p.blocks) - 1)
		}
		p.blocks[e.more].slots[j] = p.blocks[e.ring].slots[e.rn%winBlockLen]
	}
	s := &p.blocks[e.ring].slots[e.rn%winBlockLen]
	s.w, s.acc = w, p.fn.CreateAccumulator()
	*at = e.rn
	e.rn++
	p.held++
	return &s.acc
}

func (p *precombine[K, In, Acc, Out]) compact(a Acc) Acc {
	if c, ok := p.fn.(Compacter[Acc]); ok {
		return c.Compact(a)
	}
	return a
}

// flush emits every held accumulator, at the end of its window, and clears.
func (p *precombine[K, In, Acc, Out]) flush() error {
	gw := window.GlobalWindows()
	if p.tally != nil {
		if err := p.tally.each(func(k string, sum int64) error {
			return p.next.Receive(window.Value[coder.KV[K, Acc]]{Elem: coder.KV[K, Acc]{Key: p.asKey(k), Value: p.asAcc(sum)}, Timestamp: window.EndOfGlobalWindow, Windows: gw, Pane: window.NoFiringPane()})
		}); err != nil {
			return err
		}
	}
	for k, i := range p.byKey {
		if err := p.next.Receive(window.Value[coder.KV[K, Acc]]{Elem: coder.KV[K, Acc]{Key: k, Value: p.compact(p.accs[i])}, Timestamp: window.EndOfGlobalWindow, Windows: gw, Pane: window.NoFiringPane()}); err != nil {
			return err
		}
	}
	ws := make([]window.Window, 0, maxGrouped)
	// The entries in the order their keys came, not the map's: a key's
	// blocks were mostly added in that order too, so that the walk reads
	// the entries and blocks nearly in sequence, where the map's order
	// missed the cache once a key (the unbounded bids job: 7% of its CPU).
	for i := range p.kwins {
		e := &p.kwins[i]
		if err := p.emitKey(e.k, p.gatherInOrder(e), ws); err != nil {
			return err
		}
	}
	p.reset()
	return nil
}

// keepWins is how many windows of each key makeRoom keeps: an element of
// sliding windows of five periods goes to five. They fit the key's entry
// and one block.
const keepWins = 5

// makeRoom makes room in the windowed tables when they are full. If few
// enough keys are held that keeping the keepWins windows of each that
// start latest frees at least half of the room, accumulators and blocks
// (a key keeps at most one block), it emits every other window and keeps
// those: in a stream that runs forward in time, they are the windows that
// further elements go to, and emitting them now would emit them again,
// for the same (key, window), at the next flush. (In the bids benchmark's
// bounded job, a bundle holds about 26 windows of each of 10k auctions at
// the bound, and flushing them all split the 5 windows open at each flush
// in two: about 1M more accumulators to shuffle at 10M bids.) Otherwise it
// flushes everything.
func (p *precombine[K, In, Acc, Out]) makeRoom() error {
	if len(p.kwins)*keepWins > precombineFlushKeys/2 || len(p.kwins) > precombineFlushKeys/winBlockLen/2 {
		return p.flush()
	}
	ws := make([]window.Window, 0, maxGrouped)
	kw, blocks := p.spareKwins[:0], p.spareBlocks[:0]
	held := 0
	for i := range p.kwins {
		k := p.kwins[i].k
		g := p.gatherInOrder(&p.kwins[i])
		if len(g) > keepWins {
			sortByStart(g)
			if err := p.emitKey(k, g[:len(g)-keepWins], ws); err != nil {
				return err
			}
			g = g[len(g)-keepWins:]
		}
		// The kept windows go back in the order they start, the latest
		// last, where accOf looks first.
		e := keyWins[K, Acc]{k: k, w: g[0].w, acc: g[0].acc, top: g[0].w.Start, ring: noBlock, more: noBlock}
		if len(g) > 1 {
			blocks = append(blocks, winBlock[Acc]{next: noBlock})
			e.ring = int32(len(blocks) - 1)
			r := &blocks[e.ring]
			for _, x := range g[1:] {
				r.slots[e.rn] = winSlot[Acc]{w: x.w, acc: x.acc}
				e.rn++
				e.top = max(e.top, x.w.Start)
			}
		}
		p.byKeyWins[k] = int32(len(kw))
		kw = append(kw, e)
		held += len(g)
	}
	clear(p.kwins)
	clear(p.blocks)
	p.spareKwins, p.spareBlocks = p.kwins[:0], p.blocks[:0]
	p.kwins, p.blocks, p.held = kw, blocks, held
	return nil
}

// gatherInOrder returns key entry e's windows and accumulators, in p.group,
// in the order they came: in a stream that runs forward in time, nearly in
// the order they start.
func (p *precombine[K, In, Acc, Out]) gatherInOrder(e *keyWins[K, Acc]) []winAcc[Acc] {
	bs := p.blockOrder[:0]
	for b := e.more; b != noBlock; b = p.blocks[b].next {
		bs = append(bs, b)
	}
	p.blockOrder = bs
	g := append(p.group[:0], winAcc[Acc]{w: e.w, acc: e.acc})
	for i := len(bs) - 1; i >= 0; i-- {
		blk := &p.blocks[bs[i]]
		n := int32(winBlockLen)
		if i == 0 {
			n = e.older()
		}
		for j := range n {
			g = append(g, winAcc[Acc]{w: blk.slots[j].w, acc: blk.slots[j].acc})
		}
	}
	if e.ring != noBlock {
		r := &p.blocks[e.ring].slots
		for i := max(e.rn-winBlockLen, 0); i < e.rn; i++ {
			g = append(g, winAcc[Acc]{w: r[i%winBlockLen].w, acc: r[i%winBlockLen].acc})
		}
	}
	p.group = g
	return g
}

// sortByStart sorts g by window start, by insertion: g is nearly sorted
// (see gatherInOrder), and short.
func sortByStart[Acc any](g []winAcc[Acc]) {
	for i := 1; i < len(g); i++ {
		if g[i].w.Start >= g[i-1].w.Start {
			continue
		}
		x := g[i]
		j := i
		for ; j > 0 && g[j-1].w.Start > x.w.Start; j-- {
			g[j] = g[j-1]
		}
		g[j] = x
	}
}

// emitKey emits the accumulators of key k's windows g, each at the end of
// its window. Where the GroupByKey ignores the accumulators' timestamps
// (endOfWindow) and they can be compared, windows with equal accumulators
// go out as one element in all of them, at the end of the earliest: the
// GroupByKey sees the same accumulator in each window, with one element to
// encode, copy and decode instead of several. In the bids benchmark's
// unbounded job a bundle holds half as many bids as there are auctions, so
// most keys have one bid, and the same count, in all five of its windows.
func (p *precombine[K, In, Acc, Out]) emitKey(k K, g []winAcc[Acc], ws []window.Window) error {
	if p.sameAcc == nil || len(g) == 1 || len(g) > maxGrouped {
		for _, x := range g {
			if err := p.emitAcc(k, x.acc, x.w.MaxTimestamp(), append(ws[:0], x.w)); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range g {
		if g[i].done {
			continue // emitted with an earlier one
		}
		a := g[i].acc
		ws = append(ws[:0], g[i].w)
		ts := g[i].w.MaxTimestamp()
		for j := i + 1; j < len(g); j++ {
			if !g[j].done && p.sameAcc(a, g[j].acc) {
				ws = append(ws, g[j].w)
				ts = min(ts, g[j].w.MaxTimestamp())
				g[j].done = true
			}
		}
		if err := p.emitAcc(k, a, ts, ws); err != nil {
			return err
		}
	}
	return nil
}

// emitAcc emits accumulator a of key k in windows ws at ts.
func (p *precombine[K, In, Acc, Out]) emitAcc(k K, a Acc, ts window.Time, ws []window.Window) error {
	return p.next.Receive(window.Value[coder.KV[K, Acc]]{Elem: coder.KV[K, Acc]{Key: k, Value: p.compact(a)}, Timestamp: ts, Windows: ws, Pane: window.NoFiringPane()})
}

// FinishBundle emits every held accumulator.
func (p *precombine[K, In, Acc, Out]) FinishBundle(context.Context) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = PanicError(p.env.UniqueName, nil, false, x)
		}
	}()
	return p.flush()
}

// keyArena copies strings into shared chunks (the buffers of a
// strings.Builder, whose earlier bytes are never written again). A string it
// returns pins its chunk, which is why chunks are small.
type keyArena struct {
	b strings.Builder
}

// keyChunk is the size of a keyArena chunk; longer strings get their own.
const keyChunk = 16 << 10

// clone returns a copy of s.
func (a *keyArena) clone(s string) string {
	if len(s) > keyChunk/16 {
		return strings.Clone(s)
	}
	if a.b.Cap()-a.b.Len() < len(s) {
		a.b = strings.Builder{}
		a.b.Grow(keyChunk)
	}
	start := a.b.Len()
	a.b.WriteString(s)
	return a.b.String()[start:]
}

// cloneBytes returns a string with the bytes of b.
func (a *keyArena) cloneBytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	// clone copies the bytes before returning: the view does not outlive
	// the call.
	return a.clone(unsafe.String(&b[0], len(b)))
}

// release makes the next clone start a new chunk, so that strings handed
// out so far share no chunk with later ones.
func (a *keyArena) release() { a.b = strings.Builder{} }

// NoLifecycle is the Operator of transforms without user lifecycle.
type NoLifecycle struct{}

// Setup does nothing.
func (NoLifecycle) Setup(context.Context) error { return nil }

// StartBundle does nothing.
func (NoLifecycle) StartBundle(context.Context) error { return nil }

// FinishBundle does nothing.
func (NoLifecycle) FinishBundle(context.Context) error { return nil }

// Teardown does nothing.
func (NoLifecycle) Teardown(context.Context) error { return nil }
