package sdk

import (
	"bytes"
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
)

// panickyCount embeds the sdk's count and may override its methods: it is
// not one of the sdk's CombineFns.
type panickyCount struct{ countFn[string] }

func TestCombineFnKinds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		builtin   bool
		tally     operator.Tally
		fnBuiltin func() bool
		fnTally   func() operator.Tally
	}{
		{"the count is built in and tallied", true, operator.TallyCount,
			func() bool { return isBuiltinCombine(countFn[string]{}) },
			func() operator.Tally { return tallyOf(CombineFn[string, int64, int64](countFn[string]{})) }},
		{"the int64 sum is built in and tallied", true, operator.TallySum,
			func() bool { return isBuiltinCombine(SumFn[int64]{}) },
			func() operator.Tally { return tallyOf(CombineFn[int64, int64, int64](SumFn[int64]{})) }},
		{"an int sum is built in but not tallied", true, operator.NoTally,
			func() bool { return isBuiltinCombine(SumFn[int]{}) },
			func() operator.Tally { return tallyOf(CombineFn[int, int, int](SumFn[int]{})) }},
		{"the minimum is built in but not tallied", true, operator.NoTally,
			func() bool { return isBuiltinCombine(MinFn[string]{}) },
			func() operator.Tally { return tallyOf(CombineFn[string, ExtremeAcc[string], string](MinFn[string]{})) }},
		{"a type embedding the count is neither", false, operator.NoTally,
			func() bool { return isBuiltinCombine(panickyCount{}) },
			func() operator.Tally { return tallyOf(CombineFn[string, int64, int64](panickyCount{})) }},
		{"a user's Top is neither", false, operator.NoTally,
			func() bool { return isBuiltinCombine(TopFn[int]{N: 1}) },
			func() operator.Tally { return tallyOf(CombineFn[int, []int, []int](TopFn[int]{N: 1})) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fnBuiltin(); got != tc.builtin {
				t.Errorf("isBuiltinCombine = %v, want %v", got, tc.builtin)
			}
			if got := tc.fnTally(); got != tc.tally {
				t.Errorf("tallyOf = %v, want %v", got, tc.tally)
			}
		})
	}
}

type threeWay struct{}

func (threeWay) ProcessElement(_ context.Context, v int, a func(int), b func(string), c func(float64)) error {
	return nil
}

type twoWay struct{}

func (twoWay) ProcessElement(_ context.Context, v int, a func(int), b func(string)) error { return nil }

// TestLeavesCarryTheirRuntime checks what the construction graph carries,
// without types, for the bundle executor: each leaf that runs user code
// has an operator.Factory whose element operations are those of its
// collections, and each collection an operator.TypeOps of its element type.
func TestLeavesCarryTheirRuntime(t *testing.T) {
	p := NewPipeline()
	s := p.Root()
	in := Create(s, []int{1, 2, 3})
	Map(s, func(v int) string { return "" }, in)
	ParDo2(s, twoWay{}, in)
	ParDo3(s, threeWay{}, in)
	Partition(s, 1, func(int, int) int { return 0 }, in)
	ForEachFunc(s, func(context.Context, int) error { return nil }, in)
	SumPerKey(s, Map(s, func(v int) KV[string, int64] { return Pair("k", int64(v)) }, in))
	Flatten(s, in, in)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	outputs := map[string][]string{}
	for _, tr := range p.g.Transforms {
		for _, o := range tr.Outputs {
			outputs[tr.Name] = append(outputs[tr.Name], o.Local)
		}
		if tr.Combine != nil {
			if _, ok := tr.Combine.Phases.(operator.CombinePhases); !ok {
				t.Errorf("%s: combine phases are %T, want operator.CombinePhases", tr.UniqueName, tr.Combine.Phases)
			}
		}
		if len(tr.Children) > 0 || tr.Kind == graph.KindImpulse || tr.Kind == graph.KindGroupByKey {
			continue
		}
		f, ok := tr.Factory.(operator.Factory)
		if !ok {
			t.Errorf("%s: factory is %T, want an operator.Factory", tr.UniqueName, tr.Factory)
			continue
		}
		for _, in := range tr.MainInputs() {
			if !sameType(f.InputOps(), in.Coll.Ops) {
				t.Errorf("%s: the factory's input elements are %v, its input collection's %T", tr.UniqueName, f.InputOps().GoType(), in.Coll.Ops)
			}
		}
		if len(f.OutputOps()) != len(tr.Outputs) {
			t.Fatalf("%s: factory has %d outputs, transform %d", tr.UniqueName, len(f.OutputOps()), len(tr.Outputs))
		}
		for i, o := range tr.Outputs {
			if !sameType(f.OutputOps()[i], o.Coll.Ops) {
				t.Errorf("%s: output %d: the factory's elements are %v, its collection's %T", tr.UniqueName, i, f.OutputOps()[i].GoType(), o.Coll.Ops)
			}
		}
	}
	for _, c := range p.g.Collections {
		ops, ok := c.Ops.(operator.TypeOps)
		if !ok {
			t.Errorf("%s: element operations are %T, want operator.TypeOps", c.Name, c.Ops)
			continue
		}
		if got, want := ops.Coder().Spec(), c.Coder.Spec(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: element operations encode with %v, the collection with %v", c.Name, got, want)
		}
	}
	want := map[string][]string{
		"Map(sdk.TestLeavesCarryTheirRuntime.func1)": {"out"},
		"twoWay":   {"out0", "out1"},
		"threeWay": {"out0", "out1", "out2"},
		"Partition(sdk.TestLeavesCarryTheirRuntime.func2)": {"out0"},
	}
	got := map[string][]string{}
	for name := range want {
		got[name] = outputs[name]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output names (-want +got):\n%s", diff)
	}
}

