package operator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// collector is a Receiver that keeps what it receives; err, when set, is
// returned from every Receive.
type collector[T any] struct {
	got []window.Value[T]
	err error
}

func (c *collector[T]) Receive(v window.Value[T]) error {
	// Receive may not retain v.Windows.
	v.Windows = slices.Clone(v.Windows)
	c.got = append(c.got, v)
	return c.err
}

func (c *collector[T]) elems() []T {
	var out []T
	for _, v := range c.got {
		out = append(out, v.Elem)
	}
	return out
}

func testEnv(name string) *Env { return &Env{UniqueName: name} }

// KV shortens coder.KV.
type KV[K, V any] = coder.KV[K, V]

// countFn and sumFn are the sdk's count and int64 sum, which the sdk
// describes to the precombine as built in and tallied.
type countFn[T any] struct{}

func (countFn[T]) CreateAccumulator() int64           { return 0 }
func (countFn[T]) AddInput(a int64, _ T) int64        { return a + 1 }
func (countFn[T]) MergeAccumulators(a, b int64) int64 { return a + b }
func (countFn[T]) ExtractOutput(a int64) int64        { return a }

type sumFn struct{}

func (sumFn) CreateAccumulator() int64           { return 0 }
func (sumFn) AddInput(a, v int64) int64          { return a + v }
func (sumFn) MergeAccumulators(a, b int64) int64 { return a + b }
func (sumFn) ExtractOutput(a int64) int64        { return a }

// newPrecombine returns a precombine of fn configured as the sdk does it
// (see NewPrecombine): countFn and sumFn are built in and tallied.
func newPrecombine[In any](name string, fn CombineFn[In, int64, int64], next Receiver[KV[string, int64]], global bool) *precombine[string, In, int64, int64] {
	p := &precombine[string, In, int64, int64]{env: testEnv(name), fn: fn, next: next, global: global, endOfWindow: true}
	switch any(fn).(type) {
	case countFn[In]:
		p.builtin, p.tallyKind = true, TallyCount
	case sumFn:
		p.builtin, p.tallyKind = true, TallySum
	}
	return p
}

func TestFuncOpMapKeepsTimestampWindowsAndPane(t *testing.T) {
	out := &collector[int]{}
	op := NewFuncOp(testEnv("Len"), Func[string, int]{One: func(s string) int { return len(s) }, Call: func(s string, emit func(int)) { emit(len(s)) }}, Receiver[int](out))
	wins := []window.Window{window.Interval(0, 10), window.Interval(5, 15)}
	pane := window.Pane{IsFirst: true, Index: 3}
	if err := op.Receive(window.Value[string]{Elem: "abc", Timestamp: 7, Windows: wins, Pane: pane}); err != nil {
		t.Fatal(err)
	}
	want := []window.Value[int]{{Elem: 3, Timestamp: 7, Windows: wins, Pane: pane}}
	if diff := cmp.Diff(want, out.got, cmp.AllowUnexported(window.Window{})); diff != "" {
		t.Errorf("Map output (-want +got):\n%s", diff)
	}
}

func TestFuncOpFlatMapEmitsEveryOutput(t *testing.T) {
	out := &collector[string]{}
	op := NewFuncOp(testEnv("Split"), Func[string, string]{Call: func(s string, emit func(string)) {
		for w := range strings.FieldsSeq(s) {
			emit(w)
		}
	}}, Receiver[string](out))
	for _, line := range []string{"a b", "", "c"} {
		if err := op.Receive(window.Value[string]{Elem: line, Windows: window.GlobalWindows()}); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, out.elems()); diff != "" {
		t.Errorf("FlatMap output (-want +got):\n%s", diff)
	}
}

