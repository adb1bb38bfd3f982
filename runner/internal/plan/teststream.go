package plan

import (
	"fmt"
	"maps"
	"math"
	"slices"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// TestStream is the decoded payload of a TestStream transform
// (beam:transform:teststream:v1): a script of events the runner applies
// one at a time, each once the pipeline has quiesced after the previous
// one. All stages of one TestStream transform share one *TestStream.
type TestStream struct {
	// Transform is the id of the TestStream transform.
	Transform string
	// Name is its unique name, for errors.
	Name string
	// CoderURN is the URN of the coder the elements are encoded with.
	CoderURN string
	// Events are the events, in order.
	Events []TestStreamEvent
	// Outputs lists the output PCollections, sorted by tag; each is the
	// Target of one stage with an InputTestStream input.
	Outputs []string
}

// TestStreamEventKind tells what a TestStreamEvent does.
type TestStreamEventKind int

const (
	// AddElements adds Elements to output PCollection.
	AddElements TestStreamEventKind = iota + 1
	// AdvanceWatermark moves the watermark of output PCollection to
	// Watermark.
	AdvanceWatermark
	// AdvanceProcessingTime moves the job's processing-time clock Advance
	// milliseconds ahead.
	AdvanceProcessingTime
)

// TestStreamEvent is one event of a TestStream.
type TestStreamEvent struct {
	Kind TestStreamEventKind
	// PCollection is the output the event is for (AddElements,
	// AdvanceWatermark).
	PCollection string
	// Elements are the elements added, each encoded with the TestStream's
	// coder.
	Elements []TimestampedElement
	// Watermark is the new watermark, in milliseconds since the epoch.
	Watermark int64
	// Advance is how far processing time moves, in milliseconds.
	Advance int64
}

// TimestampedElement is an element of an AddElements event.
type TimestampedElement struct {
	Encoded []byte
	// Timestamp is in milliseconds since the epoch.
	Timestamp int64
}

// maxTimestamp is Beam's largest timestamp in milliseconds
// (BoundedWindow.TIMESTAMP_MAX_VALUE); TestStream elements must be before it.
const maxTimestamp = math.MaxInt64 / 1000

// decodeTestStream decodes the payload of TestStream transform id. An event
// for a tag the transform does not output, an element at or past the end
// of time, a watermark going backwards or a processing-time advance that is
// not positive is an error naming the transform: the script could not mean
// anything else.
func decodeTestStream(g *graph, id string) (*TestStream, error) {
	t := g.transform(id)
	var pl pipepb.TestStreamPayload
	if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pl); err != nil {
		return nil, fmt.Errorf("plan: transform %s: payload is not a TestStreamPayload: %w", g.describe(id), err)
	}
	if pl.GetEndpoint() != nil {
		return nil, fmt.Errorf("plan: transform %s: a TestStream served by an endpoint is not supported", g.describe(id))
	}
	ts := &TestStream{Transform: id, Name: t.GetUniqueName(), CoderURN: g.comps.GetCoders()[pl.GetCoderId()].GetSpec().GetUrn()}
	outs := t.GetOutputs()
	for _, tag := range slices.Sorted(maps.Keys(outs)) {
		ts.Outputs = append(ts.Outputs, outs[tag])
	}
	output := func(tag string) (string, error) {
		if pc, ok := outs[tag]; ok {
			return pc, nil
		}
		if tag == "" && len(outs) == 1 {
			return ts.Outputs[0], nil
		}
		return "", fmt.Errorf("plan: TestStream %s: event for tag %q, which is not an output", g.describe(id), tag)
	}
	marks := map[string]int64{}
	for i, ev := range pl.GetEvents() {
		e, err := decodeEvent(ev, output)
		if err != nil {
			return nil, fmt.Errorf("plan: TestStream %s: event %d: %w", g.describe(id), i, err)
		}
		if e.Kind == AdvanceWatermark {
			if prev, ok := marks[e.PCollection]; ok && e.Watermark < prev {
				return nil, fmt.Errorf("plan: TestStream %s: event %d moves the watermark of %q back from %d to %d",
					g.describe(id), i, e.PCollection, prev, e.Watermark)
			}
			marks[e.PCollection] = e.Watermark
		}
		ts.Events = append(ts.Events, e)
	}
	return ts, nil
}

// decodeEvent decodes one event; output resolves a tag.
func decodeEvent(ev *pipepb.TestStreamPayload_Event, output func(string) (string, error)) (TestStreamEvent, error) {
	switch {
	case ev.GetElementEvent() != nil:
		pc, err := output(ev.GetElementEvent().GetTag())
		if err != nil {
			return TestStreamEvent{}, err
		}
		e := TestStreamEvent{Kind: AddElements, PCollection: pc}
		for _, el := range ev.GetElementEvent().GetElements() {
			if el.GetTimestamp() >= maxTimestamp {
				return TestStreamEvent{}, fmt.Errorf("element at %d ms is not before the end of time", el.GetTimestamp())
			}
			e.Elements = append(e.Elements, TimestampedElement{Encoded: el.GetEncodedElement(), Timestamp: el.GetTimestamp()})
		}
		return e, nil
	case ev.GetWatermarkEvent() != nil:
		pc, err := output(ev.GetWatermarkEvent().GetTag())
		if err != nil {
			return TestStreamEvent{}, err
		}
		return TestStreamEvent{Kind: AdvanceWatermark, PCollection: pc, Watermark: min(ev.GetWatermarkEvent().GetNewWatermark(), maxTimestamp)}, nil
	case ev.GetProcessingTimeEvent() != nil:
		d := ev.GetProcessingTimeEvent().GetAdvanceDuration()
		if d <= 0 {
			return TestStreamEvent{}, fmt.Errorf("processing time advance of %d ms is not positive", d)
		}
		return TestStreamEvent{Kind: AdvanceProcessingTime, Advance: d}, nil
	}
	return TestStreamEvent{}, fmt.Errorf("empty event")
}

// placeTestStream starts one stage per output of TestStream transform id:
// the runner feeds each the elements its events add.
func (f *fuser) placeTestStream(id string) error {
	ts, err := decodeTestStream(f.g, id)
	if err != nil {
		return err
	}
	if len(ts.Outputs) == 0 {
		return fmt.Errorf("plan: TestStream %s has no outputs", f.g.describe(id))
	}
	for _, pc := range ts.Outputs {
		s := f.newStage(Input{Kind: InputTestStream, Transform: id, Target: pc, TestStream: ts})
		f.stageOf[pc] = s
	}
	return nil
}
