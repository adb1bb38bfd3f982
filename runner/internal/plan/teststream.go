package plan

import (
	"fmt"
	"maps"
	"math"
	"slices"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
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

// decodeTestStream decodes the payload of TestStream transform id with
// decode.TestStream (which refuses endpoints, tags that name no output and
// watermarks going backwards) and resolves each event's output to its
// PCollection. An element at or past the end of time is refused too: the
// script could not mean anything else.
func decodeTestStream(g *graph, id string) (*TestStream, error) {
	t := g.transform(id)
	outs := t.GetOutputs()
	script, err := decode.TestStream(t.GetSpec().GetPayload(), outs)
	if err != nil {
		return nil, fmt.Errorf("plan: TestStream %s: %w", g.describe(id), err)
	}
	ts := &TestStream{Transform: id, Name: t.GetUniqueName(), CoderURN: g.comps.GetCoders()[script.CoderID].GetSpec().GetUrn()}
	for _, tag := range slices.Sorted(maps.Keys(outs)) {
		ts.Outputs = append(ts.Outputs, outs[tag])
	}
	for i, ev := range script.Events {
		e := TestStreamEvent{PCollection: outs[ev.Output]}
		switch ev.Kind {
		case decode.TestStreamElements:
			e.Kind = AddElements
			for _, el := range ev.Elements {
				if int64(el.Timestamp) >= maxTimestamp {
					return nil, fmt.Errorf("plan: TestStream %s: event %d: element at %d ms is not before the end of time", g.describe(id), i, el.Timestamp)
				}
				e.Elements = append(e.Elements, TimestampedElement{Encoded: el.Encoded, Timestamp: int64(el.Timestamp)})
			}
		case decode.TestStreamWatermark:
			e.Kind, e.Watermark = AdvanceWatermark, min(int64(ev.Watermark), maxTimestamp)
		case decode.TestStreamProcessingTime:
			e.Kind, e.Advance = AdvanceProcessingTime, ev.Advance.Milliseconds()
		}
		ts.Events = append(ts.Events, e)
	}
	return ts, nil
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

// prefixTestStreamOutputs gives each output of TestStream t a coder whose
// parts that encode differently in the outer and the nested context (bytes
// and strings, alone or as the value of a KV) are length-prefixed.
//
// The payload's elements are meant to be encoded in the outer context
// (Java's and Python's TestStreams do so), but Beam Go's coders know no
// outer context: it sends a string with its length. The runner cannot tell
// "\x01a" from Python (the string "\x01a") from the same bytes from Beam Go
// (the string "a"). Under a length prefix it need not: the engine prefixes
// the bytes as they came, and each SDK decodes the prefixed part as it
// encoded it. Prism does the same; a KV's key is always nested, so only
// its value is wrapped.
func (x *expander) prefixTestStreamOutputs(t *pipepb.PTransform) {
	memo := map[string]string{}
	for _, pc := range t.GetOutputs() {
		if p := x.comps.GetPcollections()[pc]; p != nil {
			p.CoderId = x.prefixContextual(p.GetCoderId(), memo, 0)
		}
	}
}

// prefixContextual returns the id of coder id with its context-dependent
// parts length-prefixed (see prefixTestStreamOutputs), or id if it has
// none. KVs nested deeper than validate.MaxCoderDepth are left alone
// (validation refuses them anyway), which also ends the walk on a cyclic
// coder.
func (x *expander) prefixContextual(id string, memo map[string]string, depth int) string {
	if r, ok := memo[id]; ok {
		return r
	}
	c := x.comps.GetCoders()[id]
	r := id
	switch c.GetSpec().GetUrn() {
	case urns.CoderBytes, urns.CoderStringUTF8:
		r = x.newCoder(id+"/lp", urns.CoderLengthPrefix, id)
	case urns.CoderKV:
		cs := c.GetComponentCoderIds()
		if len(cs) == 2 && depth < validate.MaxCoderDepth {
			if v := x.prefixContextual(cs[1], memo, depth+1); v != cs[1] {
				r = x.newCoder(id+"/lp", urns.CoderKV, cs[0], v)
			}
		}
	}
	memo[id] = r
	return r
}