// sameType reports whether ops, an operator.TypeOps, has the element type
// and coder of a.
func sameType(a operator.TypeOps, ops any) bool {
	b, ok := ops.(operator.TypeOps)
	return ok && a.GoType() == b.GoType() && reflect.DeepEqual(a.Coder().Spec(), b.Coder().Spec())
}

// A combine's accumulator merger merges encoded accumulators as its
// MergeAccumulators would, and reports bytes that are no accumulator, or
// a panic of the CombineFn, naming the combine.
func TestAccumulatorMergerMergesEncodedAccumulators(t *testing.T) {
	p := NewPipeline()
	s := p.Root()
	in := Create(s, []KV[string, int64]{Pair("k", int64(1))})
	SumPerKey(s, in)
	CombinePerKey(s, panicOnMerge{}, in, Name("Refuses"))
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	mergers := map[string]operator.AccumulatorMerger{}
	for _, tr := range p.g.Transforms {
		if tr.Combine != nil {
			mergers[tr.UniqueName] = tr.Combine.Phases.(operator.AccumulatorMerging).NewAccumulatorMerger(tr.UniqueName)
		}
	}
	var sum operator.AccumulatorMerger
	for name, m := range mergers {
		if name != "Refuses" {
			sum = m
		}
	}
	c, err := coder.Of[int64]()
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v int64) []byte { return c.Encode(nil, v) }
	got, err := sum.Merge([]byte("x"), [][]byte{enc(1), enc(200), enc(-3)})
	if err != nil || string(got) != "x"+string(enc(198)) {
		t.Errorf("Merge = %v, %v; want x then the encoding of 198", got, err)
	}
	if _, err := sum.Merge(nil, [][]byte{enc(1), append(enc(2), 0)}); err == nil || !strings.Contains(err.Error(), "accumulator 1 of 2") {
		t.Errorf("Merge of an accumulator with a byte left over = %v, want an error naming it", err)
	}
	if _, err := mergers["Refuses"].Merge(nil, [][]byte{enc(1), enc(2)}); err == nil || !strings.Contains(err.Error(), "Refuses") || !strings.Contains(err.Error(), "no merging") {
		t.Errorf("Merge of a panicking CombineFn = %v, want an error naming the combine and the panic", err)
	}
}

// intMerger is the runner's view of an accumulator merger whose
// accumulators are int64s (reduce.IntMerger).
type intMerger interface {
	DecodeInt(v []byte) (int64, error)
	AppendInt(dst []byte, a int64) []byte
	MergeInts(a, b int64) (int64, error)
}

