package translate_test

import (
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// testStreamOf returns the TestStream transform of pb and its payload.
func testStreamOf(t *testing.T, pb *pipepb.Pipeline) (*pipepb.PTransform, *pipepb.TestStreamPayload) {
	t.Helper()
	for _, tr := range pb.GetComponents().GetTransforms() {
		if tr.GetSpec().GetUrn() == urns.TransformTestStream {
			var pl pipepb.TestStreamPayload
			if err := proto.Unmarshal(tr.GetSpec().GetPayload(), &pl); err != nil {
				t.Fatal(err)
			}
			return tr, &pl
		}
	}
	t.Fatalf("no transform with URN %s", urns.TransformTestStream)
	return nil, nil
}

func TestTestStreamTranslatesAndRoundTrips(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	ts.AddElementsAt(time.UnixMilli(1000), "a", "bb")
	ts.AdvanceWatermarkTo(time.UnixMilli(10_000))
	ts.AddElements("c")
	ts.AdvanceProcessingTime(1500 * time.Millisecond)
	ts.AdvanceWatermarkToInfinity()
	words := ts.Output()
	windowed := sdk.WindowInto(s, window.FixedFn(10*time.Second), words)
	counts := sdk.CountElements(s, windowed)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Pipeline(pb, nil); err != nil {
		t.Fatalf("validate.Pipeline: %v", err)
	}
	tr, pl := testStreamOf(t, pb)
	out := sdkaccess.Collection(words).ID
	if d := cmp.Diff(map[string]string{"out": out}, tr.GetOutputs()); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
	want := &pipepb.TestStreamPayload{}
	// Strings are encoded in the outer context, without a length prefix.
	if err := protoText(`coder_id: "`+pb.GetComponents().GetPcollections()[out].GetCoderId()+`"
		events:{element_event:{elements:{encoded_element:"a" timestamp:1000} elements:{encoded_element:"bb" timestamp:1000}}}
		events:{watermark_event:{new_watermark:10000}}
		events:{element_event:{elements:{encoded_element:"c" timestamp:10000}}}
		events:{processing_time_event:{advance_duration:1500}}
		events:{watermark_event:{new_watermark:9223372036854775}}`, want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, pl, protocmp.Transform()); d != "" {
		t.Errorf("payload (-want +got):\n%s", d)
	}
	pcs := pb.GetComponents().GetPcollections()
	for _, pc := range []string{out, sdkaccess.Collection(windowed).ID, sdkaccess.Collection(counts).ID} {
		if got := pcs[pc].GetIsBounded(); got != pipepb.IsBounded_UNBOUNDED {
			t.Errorf("PCollection %s is %v, want UNBOUNDED", pcs[pc].GetUniqueName(), got)
		}
	}
	roundTrip(t, pb)
}

func TestTaggedTestStreamNamesOutputsByTag(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[int64](s)
	a, b := ts.Tag("a"), ts.Tag("b")
	a.AdvanceWatermarkTo(time.UnixMilli(100_000))
	b.AddElementsAt(time.UnixMilli(1), 7)
	b.AdvanceWatermarkTo(time.UnixMilli(5000))
	both := sdk.Flatten(s, a.Output(), b.Output())
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, pl := testStreamOf(t, pb)
	wantOuts := map[string]string{"a": sdkaccess.Collection(a.Output()).ID, "b": sdkaccess.Collection(b.Output()).ID}
	if d := cmp.Diff(wantOuts, tr.GetOutputs()); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
	want := &pipepb.TestStreamPayload{}
	if err := protoText(`coder_id: "`+pl.GetCoderId()+`"
		events:{watermark_event:{new_watermark:100000 tag:"a"}}
		events:{element_event:{elements:{encoded_element:"\x07" timestamp:1} tag:"b"}}
		events:{watermark_event:{new_watermark:5000 tag:"b"}}`, want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, pl, protocmp.Transform()); d != "" {
		t.Errorf("payload (-want +got):\n%s", d)
	}
	if got := pb.GetComponents().GetPcollections()[sdkaccess.Collection(both).ID].GetIsBounded(); got != pipepb.IsBounded_UNBOUNDED {
		t.Errorf("Flatten of TestStream outputs is %v, want UNBOUNDED", got)
	}
	roundTrip(t, pb)
}

func TestBoundedPipelinesStayBounded(t *testing.T) {
	pb, err := translate.ToProto(everyTransform(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, pc := range pb.GetComponents().GetPcollections() {
		if pc.GetIsBounded() != pipepb.IsBounded_BOUNDED {
			t.Errorf("PCollection %s (%s) is %v, want BOUNDED", id, pc.GetUniqueName(), pc.GetIsBounded())
		}
	}
}
