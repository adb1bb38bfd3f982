package translate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/sdk"
)

type splitFn struct {
	Sep string
}

func (f *splitFn) ProcessElement(_ context.Context, line string, emit func(string)) error {
	for _, w := range strings.Split(line, f.Sep) {
		emit(w)
	}
	return nil
}

type lenAndWord struct{}

func (lenAndWord) ProcessElement(_ context.Context, w string, lens func(int64), words func(string)) error {
	lens(int64(len(w)))
	words(w)
	return nil
}

type withSide struct {
	Total *sdk.SingletonView[int64]
	Lens  *sdk.MapView[string, int64]
	All   *sdk.IterView[string]
	Multi *sdk.MultiMapView[string, int64]
}

func (f *withSide) ProcessElement(ctx context.Context, w string, emit func(sdk.KV[string, int64])) error {
	emit(sdk.Pair(w, f.Total.Get(ctx)))
	return nil
}

// everyTransform builds a pipeline that uses every transform of the sdk.
func everyTransform() *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root().Scope("all")
	lines := sdk.Create(s, []string{"a b", "b c", "c d e"})
	words := sdk.ParDo(s, sdk.DoFn[string, string](&splitFn{Sep: " "}), lines)
	lens, words2 := sdk.ParDo2(s, sdk.DoFn2[string, int64, string](lenAndWord{}), words)
	upper := sdk.Map(s, strings.ToUpper, words2)
	long := sdk.Filter(s, func(w string) bool { return len(w) > 0 }, upper)
	chars := sdk.FlatMap(s, func(w string, emit func(string)) {
		for _, r := range w {
			emit(string(r))
		}
	}, long)
	counts := sdk.CountElements(s, chars)
	grouped := sdk.GroupByKey(s, counts)
	_ = sdk.Map(s, func(g sdk.Group[string, int64]) string { return g.Key }, grouped)
	ta := sdk.NewTag(counts)
	tb := sdk.NewTag(sdk.MapKV(s, func(w string) (string, int64) { return w, 1 }, words))
	_ = sdk.CoGroupByKey(s, []sdk.Tagged[string]{ta, tb})
	total := sdk.Sum(s, lens)
	_ = sdk.Count(s, words)
	_ = sdk.Min(s, lens)
	_ = sdk.Max(s, lens)
	_ = sdk.Mean(s, lens)
	_ = sdk.Top(s, 2, func(a, b int64) bool { return a < b }, lens)
	_ = sdk.SumPerKey(s, counts)
	_ = sdk.MeanPerKey(s, counts)
	flat := sdk.Flatten(s, words, upper)
	shuffled := sdk.Reshuffle(s, flat)
	parts := sdk.Partition(s, 3, func(w string, n int) int { return len(w) % n }, shuffled)
	kv := sdk.MapKV(s, func(w string) (string, int64) { return w, int64(len(w)) }, parts[0])
	side := &withSide{Total: sdk.AsSingleton(total), Lens: sdk.AsMap(sdk.SumPerKey(s, kv)), All: sdk.AsIter(parts[1]), Multi: sdk.AsMultiMap(kv)}
	_ = sdk.ParDo(s, sdk.DoFn[string, sdk.KV[string, int64]](side), parts[2],
		sdk.WithSideInput(side.Total), sdk.WithSideInput(side.Lens), sdk.WithSideInput(side.All), sdk.WithSideInput(side.Multi))
	stamped := sdk.WithTimestamps(s, func(w string) time.Time { return time.Unix(int64(len(w)), 0) }, words)
	fixed := sdk.WindowInto(s, sdk.FixedWindows(time.Minute), stamped)
	sliding := sdk.WindowInto(s, sdk.SlidingWindows(time.Minute, 10*time.Second), stamped)
	sessions := sdk.WindowInto(s, sdk.Sessions(time.Minute), stamped)
	_ = sdk.CountElements(s, fixed)
	_ = sdk.CountElements(s, sliding)
	_ = sdk.CountElements(s, sessions)
	_ = sdk.WindowInto(s, sdk.GlobalWindows(), sessions)
	return p
}

func TestEveryTransformTranslatesValidatesAndRoundTrips(t *testing.T) {
	p := everyTransform()
	if err := p.Err(); err != nil {
		t.Fatalf("construction: %v", err)
	}
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatalf("ToProto: %v", err)
	}
	if err := validate.Pipeline(pb, nil); err != nil {
		t.Fatalf("validate.Pipeline: %v", err)
	}
	g, err := translate.FromProto(pb)
	if err != nil {
		t.Fatalf("FromProto: %v", err)
	}
	again, err := translate.GraphToProto(g, nil)
	if err != nil {
		t.Fatalf("GraphToProto(FromProto): %v", err)
	}
	if diff := cmp.Diff(pb, again, protocmp.Transform()); diff != "" {
		t.Errorf("round trip changed the pipeline (-want +got):\n%s", diff)
	}
	// Every URN of the sdk's transforms appears.
	seen := map[string]bool{}
	for _, tr := range pb.GetComponents().GetTransforms() {
		seen[tr.GetSpec().GetUrn()] = true
	}
	for _, urn := range []string{
		"beam:transform:impulse:v1", "beam:transform:pardo:v1", "beam:transform:group_by_key:v1",
		"beam:transform:flatten:v1", "beam:transform:window_into:v1", "beam:transform:combine_per_key:v1",
		"beam:transform:reshuffle:v1",
	} {
		if !seen[urn] {
			t.Errorf("no transform with URN %s in the translated pipeline", urn)
		}
	}
}

func TestTranslationIsDeterministic(t *testing.T) {
	a, err := translate.ToProto(everyTransform(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := translate.ToProto(everyTransform(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(a, b) {
		t.Errorf("two builds of the same pipeline translate differently:\n%s", cmp.Diff(a, b, protocmp.Transform()))
	}
}

func TestToProtoReportsConstructionErrors(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	_ = sdk.GroupByKey(s, sdk.Create(s, []sdk.KV[float64, int]{{Key: 1.5, Value: 1}}))
	_, err := translate.ToProto(p, nil)
	if err == nil || !strings.Contains(err.Error(), "GroupByKey") {
		t.Fatalf("ToProto = %v, want an error naming GroupByKey", err)
	}
}
