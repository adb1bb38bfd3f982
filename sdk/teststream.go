package sdk

import (
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// TestStream is a scripted unbounded source for testing streaming
// pipelines deterministically (Beam's TestStream): a sequence of events,
// each adding elements, advancing the watermark or advancing the job's
// processing-time clock. A runner applies each event only once the
// pipeline has done all the work the previous ones allow.
//
//	ts := sdk.NewTestStream[string](s)
//	ts.AddElementsAt(t0, "a", "b")
//	ts.AdvanceWatermarkTo(t0.Add(10 * time.Second))
//	ts.AddElementsAt(t0, "late")
//	ts.AdvanceProcessingTime(time.Minute)
//	ts.AdvanceWatermarkToInfinity()
//	words := ts.Output()
//
// A stream may instead have several outputs, each with its own watermark:
// Tag returns the view of one, whose methods add events for that output.
// Events of all outputs form one sequence, in the order of the calls. A
// stream with tagged outputs has no untagged one.
//
// Methods that cannot add their event (a watermark moving backwards, an
// event after the watermark reached infinity) record a construction error
// naming the caller's line. A TestStream is not safe for concurrent use.
type TestStream[T any] struct {
	st  *testStream
	c   coder.Coder[T]
	tag string
}

// testStream is the state the views of one TestStream share.
type testStream struct {
	s    Scope
	t    *graph.Transform
	info *graph.TestStream
	ops  operator.TypeOps
	// outs are the outputs by tag, created at first use; marks holds the
	// watermark of each.
	outs  map[string]*graph.Collection
	marks map[string]window.Time
	// failed is set once the stream could not be built.
	failed bool
}

// NewTestStream returns a TestStream of elements of type T with no events
// yet. Its outputs are unbounded and in the global window; T needs a
// coder.
func NewTestStream[T any](s Scope, opts ...Option) *TestStream[T] {
	o := collect(opts)
	name := pick(o.name, "TestStream")
	c, ok := inferCoder[T](s, name)
	st := &testStream{s: s, outs: map[string]*graph.Collection{}, marks: map[string]window.Time{}, failed: !ok}
	if ok {
		st.t = s.p.g.AddTransform(s.parent, name, graph.KindTestStream)
		st.info = &graph.TestStream{Coder: coder.Erase(c)}
		st.t.TestStream = st.info
		st.ops = operator.OpsFor(c)
	}
	return &TestStream[T]{st: st, c: c}
}

// Tag returns the view of ts's output called tag (not empty), creating the
// output on first use.
func (ts *TestStream[T]) Tag(tag string) *TestStream[T] {
	if tag == "" {
		ts.fail("Tag needs a non-empty tag; use the TestStream itself for an untagged output")
	} else {
		ts.st.output(tag)
	}
	return &TestStream[T]{st: ts.st, c: ts.c, tag: tag}
}

// Output returns the collection of ts's elements: the untagged output of
// the stream, or the output of a view that Tag returned.
func (ts *TestStream[T]) Output() PCollection[T] {
	return PCollection[T]{c: ts.st.output(ts.tag)}
}

// AddElements adds values with the current watermark of ts's output as
// their timestamp (window.MinTime before any watermark event).
func (ts *TestStream[T]) AddElements(values ...T) {
	ts.add(ts.st.mark(ts.tag), values)
}

// AddElementsAt adds values with timestamp at, which may be behind the
// watermark: those elements are late.
func (ts *TestStream[T]) AddElementsAt(at time.Time, values ...T) {
	t := window.FromTime(at)
	if t < window.MinTime || t >= window.MaxTime {
		ts.fail("element timestamp %v is outside the range of event time", at)
		return
	}
	ts.add(t, values)
}

func (ts *TestStream[T]) add(t window.Time, values []T) {
	if !ts.before("AddElements") {
		return
	}
	elems := make([]graph.TimestampedElement, len(values))
	for i, v := range values {
		elems[i] = graph.TimestampedElement{Encoded: coder.EncodeOuter(ts.c, nil, v), Timestamp: t}
	}
	ts.st.event(graph.TestStreamEvent{Kind: graph.TestStreamElements, Tag: ts.tag, Elements: elems})
}

// AdvanceWatermarkTo advances the watermark of ts's output to t: no later
// element is on time for a window that ends at or before t. Moving it
// backwards is a construction error.
func (ts *TestStream[T]) AdvanceWatermarkTo(t time.Time) {
	w := window.FromTime(t)
	switch cur := ts.st.mark(ts.tag); {
	case w < cur:
		ts.fail("the watermark cannot move backwards, from %v to %v", cur, w)
	case w >= window.MaxTime:
		ts.fail("watermark %v is past the range of event time; use AdvanceWatermarkToInfinity", t)
	default:
		ts.watermark(w)
	}
}

// AdvanceWatermarkToInfinity advances the watermark of ts's output to the
// end of time, which ends the output: every window fires its final pane.
// No events for the output may follow.
func (ts *TestStream[T]) AdvanceWatermarkToInfinity() { ts.watermark(window.MaxTime) }

func (ts *TestStream[T]) watermark(w window.Time) {
	if !ts.before("AdvanceWatermark") {
		return
	}
	ts.st.marks[ts.tag] = w
	ts.st.event(graph.TestStreamEvent{Kind: graph.TestStreamWatermark, Tag: ts.tag, Watermark: w})
}

// AdvanceProcessingTime advances the job's processing-time clock, which
// all outputs share, by d (at least 1ms).
func (ts *TestStream[T]) AdvanceProcessingTime(d time.Duration) {
	if d.Milliseconds() < 1 {
		ts.fail("processing time must advance by at least 1ms, got %v", d)
		return
	}
	ts.st.event(graph.TestStreamEvent{Kind: graph.TestStreamProcessingTime, Advance: d.Milliseconds()})
}

// before reports whether an event may still be added to ts's output,
// recording an error naming what if it may not.
func (ts *TestStream[T]) before(what string) bool {
	if ts.st.failed {
		return false
	}
	if ts.st.mark(ts.tag) >= window.MaxTime {
		ts.fail("%s after the watermark of output %q reached infinity", what, ts.tag)
		return false
	}
	ts.st.output(ts.tag)
	return !ts.st.failed
}

func (ts *TestStream[T]) fail(format string, args ...any) {
	name := "TestStream"
	if ts.st.t != nil {
		name = ts.st.t.Name
	}
	ts.st.s.fail(name, format, args...)
}

func (st *testStream) event(e graph.TestStreamEvent) {
	if !st.failed {
		st.info.Events = append(st.info.Events, e)
	}
}

// output returns the collection of output tag, adding it on first use. An
// untagged output and tagged ones exclude each other: the model's events
// name their output by tag, and the empty tag only names the output of a
// stream that has one.
func (st *testStream) output(tag string) *graph.Collection {
	if st.failed {
		return nil
	}
	if c, ok := st.outs[tag]; ok {
		return c
	}
	if _, untagged := st.outs[""]; untagged || (tag == "" && len(st.outs) > 0) {
		st.s.fail(st.t.Name, "a TestStream has either one untagged output or tagged ones, not both (tag %q)", tag)
		st.failed = true
		return nil
	}
	local := tag
	if tag == "" {
		local = "out"
	}
	c := st.s.p.g.AddOutput(st.t, local, st.info.Coder, st.ops, globalWindowing)
	c.Bounded = false
	st.outs[tag] = c
	return c
}

// mark returns the watermark of output tag: window.MinTime until a
// watermark event for it.
func (st *testStream) mark(tag string) window.Time {
	if w, ok := st.marks[tag]; ok {
		return w
	}
	return window.MinTime
}

// String describes ts, e.g. "TestStream(3 events)".
func (ts *TestStream[T]) String() string {
	if ts.st.info == nil {
		return "TestStream(invalid)"
	}
	return fmt.Sprintf("%s(%d events)", ts.st.t.UniqueName, len(ts.st.info.Events))
}