func TestFuncOpErrors(t *testing.T) {
	downstream := errors.New("downstream failed")
	for _, tc := range []struct {
		name string
		fn   Func[string, string]
		// downErr is returned by the receiver.
		downErr error
		// wantUser says the error must be a UserError of the transform
		// "Op" on the element; otherwise it must be downErr itself.
		wantUser bool
		// wantEmits is how many outputs reach the receiver.
		wantEmits int
	}{
		{
			name:     "a panicking Map function fails naming the transform",
			fn:       Func[string, string]{One: func(string) string { panic("boom") }},
			wantUser: true,
		},
		{
			name:     "a panicking FlatMap function fails naming the transform",
			fn:       Func[string, string]{Call: func(s string, emit func(string)) { emit(s); panic("boom") }},
			wantUser: true, wantEmits: 1,
		},
		{
			name:    "a Map's downstream error is returned unchanged",
			fn:      Func[string, string]{One: strings.ToUpper},
			downErr: downstream, wantEmits: 1,
		},
		{
			name: "a FlatMap stops emitting after a downstream error",
			fn: Func[string, string]{Call: func(s string, emit func(string)) {
				emit(s)
				emit(s)
			}},
			downErr: downstream, wantEmits: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &collector[string]{err: tc.downErr}
			op := NewFuncOp(testEnv("Op"), tc.fn, Receiver[string](out))
			err := op.Receive(window.Value[string]{Elem: "elem", Windows: window.GlobalWindows()})
			var ue *UserError
			switch {
			case tc.wantUser && (!errors.As(err, &ue) || ue.Transform != "Op" || !strings.Contains(ue.Element, "elem")):
				t.Errorf("Receive = %v, want a UserError of Op on elem", err)
			case !tc.wantUser && err != tc.downErr:
				t.Errorf("Receive = %v, want %v", err, tc.downErr)
			}
			if len(out.got) != tc.wantEmits {
				t.Errorf("%d outputs reached the receiver, want %d", len(out.got), tc.wantEmits)
			}
			// The next element is processed normally: no error sticks.
			out.err = nil
			out.got = nil
			if tc.fn.One != nil && !tc.wantUser {
				if err := op.Receive(window.Value[string]{Elem: "x", Windows: window.GlobalWindows()}); err != nil {
					t.Errorf("Receive after an error = %v", err)
				}
			}
		})
	}
}

// fusedCount builds Split -> Key -> precombine(count) and returns its
// input receiver, its operators and where the counts go. keysOne marks Key
// as sdk.CountElements marks it (builtin, Func.KeysOne); *keyed counts its
// calls.
func fusedCount(keysOne bool, keyed *int) (Receiver[string], []Operator, *collector[KV[string, int64]]) {
	out := &collector[KV[string, int64]]{}
	pre := newPrecombine[int64]("Count", countFn[int64]{}, out, true)
	key := NewFuncOp(testEnv("Key"), Func[string, KV[string, int64]]{
		One: func(w string) KV[string, int64] {
			*keyed++
			return KV[string, int64]{Key: w, Value: 1}
		},
		Builtin: keysOne, KeysOne: keysOne,
	}, Receiver[KV[string, int64]](pre))
	split := NewFuncOp(testEnv("Split"), Func[string, string]{Call: func(s string, emit func(string)) {
		for w := range strings.FieldsSeq(s) {
			emit(w)
		}
	}}, Receiver[string](key))
	return split, []Operator{split, key, pre}, out
}

func TestFusedChainPassesElementsWithoutWindowedValues(t *testing.T) {
	for _, keysOne := range []bool{false, true} {
		t.Run(fmt.Sprintf("KeysOne=%v", keysOne), func(t *testing.T) {
			var keyed int
			testFusedCount(t, keysOne, &keyed)
			// With KeysOne the count takes the words from Split: Key's
			// function is not called.
			if calls, want := keyed, map[bool]int{false: 7, true: 0}[keysOne]; calls != want {
				t.Errorf("Key's function called %d times, want %d", calls, want)
			}
		})
	}
}