// The mergers of combines with int64 accumulators (the sdk's count and
// sum, a user's CombineFn) also merge them as int64s, through the
// CombineFn, reporting a panic or bytes that are no accumulator naming
// the combine; a CombineFn that compacts, or whose accumulators are not
// int64s, merges encodings only.
func TestAccumulatorMergerMergesInt64s(t *testing.T) {
	p := NewPipeline()
	s := p.Root()
	in := Create(s, []KV[string, int64]{Pair("k", int64(1))})
	CombinePerKey(s, CombineFn[int64, int64, int64](SumFn[int64]{}), in, Name("Sum"))
	CombinePerKey(s, CombineFn[int64, int64, int64](countFn[int64]{}), in, Name("Count"))
	CombinePerKey(s, panicOnMerge{}, in, Name("Refuses"))
	CombinePerKey(s, maxCompacted{}, in, Name("Compacts"))
	CombinePerKey(s, MeanFn[int64]{}, in, Name("Mean"))
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	mergers := map[string]operator.AccumulatorMerger{}
	for _, tr := range p.g.Transforms {
		if tr.Combine != nil {
			name := tr.UniqueName
			if i := strings.IndexByte(name, '/'); i >= 0 {
				name = name[:i]
			}
			mergers[name] = tr.Combine.Phases.(operator.AccumulatorMerging).NewAccumulatorMerger(tr.UniqueName)
		}
	}
	c, err := coder.Of[int64]()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Sum", "Count", "Refuses"} {
		m, ok := mergers[name].(intMerger)
		if !ok {
			t.Fatalf("%s: merger %T does not merge int64s", name, mergers[name])
		}
		if got := m.AppendInt([]byte("x"), -300); string(got) != "x"+string(c.Encode(nil, -300)) {
			t.Errorf("%s: AppendInt(-300) = %v, want x then the varint", name, got)
		}
		if a, err := m.DecodeInt(c.Encode(nil, 1<<40)); a != 1<<40 || err != nil {
			t.Errorf("%s: DecodeInt = %d, %v; want 1<<40", name, a, err)
		}
		if _, err := m.DecodeInt(append(c.Encode(nil, 2), 0)); err == nil || !strings.Contains(err.Error(), "left over") {
			t.Errorf("%s: DecodeInt of a byte too many = %v, want an error", name, err)
		}
		for _, v := range []int64{0, 1, 127, 128, 1 << 40, -1, -300, math.MinInt64, math.MaxInt64} {
			enc := c.Encode(nil, v)
			if got := m.AppendInt(nil, v); !bytes.Equal(got, enc) {
				t.Errorf("%s: AppendInt(%d) = %x, the coder's %x", name, v, got, enc)
			}
			if got, err := m.DecodeInt(enc); got != v || err != nil {
				t.Errorf("%s: DecodeInt(%x) = %d, %v; want %d", name, enc, got, err, v)
			}
			if _, err := m.DecodeInt(enc[:len(enc)-1]); len(enc) > 1 && (err == nil || !strings.Contains(err.Error(), name)) {
				t.Errorf("%s: DecodeInt of %x cut short = %v, want an error naming the combine", name, enc, err)
			}
		}
	}
	for _, name := range []string{"Sum", "Count"} {
		if got, err := mergers[name].(intMerger).MergeInts(5, -8); got != -3 || err != nil {
			t.Errorf("%s: MergeInts(5, -8) = %d, %v; want -3", name, got, err)
		}
	}
	if _, err := mergers["Refuses"].(intMerger).MergeInts(1, 2); err == nil || !strings.Contains(err.Error(), "Refuses") || !strings.Contains(err.Error(), "no merging") {
		t.Errorf("MergeInts of a panicking CombineFn = %v, want an error naming the combine and the panic", err)
	}
	for _, name := range []string{"Compacts", "Mean"} {
		if m, ok := mergers[name]; !ok {
			t.Errorf("%s: no merger", name)
		} else if _, ok := m.(intMerger); ok {
			t.Errorf("%s: merger %T merges int64s", name, m)
		}
	}
}

// maxCompacted keeps a maximum and compacts it (to itself).
type maxCompacted struct{}

func (maxCompacted) CreateAccumulator() int64           { return math.MinInt64 }
func (maxCompacted) AddInput(a, v int64) int64          { return max(a, v) }
func (maxCompacted) MergeAccumulators(a, b int64) int64 { return max(a, b) }
func (maxCompacted) ExtractOutput(a int64) int64        { return a }
func (maxCompacted) Compact(a int64) int64              { return a }

// panicOnMerge sums, and panics when merging.
type panicOnMerge struct{}

func (panicOnMerge) CreateAccumulator() int64           { return 0 }
func (panicOnMerge) AddInput(a, v int64) int64          { return a + v }
func (panicOnMerge) MergeAccumulators(a, b int64) int64 { panic("no merging") }
func (panicOnMerge) ExtractOutput(a int64) int64        { return a }
