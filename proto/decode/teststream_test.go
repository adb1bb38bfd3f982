package decode_test

import (
	"strings"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/decode"
)

func watermarkEvent(tag string, w int64) *pipepb.TestStreamPayload_Event {
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_WatermarkEvent{
		WatermarkEvent: &pipepb.TestStreamPayload_Event_AdvanceWatermark{NewWatermark: w, Tag: tag}}}
}

func elementEvent(tag string, ts int64, elems ...string) *pipepb.TestStreamPayload_Event {
	add := &pipepb.TestStreamPayload_Event_AddElements{Tag: tag}
	for _, e := range elems {
		add.Elements = append(add.Elements, &pipepb.TestStreamPayload_TimestampedElement{EncodedElement: []byte(e), Timestamp: ts})
	}
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ElementEvent{ElementEvent: add}}
}

func ptEvent(ms int64) *pipepb.TestStreamPayload_Event {
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ProcessingTimeEvent{
		ProcessingTimeEvent: &pipepb.TestStreamPayload_Event_AdvanceProcessingTime{AdvanceDuration: ms}}}
}

func TestTestStream(t *testing.T) {
	one := map[string]string{"out": "c1"}
	two := map[string]string{"a": "c1", "b": "c2"}
	tests := []struct {
		name    string
		events  []*pipepb.TestStreamPayload_Event
		outputs map[string]string
		want    []decode.TestStreamEvent
		err     string
	}{
		{name: "untagged events go to the only output", outputs: one,
			events: []*pipepb.TestStreamPayload_Event{elementEvent("", 5, "x", "y"), watermarkEvent("", 10), ptEvent(1500), watermarkEvent("", 10)},
			want: []decode.TestStreamEvent{
				{Kind: decode.TestStreamElements, Output: "out", Elements: []decode.TestStreamElement{{Encoded: []byte("x"), Timestamp: 5}, {Encoded: []byte("y"), Timestamp: 5}}},
				{Kind: decode.TestStreamWatermark, Output: "out", Watermark: 10},
				{Kind: decode.TestStreamProcessingTime, Advance: 1500 * time.Millisecond},
				{Kind: decode.TestStreamWatermark, Output: "out", Watermark: 10},
			}},
		{name: "tagged watermarks are per output", outputs: two,
			events: []*pipepb.TestStreamPayload_Event{watermarkEvent("a", 100), watermarkEvent("b", 5), watermarkEvent("b", int64(window.MaxTime))},
			want: []decode.TestStreamEvent{
				{Kind: decode.TestStreamWatermark, Output: "a", Watermark: 100},
				{Kind: decode.TestStreamWatermark, Output: "b", Watermark: 5},
				{Kind: decode.TestStreamWatermark, Output: "b", Watermark: window.MaxTime},
			}},
		{name: "a watermark moving backwards is refused", outputs: two,
			events: []*pipepb.TestStreamPayload_Event{watermarkEvent("a", 100), watermarkEvent("b", 5), watermarkEvent("a", 50)},
			err:    `decode: TestStream event 2: the watermark of output "a" moves backwards`},
		{name: "an untagged event of a stream with two outputs is refused", outputs: two,
			events: []*pipepb.TestStreamPayload_Event{elementEvent("", 1, "x")},
			err:    `tag "" names none of the outputs ["a" "b"]`},
		{name: "an unknown tag is refused", outputs: one,
			events: []*pipepb.TestStreamPayload_Event{watermarkEvent("zz", 1)},
			err:    `tag "zz" names none`},
		{name: "a negative processing-time advance is refused", outputs: one,
			events: []*pipepb.TestStreamPayload_Event{ptEvent(-1)},
			err:    "processing time moves backwards"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := proto.Marshal(&pipepb.TestStreamPayload{CoderId: "c", Events: tt.events})
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode.TestStream(b, tt.outputs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("TestStream() = %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(decode.TestStreamScript{CoderID: "c", Events: tt.want}, got); d != "" {
				t.Errorf("TestStream() (-want +got):\n%s", d)
			}
		})
	}
}

func TestTestStreamRefusesEndpoints(t *testing.T) {
	b, _ := proto.Marshal(&pipepb.TestStreamPayload{CoderId: "c", Endpoint: &pipepb.ApiServiceDescriptor{Url: "localhost:1"}})
	if _, err := decode.TestStream(b, map[string]string{"out": "c1"}); err == nil || !strings.Contains(err.Error(), "endpoint") {
		t.Errorf("TestStream() = %v, want an error about the endpoint", err)
	}
}