func testFusedCount(t *testing.T, keysOne bool, keyed *int) {
	in, ops, out := fusedCount(keysOne, keyed)
	if !ops[0].(*FuncOp[string, string]).fused || !ops[1].(*FuncOp[string, KV[string, int64]]).fused {
		t.Fatalf("the chain does not pass elements through elemSink")
	}
	ctx := context.Background()
	bundles := [][]string{{"a b a", "c"}, {"a", "d d"}}
	var got []string
	for _, lines := range bundles {
		out.got = nil
		for _, op := range ops {
			if err := op.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			if err := op.StartBundle(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, l := range lines {
			if err := in.Receive(window.Value[string]{Elem: l, Timestamp: 1, Windows: window.GlobalWindows()}); err != nil {
				t.Fatal(err)
			}
		}
		for _, op := range ops {
			if err := op.FinishBundle(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range out.got {
			if v.Timestamp != window.EndOfGlobalWindow || len(v.Windows) != 1 || !v.Windows[0].IsGlobal() {
				t.Errorf("accumulator %v: timestamp %v windows %v, want the end of the global window", v.Elem, v.Timestamp, v.Windows)
			}
			got = append(got, fmt.Sprintf("%s=%d", v.Elem.Key, v.Elem.Value))
		}
		got = append(got, "|")
	}
	// Each bundle's accumulators are its own: nothing carries over.
	want := []string{"a=2", "b=1", "c=1", "|", "a=1", "d=2", "|"}
	sortBundles(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accumulators per bundle (-want +got):\n%s", diff)
	}
}

// TestFusedCountEmitsIntoTheTable feeds a FlatMap -> KeysOne -> count
// chain more distinct words in one bundle than the precombine holds: the
// FlatMap's emit goes straight into the count's table (countEmit), which
// flushes early and counts on, and a downstream error of that early flush
// fails the element, and the outputs after it are dropped.
func TestFusedCountEmitsIntoTheTable(t *testing.T) {
	var keyed int
	in, ops, out := fusedCount(true, &keyed)
	if _, ok := ops[1].(countEmitter).countEmit(new(error)).(func(string)); !ok {
		t.Fatal("the KeysOne step does not pass the count's emit function on")
	}
	ctx := context.Background()
	for _, op := range ops {
		if err := op.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := op.StartBundle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	n := precombineFlushKeys + 1000
	var line strings.Builder
	for i := range n {
		fmt.Fprintf(&line, "w%d w%d ", i, i%7)
		if i%500 == 499 || i == n-1 {
			if err := in.Receive(window.Value[string]{Elem: line.String(), Windows: window.GlobalWindows()}); err != nil {
				t.Fatal(err)
			}
			line.Reset()
		}
	}
	for _, op := range ops {
		if err := op.FinishBundle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	total := map[string]int64{}
	for _, v := range out.got {
		total[v.Elem.Key] += v.Elem.Value
	}
	if len(out.got) <= len(total) {
		t.Errorf("%d accumulators for %d keys: no early flush", len(out.got), len(total))
	}
	if len(total) != n || total["w0"] != int64(1+(n+6)/7) || total["w8"] != 1 || keyed != 0 {
		t.Errorf("%d keys, w0 %d, w8 %d, Key called %d times; want %d, %d, 1, 0", len(total), total["w0"], total["w8"], keyed, n, 1+(n+6)/7)
	}

	// A failing flush in the middle of an element.
	boom := errors.New("boom")
	out.got, out.err = nil, boom
	for _, op := range ops {
		if err := op.StartBundle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	line.Reset()
	for i := range precombineFlushKeys + 10 {
		fmt.Fprintf(&line, "v%d ", i)
	}
	if err := in.Receive(window.Value[string]{Elem: line.String(), Windows: window.GlobalWindows()}); !errors.Is(err, boom) {
		t.Fatalf("Receive = %v, want the flush's error", err)
	}
	if len(out.got) != 1 {
		t.Errorf("%d accumulators offered after the failed one, want none", len(out.got)-1)
	}
}

// sortBundles sorts each "|"-terminated run of s.
func sortBundles(s []string) {
	start := 0
	for i, v := range s {
		if v == "|" {
			slices.Sort(s[start:i])
			start = i + 1
		}
	}
}

func TestPrecombineCopiesStringKeys(t *testing.T) {
	// The count and the sum keep their keys in a tallyTable, a user's
	// CombineFn in a keyArena.
	for name, fn := range map[string]CombineFn[int64, int64, int64]{"count": countFn[int64]{}, "sum": sumFn{}, "user": userSum{}} {
		t.Run(name, func(t *testing.T) {
			out := &collector[KV[string, int64]]{}
			pre := newPrecombine("Count", fn, out, true)
			ctx := context.Background()
			if err := pre.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			if err := pre.StartBundle(ctx); err != nil {
				t.Fatal(err)
			}
			line := strings.Repeat("key ", 1000)
			var inputs []string
			for i := 0; i+3 <= len(line); i += 4 {
				inputs = append(inputs, line[i:i+3], line[i:i+1], "")
			}
			long := strings.Repeat("k", keyChunk) // longer than an arena chunk
			inputs = append(inputs, long, long)
			for _, k := range inputs {
				if err := pre.Receive(window.Value[KV[string, int64]]{Elem: KV[string, int64]{Key: k, Value: 1}, Windows: window.GlobalWindows()}); err != nil {
					t.Fatal(err)
				}
			}
			if err := pre.FinishBundle(ctx); err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, v := range out.got {
				k := v.Elem.Key
				if p := unsafe.StringData(k); uintptr(unsafe.Pointer(p)) >= uintptr(unsafe.Pointer(unsafe.StringData(line))) &&
					uintptr(unsafe.Pointer(p)) < uintptr(unsafe.Pointer(unsafe.StringData(line)))+uintptr(len(line)) {
					t.Errorf("key %q points into the input line: it pins it", k)
				}
				if k == long && unsafe.StringData(k) == unsafe.StringData(long) {
					t.Errorf("the long key was not copied")
				}
				got[k] = v.Elem.Value
			}
			if diff := cmp.Diff(map[string]int64{"key": 1000, "k": 1000, "": 1000, long: 2}, got); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrecombineWindowedThroughChain(t *testing.T) {
	out := &collector[KV[string, int64]]{}
	pre := newPrecombine[int64]("Count", countFn[int64]{}, out, false)
	keyed := NewFuncOp(testEnv("Key"), Func[string, KV[string, int64]]{
		One: func(w string) KV[string, int64] { return KV[string, int64]{Key: w, Value: 1} },
	}, Receiver[KV[string, int64]](pre))
	ctx := context.Background()
	for _, op := range []Operator{keyed, pre} {
		if err := op.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := op.StartBundle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	w1, w2 := window.Interval(0, 10), window.Interval(10, 20)
	for _, v := range []window.Value[string]{
		{Elem: "a", Windows: []window.Window{w1, w2}},
		{Elem: "a", Windows: []window.Window{w2}},
		{Elem: "b", Windows: []window.Window{w1}},
	} {
		if err := keyed.Receive(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := pre.FinishBundle(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range out.got {
		got = append(got, fmt.Sprintf("%s@%d=%d ts %d", v.Elem.Key, v.Windows[0].Start, v.Elem.Value, v.Timestamp))
	}
	slices.Sort(got)
	want := []string{"a@0=1 ts 9", "a@10=2 ts 19", "b@0=1 ts 9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accumulators (-want +got):\n%s", diff)
	}
}

// userSum is a CombineFn of the user's: the precombine runs it through
// its methods.
type userSum struct{}

func (userSum) CreateAccumulator() int64           { return 0 }
func (userSum) AddInput(a, v int64) int64          { return a + v }
func (userSum) MergeAccumulators(a, b int64) int64 { return a + b }
func (userSum) ExtractOutput(a int64) int64        { return a }

// panicky panics on the input "bad".
type panicky struct{ countFn[string] }

func (panicky) AddInput(a int64, v string) int64 {
	if v == "bad" {
		panic("bad input")
	}
	return a + 1
}

func TestPrecombineRecoversCombineFnPanics(t *testing.T) {
	out := &collector[KV[string, int64]]{}
	pre := &precombine[string, string, int64, int64]{env: testEnv("Combine"), fn: panicky{}, next: out, global: true, endOfWindow: true}
	ctx := context.Background()
	if err := pre.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pre.StartBundle(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func(KV[string, string]) error
	}{
		{"through Receive", func(kv KV[string, string]) error {
			return pre.Receive(window.Value[KV[string, string]]{Elem: kv, Windows: window.GlobalWindows()})
		}},
		{"through elemSink", func(kv KV[string, string]) error {
			return pre.elemSink()(kv, &elemMeta{Windows: window.GlobalWindows()})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(KV[string, string]{Key: "k", Value: "good"}); err != nil {
				t.Fatalf("good input: %v", err)
			}
			err := tc.call(KV[string, string]{Key: "k", Value: "bad"})
			var ue *UserError
			if !errors.As(err, &ue) || ue.Transform != "Combine" || !strings.Contains(ue.Element, "bad") {
				t.Errorf("bad input: error %v, want a UserError of Combine on the element", err)
			}
		})
	}
}

func TestPrecombineBoundsHeldKeys(t *testing.T) {
	// The count and the sum keep their sums in a tallyTable, a user's
	// CombineFn in accs.
	// "count, keys" is the count fed keys directly (counter).
	fns := map[string]CombineFn[int64, int64, int64]{"count": countFn[int64]{}, "count, keys": countFn[int64]{}, "sum": sumFn{}, "user": userSum{}}
	for name, fn := range fns {
		t.Run(name, func(t *testing.T) {
			out := &collector[KV[string, int64]]{}
			pre := newPrecombine("Count", fn, out, true)
			ctx := context.Background()
			if err := pre.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			if tallied := pre.tally != nil; tallied != (name != "user") {
				t.Fatalf("tallied %v, want it for the sdk's CombineFns only", tallied)
			}
			n := precombineFlushKeys + precombineFlushKeys/2
			sink := pre.elemSink()
			if counts, ok := pre.countSink().(func(string, *elemMeta) error); ok != strings.HasPrefix(name, "count") {
				t.Fatalf("countSink is a key counter: %v, want it for the count only", ok)
			} else if name == "count, keys" {
				sink = func(kv KV[string, int64], m *elemMeta) error { return counts(kv.Key, m) }
			}
			for bundle := range 2 {
				out.got = nil
				if err := pre.StartBundle(ctx); err != nil {
					t.Fatal(err)
				}
				for i := range n {
					// Key 0 comes back after the early flush.
					k := fmt.Sprint(i)
					if i == n-1 {
						k = "0"
					}
					if err := sink(KV[string, int64]{Key: k, Value: 1}, &elemMeta{Windows: window.GlobalWindows()}); err != nil {
						t.Fatal(err)
					}
					held := len(pre.accs)
					if pre.tally != nil {
						held += pre.tally.len()
					}
					if held > precombineFlushKeys {
						t.Fatalf("bundle %d: %d keys held, want at most %d", bundle, held, precombineFlushKeys)
					}
				}
				if err := pre.FinishBundle(ctx); err != nil {
					t.Fatal(err)
				}
				total := map[string]int64{}
				for _, v := range out.got {
					total[v.Elem.Key] += v.Elem.Value
				}
				if len(total) != n-1 || total["0"] != 2 || total["1"] != 1 {
					t.Errorf("bundle %d: %d keys, key 0 counted %d, key 1 %d; want %d keys, 2, 1", bundle, len(total), total["0"], total["1"], n-1)
				}
				if len(out.got) != n {
					t.Errorf("bundle %d: %d accumulators emitted, want %d (key 0 twice)", bundle, len(out.got), n)
				}
			}
		})
	}
}

// TestPrecombineWindowedMatchesCounts adds elements in sliding windows (a
// key's windows spread over its entry and several blocks, arriving out of
// order) and in fixed windows, past the bound of held accumulators, and
// checks the emitted accumulators against counts kept aside: every (key,
// window) once per flush, the sums exact, the windows' timestamps their
// ends, and never more accumulators held than the bound. A key's equal
// accumulators go out as one element in their windows, at the end of the
// earliest. (Under another timestamp combiner nothing is held: see
// TestPrecombinePassesThroughUnderOtherTimestamps.)
func TestPrecombineWindowedMatchesCounts(t *testing.T) {
	const period, size = 2, 10
	sliding := func(ts int64) []window.Window {
		var ws []window.Window
		for s := ts - ((ts%period)+period)%period - size + period; s <= ts; s += period {
			ws = append(ws, window.Interval(window.Time(s), window.Time(s+size)))
		}
		return ws
	}
	for _, tc := range []struct {
		name   string
		keys   int
		elems  int
		assign func(ts int64) []window.Window
		// at, if set, is element i's timestamp (by default time runs
		// forward, out of order by a few periods).
		at func(i int, r *rand.Rand) int64
		// split, if set, bounds the accumulators emitted beyond one per
		// (key, window), past the bound: makeRoom keeps the windows that
		// start latest, so few windows are emitted twice.
		split int
	}{
		{"sliding", 500, 40_000, sliding, nil, 0},
		{"sliding, a bid per key", 20_000, 5_000, sliding, nil, 0},
		{"sliding, past the bound", 1000, 200_000, sliding, func(i int, r *rand.Rand) int64 { return int64(i) / 125 }, 1000},
		{"sliding, past the bound, at random times", 2000, 120_000, sliding, func(i int, r *rand.Rand) int64 { return r.Int64N(2000) }, 0},
		{"sliding, time running backwards", 300, 30_000, sliding, func(i int, r *rand.Rand) int64 { return int64(30_000-i) / 40 }, 0},
		{"sliding, at random times", 50, 30_000, sliding, func(i int, r *rand.Rand) int64 { return r.Int64N(400) - 200 }, 0},
		{"fixed, past the bound", precombineFlushKeys/2 + 1000, 3 * precombineFlushKeys / 2, func(ts int64) []window.Window {
			s := ts - ts%size
			return []window.Window{window.Interval(window.Time(s), window.Time(s+size))}
		}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &collector[KV[string, int64]]{}
			pre := newPrecombine[int64]("Count", userSum{}, out, false)
			ctx := context.Background()
			if err := pre.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			if pre.sameAcc == nil {
				t.Fatalf("accumulators not compared under the end-of-window combiner")
			}
			if err := pre.StartBundle(ctx); err != nil {
				t.Fatal(err)
			}
			sink := pre.elemSink()
			r := rand.New(rand.NewPCG(3, 4))
			type kw struct {
				k string
				w window.Window
			}
			want := map[kw]int64{}
			for i := range tc.elems {
				k := fmt.Sprint(r.IntN(tc.keys))
				if tc.keys > 1000 {
					k = fmt.Sprint(i % tc.keys)
				}
				ts := int64(i)/50 - r.Int64N(7) // out of order by a few periods
				if tc.at != nil {
					ts = tc.at(i, r)
				}
				ws := tc.assign(ts)
				v := 1 + r.Int64N(5)
				for _, w := range ws {
					want[kw{k, w}] += v
				}
				if err := sink(KV[string, int64]{Key: k, Value: v}, &elemMeta{Windows: ws}); err != nil {
					t.Fatal(err)
				}
				if pre.held > precombineFlushKeys {
					t.Fatalf("element %d: %d accumulators held, want at most %d", i, pre.held, precombineFlushKeys)
				}
				if len(pre.blocks) > precombineFlushKeys/winBlockLen {
					t.Fatalf("element %d: %d blocks held, want at most %d", i, len(pre.blocks), precombineFlushKeys/winBlockLen)
				}
			}
			if err := pre.FinishBundle(ctx); err != nil {
				t.Fatal(err)
			}
			got := map[kw]int64{}
			emitted, grouped := 0, 0
			for _, v := range out.got {
				if len(v.Windows) == 0 {
					t.Fatalf("accumulator %v: no windows", v.Elem)
				}
				ts := v.Windows[0].MaxTimestamp()
				for _, w := range v.Windows {
					ts = min(ts, w.MaxTimestamp())
					got[kw{v.Elem.Key, w}] += v.Elem.Value
				}
				if v.Timestamp != ts {
					t.Fatalf("accumulator %v in %v at %d, want at %d, the end of the earliest window", v.Elem, v.Windows, v.Timestamp, ts)
				}
				emitted += len(v.Windows)
				if len(v.Windows) > 1 {
					grouped++
				}
			}
			if tc.keys > tc.elems && grouped == 0 {
				t.Errorf("no accumulators grouped")
			}
			if len(got) != len(want) {
				t.Fatalf("%d (key, window)s emitted, want %d", len(got), len(want))
			}
			for x, n := range want {
				if got[x] != n {
					t.Fatalf("key %s window %v: %d, want %d", x.k, x.w, got[x], n)
				}
			}
			flushes := 1
			if len(want) > precombineFlushKeys {
				flushes = 2
			}
			if emitted > flushes*len(want) {
				t.Errorf("%d accumulators for %d (key, window)s: a window emitted more than once per flush", emitted, len(want))
			}
			if tc.keys <= 1000 && flushes == 1 && emitted != len(want) {
				t.Errorf("%d accumulators for %d (key, window)s, want one each (one flush)", emitted, len(want))
			}
			t.Logf("%d accumulators for %d (key, window)s", emitted, len(want))
			if tc.split > 0 && emitted > len(want)+tc.split {
				t.Errorf("%d accumulators for %d (key, window)s, want at most %d more", emitted, len(want), tc.split)
			}
		})
	}
}

// TestPrecombineGroupsWindowLists checks the windowed precombine on inputs
// of random keys that go to window lists drawn from a few, of one, three,
// five and more than maxGrouped windows, overlapping each other, in
// bundles, the last two of which hold more accumulators than the bound,
// so that makeRoom runs: every (key, window) must sum its inputs, and
// (below the bound) a key whose inputs all went to the same list of two
// to maxGrouped windows must come out as one element in all of them, at
// the end of the earliest (emitKey groups equal accumulators).
func TestPrecombineGroupsWindowLists(t *testing.T) {
	win := func(s int64) window.Window { return window.Interval(window.Time(s), window.Time(s+10)) }
	var long []window.Window
	for s := range int64(maxGrouped + 4) {
		long = append(long, win(2*s))
	}
	lists := [][]window.Window{
		{win(0), win(2), win(4), win(6), win(8)},
		{win(2), win(4), win(6), win(8), win(10)},
		{win(4)},
		{win(8), win(6), win(4)},
		long,
	}
	r := rand.New(rand.NewPCG(7, 8))
	for bundle := range 40 {
		out := &collector[KV[string, int64]]{}
		pre := newPrecombine[int64]("Sum", userSum{}, out, false)
		ctx := context.Background()
		if err := pre.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := pre.StartBundle(ctx); err != nil {
			t.Fatal(err)
		}
		sink := pre.elemSink()
		type kw struct {
			k string
			w window.Window
		}
		want := map[kw]int64{}
		only := map[string]int{} // the list each key's inputs went to, -1 if several
		keys, inputs := 1+r.IntN(60), 1+r.IntN(400)
		big := bundle >= 38
		if big {
			keys, inputs = 20_000, 60_000
		}
		for range inputs {
			k := fmt.Sprint(r.IntN(keys))
			li := r.IntN(len(lists))
			if bundle%2 == 0 && !big {
				li = r.IntN(2) // mostly the same list per key
			}
			if l, seen := only[k]; !seen {
				only[k] = li
			} else if l != li {
				only[k] = -1
			}
			v := 1 + r.Int64N(9)
			for _, w := range lists[li] {
				want[kw{k, w}] += v
			}
			if err := sink(KV[string, int64]{Key: k, Value: v}, &elemMeta{Windows: lists[li]}); err != nil {
				t.Fatal(err)
			}
		}
		if big && len(out.got) == 0 {
			t.Fatalf("bundle %d: nothing emitted before the bundle's end: no room made", bundle)
		}
		if err := pre.FinishBundle(ctx); err != nil {
			t.Fatal(err)
		}
		got := map[kw]int64{}
		elems := map[string]int{}
		for _, v := range out.got {
			ts := v.Windows[0].MaxTimestamp()
			for _, w := range v.Windows {
				got[kw{v.Elem.Key, w}] += v.Elem.Value
				ts = min(ts, w.MaxTimestamp())
			}
			if v.Timestamp != ts {
				t.Fatalf("bundle %d: %v in %v at %d, want %d", bundle, v.Elem, v.Windows, v.Timestamp, ts)
			}
			elems[v.Elem.Key]++
		}
		if !maps.Equal(got, want) {
			t.Fatalf("bundle %d: sums per (key, window) %v, want %v", bundle, got, want)
		}
		for k, li := range only {
			if !big && li >= 0 && len(lists[li]) > 1 && len(lists[li]) <= maxGrouped && elems[k] != 1 {
				t.Errorf("bundle %d: key %s, every input in %v: %d elements, want 1", bundle, k, lists[li], elems[k])
			}
		}
	}
}

// TestPrecombinePassesThroughUnderOtherTimestamps checks the precombine
// of a grouping whose timestamp combiner is the earliest or latest input:
// each input goes out at once, in an accumulator of its own, in all its
// windows and at its own timestamp, through Receive and through a fused
// predecessor's sink alike, in the global window too, so that the
// grouping combines the inputs' timestamps.
func TestPrecombinePassesThroughUnderOtherTimestamps(t *testing.T) {
	for _, global := range []bool{false, true} {
		out := &collector[KV[string, int64]]{}
		pre := newPrecombine[int64]("Sum", sumFn{}, out, global)
		pre.endOfWindow = false
		ctx := context.Background()
		if err := pre.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		if err := pre.StartBundle(ctx); err != nil {
			t.Fatal(err)
		}
		wins := []window.Window{window.Interval(0, 10), window.Interval(5, 15)}
		if global {
			wins = window.GlobalWindows()
		}
		sink := pre.elemSink()
		if err := sink(KV[string, int64]{Key: "a", Value: 2}, &elemMeta{Timestamp: 7, Windows: wins}); err != nil {
			t.Fatal(err)
		}
		if err := pre.Receive(window.Value[KV[string, int64]]{Elem: KV[string, int64]{Key: "a", Value: 3}, Timestamp: 8, Windows: wins}); err != nil {
			t.Fatal(err)
		}
		if len(out.got) != 2 {
			t.Fatalf("global %v: %d accumulators before the bundle ends, want 2 (one per input)", global, len(out.got))
		}
		for i, want := range []struct {
			v  int64
			ts window.Time
		}{{2, 7}, {3, 8}} {
			v := out.got[i]
			if v.Elem.Key != "a" || v.Elem.Value != want.v || v.Timestamp != want.ts || !slices.Equal(v.Windows, wins) {
				t.Errorf("global %v: accumulator %d = %v at %d in %v, want a=%d at %d in %v", global, i, v.Elem, v.Timestamp, v.Windows, want.v, want.ts, wins)
			}
		}
		if err := pre.FinishBundle(ctx); err != nil {
			t.Fatal(err)
		}
		if len(out.got) != 2 {
			t.Errorf("global %v: %d accumulators after the bundle, want still 2", global, len(out.got))
		}
	}
}

// TestSortByStart checks makeRoom's insertion sort against slices.SortFunc
// on random and nearly sorted windows.
func TestSortByStart(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 40 {
		g := make([]winAcc[int64], n)
		for i := range g {
			s := window.Time(r.Int64N(20))
			if r.IntN(2) == 0 {
				s = window.Time(2*i) - window.Time(r.Int64N(3)) // nearly sorted
			}
			g[i] = winAcc[int64]{w: window.Interval(s, s+10), acc: int64(i)}
		}
		want := slices.Clone(g)
		slices.SortStableFunc(want, func(a, b winAcc[int64]) int { return int(a.w.Start - b.w.Start) })
		sortByStart(g)
		if !slices.Equal(g, want) {
			t.Fatalf("n=%d: sorted %v, want %v", n, g, want)
		}
	}
}

// TestEmitterIntoAFusedChain checks a ParDo's emit into a FuncOp, which
// takes its outputs through elemSink: each output keeps the timestamp,
// window and pane of the element (processed once per window), and a
// downstream error fails the element and drops its later outputs.
func TestEmitterIntoAFusedChain(t *testing.T) {
	out := &collector[int]{}
	next := NewFuncOp(testEnv("Len"), Func[string, int]{One: func(s string) int { return len(s) }, Builtin: true}, Receiver[int](out))
	c := newParDoCore[string](testEnv("Twice"), nil)
	emit := Emitter[string, string](c, next)
	c.Process = func(_ context.Context, s string) error {
		emit(s)
		emit(s + s)
		return nil
	}
	wins := []window.Window{window.Interval(0, 10), window.Interval(5, 15)}
	pane := window.Pane{IsFirst: true, Index: 2}
	if err := c.Receive(window.Value[string]{Elem: "ab", Timestamp: 7, Windows: wins, Pane: pane}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range out.got {
		got = append(got, fmt.Sprintf("%d@%d%v%v", v.Elem, v.Timestamp, v.Windows, v.Pane.Index))
	}
	want := []string{
		fmt.Sprintf("2@7%v2", wins[:1]), fmt.Sprintf("4@7%v2", wins[:1]),
		fmt.Sprintf("2@7%v2", wins[1:]), fmt.Sprintf("4@7%v2", wins[1:]),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}

	boom := errors.New("boom")
	out.got, out.err = nil, boom
	if err := c.Receive(window.Value[string]{Elem: "ab", Timestamp: 7, Windows: window.GlobalWindows()}); !errors.Is(err, boom) {
		t.Fatalf("Receive = %v, want the downstream error", err)
	}
	if len(out.got) != 1 {
		t.Errorf("%d outputs offered, want 1: none after the error", len(out.got))
	}
	out.got, out.err = nil, nil
	if err := c.Receive(window.Value[string]{Elem: "x", Windows: window.GlobalWindows()}); err != nil || len(out.got) != 2 {
		t.Errorf("next element: %v, %d outputs; want nil, 2", err, len(out.got))
	}
}
