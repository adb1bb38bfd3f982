package decode

import (
	"fmt"
	"sort"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestStreamScript is the decoded payload of a beam:transform:teststream:v1
// transform: the coder of its elements and its events, each resolved to
// the output it applies to.
type TestStreamScript struct {
	// CoderID is the id of the elements' coder among the pipeline's
	// coders; elements are encoded in its outer context.
	CoderID string
	Events  []TestStreamEvent
}

// TestStreamEventKind says what a TestStreamEvent does.
type TestStreamEventKind uint8

// The kinds of TestStream events.
const (
	// TestStreamElements adds Elements to Output.
	TestStreamElements TestStreamEventKind = iota
	// TestStreamWatermark advances the watermark of Output to Watermark.
	TestStreamWatermark
	// TestStreamProcessingTime advances the job's processing-time clock by
	// Advance.
	TestStreamProcessingTime
)

// TestStreamEvent is one event of a TestStream.
type TestStreamEvent struct {
	Kind TestStreamEventKind
	// Output is the local name of the output the event applies to (not for
	// processing-time events): the event's tag, or the only output for an
	// untagged event.
	Output string
	// Elements are the elements of a TestStreamElements event.
	Elements []TestStreamElement
	// Watermark is the new watermark of a TestStreamWatermark event.
	Watermark window.Time
	// Advance is how far a TestStreamProcessingTime event moves the clock.
	Advance time.Duration
}

// TestStreamElement is an element of a TestStream, encoded in the outer
// context of the stream's coder, with its event timestamp.
type TestStreamElement struct {
	Encoded   []byte
	Timestamp window.Time
}

// TestStream decodes the payload of a TestStream transform whose outputs
// (local name to PCollection id) are given. It refuses what a runner
// cannot apply: a stream served by an endpoint, a tag that names no
// output (the empty tag names the only output of a stream with one), a
// watermark that moves backwards, and a negative processing-time advance.
func TestStream(payload []byte, outputs map[string]string) (TestStreamScript, error) {
	var pl pipepb.TestStreamPayload
	if err := proto.Unmarshal(payload, &pl); err != nil {
		return TestStreamScript{}, fmt.Errorf("decode: TestStream payload: %w", err)
	}
	if url := pl.GetEndpoint().GetUrl(); url != "" {
		return TestStreamScript{}, fmt.Errorf("decode: TestStream events from endpoint %q are not supported", url)
	}
	r := &tsResolver{outputs: outputs, marks: map[string]window.Time{}}
	script := TestStreamScript{CoderID: pl.GetCoderId()}
	for i, e := range pl.GetEvents() {
		ev, err := r.event(e)
		if err != nil {
			return TestStreamScript{}, fmt.Errorf("decode: TestStream event %d: %w", i, err)
		}
		script.Events = append(script.Events, ev)
	}
	return script, nil
}

// tsResolver resolves event tags to outputs and tracks their watermarks.
type tsResolver struct {
	outputs map[string]string
	marks   map[string]window.Time
}

func (r *tsResolver) event(e *pipepb.TestStreamPayload_Event) (TestStreamEvent, error) {
	switch e := e.GetEvent().(type) {
	case *pipepb.TestStreamPayload_Event_ElementEvent:
		out, err := r.output(e.ElementEvent.GetTag())
		ev := TestStreamEvent{Kind: TestStreamElements, Output: out}
		for _, el := range e.ElementEvent.GetElements() {
			ev.Elements = append(ev.Elements, TestStreamElement{Encoded: el.GetEncodedElement(), Timestamp: window.Time(el.GetTimestamp())})
		}
		return ev, err
	case *pipepb.TestStreamPayload_Event_WatermarkEvent:
		out, err := r.output(e.WatermarkEvent.GetTag())
		if err != nil {
			return TestStreamEvent{}, err
		}
		w := window.Time(e.WatermarkEvent.GetNewWatermark())
		if cur, ok := r.marks[out]; ok && w < cur {
			return TestStreamEvent{}, fmt.Errorf("the watermark of output %q moves backwards, from %v to %v", out, cur, w)
		}
		r.marks[out] = w
		return TestStreamEvent{Kind: TestStreamWatermark, Output: out, Watermark: w}, nil
	case *pipepb.TestStreamPayload_Event_ProcessingTimeEvent:
		d := e.ProcessingTimeEvent.GetAdvanceDuration()
		if d < 0 {
			return TestStreamEvent{}, fmt.Errorf("processing time moves backwards by %dms", -d)
		}
		return TestStreamEvent{Kind: TestStreamProcessingTime, Advance: millis(d)}, nil
	}
	return TestStreamEvent{}, fmt.Errorf("unknown event %T", e.GetEvent())
}

// output returns the local name of the output that tag names.
func (r *tsResolver) output(tag string) (string, error) {
	if _, ok := r.outputs[tag]; ok {
		return tag, nil
	}
	if tag == "" && len(r.outputs) == 1 {
		for local := range r.outputs {
			return local, nil
		}
	}
	names := make([]string, 0, len(r.outputs))
	for local := range r.outputs {
		names = append(names, local)
	}
	sort.Strings(names)
	return "", fmt.Errorf("tag %q names none of the outputs %q", tag, names)
}
