package plan_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// scenario is a pipeline shape with its golden plan.
type scenario struct {
	name  string // a sentence
	file  string // golden file under testdata, without extension
	opts  *plan.Options
	build func(b *builder)
}

// wordCount is impulse -> read -> split -> count (combine_per_key) ->
// format -> write.
func wordCount(b *builder) {
	lines := b.do("ReadLines", b.impulse("Impulse"), "string")
	words := b.do("ExtractWords", lines, "kv")
	counts := b.combinePerKey("CountWords", words)
	b.sink("WriteCounts", b.do("Format", counts, "string"))
}

var scenarios = []scenario{
	{name: "a word count lifts its combiner around a grouping", file: "wordcount", build: wordCount},
	{name: "a word count without lifting runs the combine's subtransforms", file: "wordcount_unlifted", opts: &plan.Options{DisableLifting: true}, build: wordCount},
	{name: "a chain of groupings gives one stage per grouping", file: "gbk_chain", build: func(b *builder) {
		kv := b.do("Key", b.impulse("Impulse"), "kv")
		again := b.do("Rekey", b.gbk("GroupByKey1", kv), "kv")
		b.sink("Write", b.do("Sum", b.gbk("GroupByKey2", again), "kv"))
	}},
	{name: "a grouping read directly by another grouping passes through an empty stage", file: "gbk_passthrough", build: func(b *builder) {
		kv := b.do("Key", b.impulse("Impulse"), "kv")
		b.sink("Write", b.gbk("GroupByKey2", b.gbk("GroupByKey1", kv)))
	}},
	{name: "a flatten across stages gets a stage and a flatten within a stage stays", file: "flatten", build: func(b *builder) {
		a := b.do("ReadA", b.impulse("ImpulseA"), "string")
		c := b.do("ReadB", b.impulse("ImpulseB"), "string")
		all := b.flatten("FlattenAcross", a, c)
		parts := b.pardo("Split", all, []string{"string", "string"})
		b.sink("Write", b.flatten("FlattenWithin", parts[0], parts[1], parts[0]))
	}},
	{name: "a flatten input with another coder is re-encoded in its producer's stage", file: "flatten_recode", build: func(b *builder) {
		a := b.do("ReadA", b.impulse("ImpulseA"), "string")
		c := b.do("ReadB", b.impulse("ImpulseB"), "lpcustom")
		b.sink("Write", b.flatten("Flatten", a, c))
	}},
	{name: "side inputs are materialized before their readers run", file: "side_inputs", build: func(b *builder) {
		main := b.do("Main", b.impulse("Impulse"), "kv")
		sides := b.impulse("SideImpulse")
		limit := b.do("Limit", sides, "varint")
		table := b.do("Table", sides, "kv")
		joined := b.do("Join", main, "string", iterable(limit), multimap(table))
		b.sink("Write", joined)
	}},
	{name: "a side input produced in the reader's stage breaks fusion", file: "side_input_same_stage", build: func(b *builder) {
		outs := b.pardo("Read", b.impulse("Impulse"), []string{"string", "varint"})
		b.sink("Write", b.do("Use", outs[0], "string", iterable(outs[1])))
	}},
	{name: "a reader whose side input depends on its main stage does not join it", file: "side_input_cycle", build: func(b *builder) {
		kv := b.do("Read", b.impulse("Impulse"), "kv")
		total := b.do("Total", b.gbk("GroupByKey", kv), "varint")
		b.sink("Write", b.do("Normalize", kv, "string", iterable(total)))
	}},
	{name: "a combine over session windows is not lifted", file: "sessions_combine", build: func(b *builder) {
		kv := b.do("Read", b.impulse("Impulse"), "kv")
		sessions := b.windowInto("Sessions", kv, "sessions")
		b.sink("Write", b.do("Format", b.combinePerKey("Sum", sessions), "string"))
	}},
	{name: "a combine over fixed windows is lifted", file: "fixed_combine", build: func(b *builder) {
		kv := b.do("Read", b.impulse("Impulse"), "kv")
		fixed := b.windowInto("Fixed", kv, "fixed")
		b.sink("Write", b.do("Format", b.combinePerKey("Sum", fixed), "string"))
	}},
	{name: "a combine whose panes take the earliest input's timestamp is not lifted", file: "earliest_combine", build: func(b *builder) {
		kv := b.do("Read", b.impulse("Impulse"), "kv")
		fixed := b.windowInto("Fixed", kv, "fixed_earliest")
		b.sink("Write", b.do("Format", b.combinePerKey("Sum", fixed), "string"))
	}},
	{name: "a reshuffle breaks fusion without grouping", file: "reshuffle", build: func(b *builder) {
		lines := b.do("Read", b.impulse("Impulse"), "string")
		b.sink("Write", b.do("Parse", b.reshuffle("Reshuffle", lines), "string"))
	}},
	{name: "a diamond rejoins in a flatten", file: "diamond", build: func(b *builder) {
		kv := b.do("Read", b.impulse("Impulse"), "kv")
		grouped := b.do("Collapse", b.gbk("GroupByKey", kv), "kv")
		direct := b.do("Direct", kv, "kv")
		both := b.flatten("Flatten", grouped, direct)
		small := b.do("Left", both, "kv")
		large := b.do("Right", both, "kv")
		b.sink("Write", b.flatten("Rejoin", small, large))
	}},
	{name: "a change of environment breaks fusion and siblings share the new stage", file: "environments", build: func(b *builder) {
		lines := b.do("Read", b.impulse("Impulse"), "string")
		b.env = "py"
		b.sink("WritePy1", b.do("Python1", lines, "string"))
		b.sink("WritePy2", b.do("Python2", lines, "string"))
		b.env = "go"
		b.sink("WriteGo", lines)
	}},
	{name: "a splittable DoFn processes restrictions at the head of a stage", file: "sdf", build: func(b *builder) {
		src := b.do("Source", b.impulse("Impulse"), "bytes")
		pair := b.pcoll("bytes", "global")
		b.add("Read/Pair", b.pardoSpec(urns.TransformPairWithRestriction, nil), []string{src}, []string{pair}, "go")
		sized := b.pcoll("bytes", "global")
		b.add("Read/SplitAndSize", b.pardoSpec(urns.TransformSplitAndSizeRestrictions, nil), []string{pair}, []string{sized}, "go")
		records := b.pcoll("string", "global")
		b.add("Read/Process", b.pardoSpec(urns.TransformProcessSizedElementsAndRestrictions, nil), []string{sized}, []string{records}, "go")
		b.sink("Write", records)
	}},
	{name: "a combine without subtransforms gets a grouping when not lifted", file: "combine_leaf", opts: &plan.Options{DisableLifting: true}, build: func(b *builder) {
		kv := b.do("Read", b.impulse("Impulse"), "kv")
		out := b.pcoll("kv", "global")
		b.add("Sum", b.combineSpec(urns.TransformCombinePerKey), []string{kv}, []string{out}, "go")
		b.sink("Write", out)
	}},
	{name: "data flowing in a cycle is rejected", file: "cycle", build: func(b *builder) {
		lines := b.do("Read", b.impulse("Impulse"), "string")
		a := b.do("A", lines, "string")
		bb := b.do("B", a, "string")
		b.comps().Transforms["t4"].Inputs["i1"] = bb // Read also reads B's output.
		b.sink("Write", bb)
	}},
	{name: "an input naming a missing PCollection is rejected", file: "missing_pcollection", build: func(b *builder) {
		b.sink("Write", b.do("Read", b.impulse("Impulse"), "string"))
		b.comps().Transforms["t5"].Inputs["i0"] = "p99"
	}},
}

// render is the golden text of a Build result.
func render(pl *plan.Plan, err error) string {
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	return pl.String() + "\n-- dot --\n" + pl.DOT()
}

func TestBuildGolden(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			b := newBuilder(t)
			sc.build(b)
			before := proto.Clone(b.p)
			pl, err := plan.Build(b.p, sc.opts)
			if !proto.Equal(before, b.p) {
				t.Errorf("Build() modified its argument")
			}
			if err == nil {
				if cerr := checkPlan(pl, true); cerr != nil {
					t.Errorf("Build() plan breaks invariants:\n%v\nplan:\n%v", cerr, pl)
				}
			}
			compareGolden(t, filepath.Join("testdata", sc.file+".golden"), render(pl, err))
		})
	}
}

// compareGolden compares got with the golden file, or rewrites the file
// under -update.
func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("Build() output mismatch with %s (-want +got):\n%s", path, diff)
	}
}

func TestBuildRejectsPipelineWithoutComponents(t *testing.T) {
	if _, err := plan.Build(&pipepb.Pipeline{}, nil); err == nil {
		t.Errorf("Build(empty pipeline) = nil error, want an error")
	}
}
