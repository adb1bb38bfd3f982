package translate

import (
	"errors"
	"fmt"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// testStreamSpec encodes a TestStream's script as a TestStreamPayload: the
// id of its element coder and its events, in order.
func (t *toProto) testStreamSpec(tr *graph.Transform) (*pipepb.FunctionSpec, error) {
	ts := tr.TestStream
	if ts == nil {
		return nil, errors.New("TestStream transform has no script")
	}
	pl := &pipepb.TestStreamPayload{CoderId: t.coder(ts.Coder.Spec())}
	for _, e := range ts.Events {
		pl.Events = append(pl.Events, testStreamEvent(e))
	}
	b, err := marshal(pl)
	if err != nil {
		return nil, err
	}
	return &pipepb.FunctionSpec{Urn: urns.TransformTestStream, Payload: b}, nil
}

func testStreamEvent(e graph.TestStreamEvent) *pipepb.TestStreamPayload_Event {
	switch e.Kind {
	case graph.TestStreamWatermark:
		return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_WatermarkEvent{
			WatermarkEvent: &pipepb.TestStreamPayload_Event_AdvanceWatermark{NewWatermark: int64(e.Watermark), Tag: e.Tag}}}
	case graph.TestStreamProcessingTime:
		return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ProcessingTimeEvent{
			ProcessingTimeEvent: &pipepb.TestStreamPayload_Event_AdvanceProcessingTime{AdvanceDuration: e.Advance}}}
	}
	add := &pipepb.TestStreamPayload_Event_AddElements{Tag: e.Tag}
	for _, el := range e.Elements {
		add.Elements = append(add.Elements, &pipepb.TestStreamPayload_TimestampedElement{EncodedElement: el.Encoded, Timestamp: int64(el.Timestamp)})
	}
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ElementEvent{ElementEvent: add}}
}

// testStream decodes a TestStreamPayload into tr's script. Streams served
// by an endpoint (whose events come at run time) are not supported.
func (f *fromProto) testStream(tr *graph.Transform, spec *pipepb.FunctionSpec) error {
	var pl pipepb.TestStreamPayload
	if err := proto.Unmarshal(spec.GetPayload(), &pl); err != nil {
		return fmt.Errorf("TestStream payload: %w", err)
	}
	if pl.GetEndpoint().GetUrl() != "" {
		return fmt.Errorf("TestStream events from endpoint %q are not supported", pl.GetEndpoint().GetUrl())
	}
	c, err := f.anyCoder(pl.GetCoderId())
	if err != nil {
		return err
	}
	ts := &graph.TestStream{Coder: c}
	for i, e := range pl.GetEvents() {
		ev, err := fromTestStreamEvent(e)
		if err != nil {
			return fmt.Errorf("TestStream event %d: %w", i, err)
		}
		ts.Events = append(ts.Events, ev)
	}
	tr.TestStream = ts
	return nil
}

func fromTestStreamEvent(e *pipepb.TestStreamPayload_Event) (graph.TestStreamEvent, error) {
	switch e := e.GetEvent().(type) {
	case *pipepb.TestStreamPayload_Event_ElementEvent:
		ev := graph.TestStreamEvent{Kind: graph.TestStreamElements, Tag: e.ElementEvent.GetTag()}
		for _, el := range e.ElementEvent.GetElements() {
			ev.Elements = append(ev.Elements, graph.TimestampedElement{Encoded: el.GetEncodedElement(), Timestamp: window.Time(el.GetTimestamp())})
		}
		return ev, nil
	case *pipepb.TestStreamPayload_Event_WatermarkEvent:
		return graph.TestStreamEvent{Kind: graph.TestStreamWatermark, Tag: e.WatermarkEvent.GetTag(), Watermark: window.Time(e.WatermarkEvent.GetNewWatermark())}, nil
	case *pipepb.TestStreamPayload_Event_ProcessingTimeEvent:
		return graph.TestStreamEvent{Kind: graph.TestStreamProcessingTime, Advance: e.ProcessingTimeEvent.GetAdvanceDuration()}, nil
	}
	return graph.TestStreamEvent{}, fmt.Errorf("unknown event %T", e.GetEvent())
}
