package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// testStream applies the script of a job's TestStream, one event each time
// the job quiesces. Its fields are guarded by j.mu.
type testStream struct {
	ts *plan.TestStream
	// next is the index of the next event; len(ts.Events) is the implicit
	// last event that moves every output's watermark to the end of time.
	next int
	// lastAdvance is the index of the script's last processing-time
	// advance, -1 if it has none.
	lastAdvance int
	stages      map[string]*stage // by output PCollection
}

// addTestStream makes s, an InputTestStream stage, one output of the job's
// TestStream: its output watermark is held at the start of time until the
// script moves it, and processing time becomes the script's.
func (j *job) addTestStream(s *stage) error {
	ts := s.st.Input.TestStream
	switch {
	case j.stream == nil:
		j.stream = &testStream{ts: ts, stages: map[string]*stage{}, lastAdvance: -1}
		for i, ev := range ts.Events {
			if ev.Kind == plan.AdvanceProcessingTime {
				j.stream.lastAdvance = i
			}
		}
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

// advancesLeft reports whether an event still to apply advances the
// processing-time clock.
func (t *testStream) advancesLeft() bool { return t.next <= t.lastAdvance }

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
			e, err := s.testElement(el)
			if err != nil {
				return fmt.Errorf("engine: TestStream %q: event %d: %w", t.ts.Name, i, err)
			}
			b.elems = append(b.elems, e)
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
		j.clock.advance(ev.Advance)
	}
	return nil
}

// testElement encodes a TestStream element, which Beam encodes in the
// outer context, as a windowed value of the stage's input: nested, in the
// global window, with no firing.
func (s *stage) testElement(el plan.TimestampedElement) ([]byte, error) {
	elem, err := nestedFromOuter(s.src.elem, el.Encoded)
	if err != nil {
		return nil, err
	}
	return s.src.wv.Encode(nil, window.Value[[]byte]{
		Elem: elem, Timestamp: window.Time(el.Timestamp), Windows: window.GlobalWindows(), Pane: window.NoFiringPane(),
	}), nil
}

// nestedFromOuter re-encodes a value encoded in the outer context with the
// coder spec in the nested context. A length prefix (the runner's wrapper
// of a coder it does not know, or the planner's around the context-dependent
// parts of a TestStream's coder) encodes its component in the outer context
// anyway; bytes and strings gain their length; a KV's value is the part in
// the outer context; other coders are decoded and encoded again. Beam Go's
// custom coder is the exception: its encoding already starts with its
// length, and the Beam Go harness reads it so under a length prefix.
func nestedFromOuter(spec coder.Spec, outer []byte) ([]byte, error) {
	switch spec.URN {
	case urns.CoderLengthPrefix:
		if len(spec.Components) == 1 && spec.Components[0].URN == urns.CoderBeamGoCustom {
			return outer, nil
		}
		return append(binary.AppendUvarint(nil, uint64(len(outer))), outer...), nil
	case urns.CoderBytes, urns.CoderStringUTF8:
		return append(binary.AppendUvarint(nil, uint64(len(outer))), outer...), nil
	case urns.CoderKV:
		if len(spec.Components) != 2 {
			break
		}
		k, err := coder.FromSpec(spec.Components[0])
		if err != nil {
			return nil, err
		}
		n, err := k.Skip(outer)
		if err != nil {
			return nil, fmt.Errorf("element key: %w", err)
		}
		v, err := nestedFromOuter(spec.Components[1], outer[n:])
		if err != nil {
			return nil, err
		}
		return append(outer[:n:n], v...), nil
	}
	c, err := coder.FromSpec(spec)
	if err != nil {
		return nil, err
	}
	v, err := c.DecodeOuterAny(outer)
	if err != nil {
		return nil, fmt.Errorf("element: %w", err)
	}
	return c.EncodeAny(nil, v)
}
