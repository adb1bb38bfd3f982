package engine

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// testStream applies the script of a job's TestStream, one event each time
// the job quiesces. Its fields are guarded by j.mu.
type testStream struct {
	ts *plan.TestStream
	// next is the index of the next event; len(ts.Events) is the implicit
	// last event that moves every output's watermark to the end of time.
	next   int
	stages map[string]*stage // by output PCollection
}

// addTestStream makes s, an InputTestStream stage, one output of the job's
// TestStream: its output watermark is held at the start of time until the
// script moves it, and processing time becomes the script's.
func (j *job) addTestStream(s *stage) error {
	ts := s.st.Input.TestStream
	switch {
	case j.stream == nil:
		j.stream = &testStream{ts: ts, stages: map[string]*stage{}}
		j.clock.synthetic = true
	case j.stream.ts != ts:
		return fmt.Errorf("TestStreams %q and %q: a job has one processing-time clock, so at most one TestStream", j.stream.ts.Name, ts.Name)
	}
	if s.src.interval {
		return fmt.Errorf("TestStream %q: output %s is not in the global window", ts.Name, s.st.Input.Target)
	}
	s.hold = window.MinTime
	j.stream.stages[s.st.Input.Target] = s
	return nil
}

// pending reports whether events remain, the implicit last one included.
func (t *testStream) pending() bool { return t.next <= len(t.ts.Events) }

// apply applies the next event; j.mu is held.
func (t *testStream) apply(j *job) error {
	i := t.next
	t.next++
	if i == len(t.ts.Events) {
		for _, s := range t.stages {
			s.hold = window.MaxTime
		}
		return nil
	}
	ev := t.ts.Events[i]
	switch ev.Kind {
	case plan.AddElements:
		s := t.stages[ev.PCollection]
		b := &bundleWork{minTs: window.MaxTime}
		for _, el := range ev.Elements {
			b.elems = append(b.elems, s.testElement(t.ts, el))
			b.minTs = min(b.minTs, window.Time(el.Timestamp))
		}
		if len(b.elems) > 0 {
			s.queue = append(s.queue, b)
		}
	case plan.AdvanceWatermark:
		s := t.stages[ev.PCollection]
		wm := window.Time(ev.Watermark)
		if wm < s.hold {
			return fmt.Errorf("engine: TestStream %q: event %d moves the watermark of %s back from %v to %v", t.ts.Name, i, ev.PCollection, s.hold, wm)
		}
		s.hold = wm
	case plan.AdvanceProcessingTime:
		j.clock.advance(time.Duration(ev.Advance) * time.Millisecond)
	}
	return nil
}

// testElement encodes a TestStream element as a windowed value of the
// stage's input: in the global window with no firing, length-prefixed
// when the runner wraps the element coder in one for the SDK harness.
func (s *stage) testElement(ts *plan.TestStream, el plan.TimestampedElement) []byte {
	elem := el.Encoded
	if s.src.elem.URN == urns.CoderLengthPrefix && ts.CoderURN != urns.CoderLengthPrefix {
		elem = append(binary.AppendUvarint(nil, uint64(len(elem))), elem...)
	}
	return s.src.wv.Encode(nil, window.Value[[]byte]{
		Elem: elem, Timestamp: window.Time(el.Timestamp), Windows: window.GlobalWindows(), Pane: window.NoFiringPane(),
	})
}
