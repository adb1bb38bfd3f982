package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// pipeline assembles pipeline protos for engine tests: every PCollection
// holds bytes in the global window; ParDos are named by their unique name,
// which the fake executor's behaviours are keyed by.
type pipeline struct {
	t *testing.T
	p *pipepb.Pipeline
	n int
}

func newPipeline(t *testing.T) *pipeline {
	coder := func(urn string, comps ...string) *pipepb.Coder {
		return &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urn}, ComponentCoderIds: comps}
	}
	return &pipeline{t: t, p: &pipepb.Pipeline{Components: &pipepb.Components{
		Transforms:   map[string]*pipepb.PTransform{},
		Pcollections: map[string]*pipepb.PCollection{},
		Coders: map[string]*pipepb.Coder{
			"bytes": coder(urns.CoderBytes), "gwindow": coder(urns.CoderGlobalWindow),
			"kv": coder(urns.CoderKV, "bytes", "bytes"), "iter": coder(urns.CoderIterable, "bytes"),
			"grouped": coder(urns.CoderKV, "bytes", "iter"),
		},
		WindowingStrategies: map[string]*pipepb.WindowingStrategy{
			"global": {WindowFn: &pipepb.FunctionSpec{Urn: urns.WindowFnGlobal}, WindowCoderId: "gwindow",
				Trigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_Default_{Default: &pipepb.Trigger_Default{}}}},
			// afterPT fires a pane 20 ms (processing time) after a pane's first element.
			"afterPT": {WindowFn: &pipepb.FunctionSpec{Urn: urns.WindowFnGlobal}, WindowCoderId: "gwindow",
				Trigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_Repeat_{Repeat: &pipepb.Trigger_Repeat{
					Subtrigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterProcessingTime_{AfterProcessingTime: &pipepb.Trigger_AfterProcessingTime{
						TimestampTransforms: []*pipepb.TimestampTransform{{TimestampTransform: &pipepb.TimestampTransform_Delay_{Delay: &pipepb.TimestampTransform_Delay{DelayMillis: 20}}}}}}}}}}},
			// everyTwo fires a pane per two elements, and a last one at the end.
			"everyTwo": {WindowFn: &pipepb.FunctionSpec{Urn: urns.WindowFnGlobal}, WindowCoderId: "gwindow",
				OnTimeBehavior: pipepb.OnTimeBehavior_FIRE_ALWAYS,
				Trigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_Repeat_{Repeat: &pipepb.Trigger_Repeat{
					Subtrigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_ElementCount_{ElementCount: &pipepb.Trigger_ElementCount{ElementCount: 2}}}}}}},
			// firstTwo fires one pane of two elements and closes the window.
			"firstTwo": {WindowFn: &pipepb.FunctionSpec{Urn: urns.WindowFnGlobal}, WindowCoderId: "gwindow",
				Trigger: &pipepb.Trigger{Trigger: &pipepb.Trigger_ElementCount_{ElementCount: &pipepb.Trigger_ElementCount{ElementCount: 2}}}},
		},
		Environments: map[string]*pipepb.Environment{"go": {Urn: urns.EnvDefault}, "go2": {Urn: urns.EnvDefault}},
	}}}
}

func (b *pipeline) pcoll(bounded bool) string {
	b.n++
	id := fmt.Sprintf("p%d", b.n)
	pc := &pipepb.PCollection{UniqueName: id, CoderId: "bytes", WindowingStrategyId: "global", IsBounded: pipepb.IsBounded_BOUNDED}
	if !bounded {
		pc.IsBounded = pipepb.IsBounded_UNBOUNDED
	}
	b.p.Components.Pcollections[id] = pc
	return id
}

func (b *pipeline) add(name string, spec *pipepb.FunctionSpec, ins []string, outs map[string]string, env string) {
	b.n++
	id := fmt.Sprintf("t%d", b.n)
	t := &pipepb.PTransform{UniqueName: name, Spec: spec, Inputs: map[string]string{}, Outputs: outs, EnvironmentId: env}
	for i, in := range ins {
		t.Inputs[fmt.Sprintf("i%d", i)] = in
	}
	b.p.Components.Transforms[id] = t
	b.p.RootTransformIds = append(b.p.RootTransformIds, id)
}

func (b *pipeline) impulse(name string) string {
	out := b.pcoll(true)
	b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformImpulse}, nil, map[string]string{"o0": out}, "")
	return out
}

// pardo adds a ParDo named name reading ins; it has one output unless
// sink.
func (b *pipeline) pardo(name string, sink bool, ins ...string) string {
	return b.pardoIn("go", name, sink, ins...)
}

// pardoIn adds a ParDo in environment env: a ParDo in another environment
// than its producer's starts a new stage.
func (b *pipeline) pardoIn(env, name string, sink bool, ins ...string) string {
	payload, err := proto.Marshal(&pipepb.ParDoPayload{DoFn: &pipepb.FunctionSpec{Urn: urns.PayloadDoFn, Payload: []byte(name)}})
	if err != nil {
		b.t.Fatal(err)
	}
	outs := map[string]string{}
	out := ""
	if !sink {
		out = b.pcoll(b.p.Components.Pcollections[ins[0]].IsBounded == pipepb.IsBounded_BOUNDED)
		outs["o0"] = out
	}
	b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformParDo, Payload: payload}, ins, outs, env)
	return out
}

// keyed makes PCollection pc hold KV<bytes, bytes> in windowing ws.
func (b *pipeline) keyed(pc, ws string) {
	b.p.Components.Pcollections[pc].CoderId = "kv"
	b.p.Components.Pcollections[pc].WindowingStrategyId = ws
}

// gbk adds a GroupByKey of in, a keyed PCollection.
func (b *pipeline) gbk(name, in string) string {
	out := b.pcoll(false)
	b.p.Components.Pcollections[out].CoderId = "grouped"
	b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformGroupByKey}, []string{in}, map[string]string{"o0": out}, "")
	return out
}

func (b *pipeline) flatten(name string, ins ...string) string {
	out := b.pcoll(false)
	b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformFlatten}, ins, map[string]string{"o0": out}, "")
	return out
}

// testStream adds a TestStream with an unbounded output per tag.
func (b *pipeline) testStream(name string, tags []string, events ...*pipepb.TestStreamPayload_Event) map[string]string {
	outs := map[string]string{}
	for _, tag := range tags {
		outs[tag] = b.pcoll(false)
	}
	payload, err := proto.Marshal(&pipepb.TestStreamPayload{CoderId: "bytes", Events: events})
	if err != nil {
		b.t.Fatal(err)
	}
	b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformTestStream, Payload: payload}, nil, outs, "")
	return outs
}

func (b *pipeline) plan() *plan.Plan {
	b.t.Helper()
	pl, err := plan.Build(b.p, nil)
	if err != nil {
		b.t.Fatalf("plan.Build: %v", err)
	}
	return pl
}

// nested returns the nested bytes encoding of s.
func nested(s string) []byte { return append([]byte{byte(len(s))}, s...) }

func addElements(tag string, ts ...int64) *pipepb.TestStreamPayload_Event {
	ev := &pipepb.TestStreamPayload_Event_AddElements{Tag: tag}
	for _, t := range ts {
		ev.Elements = append(ev.Elements, &pipepb.TestStreamPayload_TimestampedElement{EncodedElement: []byte(fmt.Sprint(tag, t)), Timestamp: t})
	}
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ElementEvent{ElementEvent: ev}}
}

func advanceWatermark(tag string, wm int64) *pipepb.TestStreamPayload_Event {
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_WatermarkEvent{
		WatermarkEvent: &pipepb.TestStreamPayload_Event_AdvanceWatermark{Tag: tag, NewWatermark: wm}}}
}

func advanceProcessingTime(d int64) *pipepb.TestStreamPayload_Event {
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ProcessingTimeEvent{
		ProcessingTimeEvent: &pipepb.TestStreamPayload_Event_AdvanceProcessingTime{AdvanceDuration: d}}}
}

// behaviour is what a fake stage does with one input element: emit
// passes an element (a windowed value in the stage's wire format) to
// every output; residual queues an element of the stage's input as a
// residual of the bundle.
type behaviour func(ctx context.Context, elem []byte, emit, residual func([]byte)) error

// fakeExec runs stages in process: each element of a bundle goes through
// the behaviour of the stage's first transform (identity when it has
// none), and the executor logs every bundle as "<first transform>:<n
// elements>".
type fakeExec struct {
	behaviours map[string]behaviour
	// resume, when set, gives each residual its delay and watermark.
	resume func(residual []byte) (time.Duration, window.Time)

	// mu guards the fields below.
	mu  sync.Mutex
	log []string
	// seen holds the elements that reached each sink ParDo, by name.
	seen map[string][]window.Value[[]byte]
}

func newFake(b map[string]behaviour) *fakeExec {
	return &fakeExec{behaviours: b, seen: map[string][]window.Value[[]byte]{}}
}

func (f *fakeExec) Endpoints() (data, state *pipepb.ApiServiceDescriptor) { return nil, nil }

func (f *fakeExec) NewProcessor(desc *fnpb.ProcessBundleDescriptor, w *plan.Wiring) (Processor, error) {
	src, err := portWire(desc.GetCoders(), w.Source.Coder)
	if err != nil {
		return nil, err
	}
	name, sink := "", false
	for id, t := range desc.GetTransforms() {
		if t.GetSpec().GetUrn() == urns.TransformParDo {
			name = t.GetUniqueName()
			sink = len(t.GetOutputs()) == 0
			_ = id
		}
	}
	return &fakeProc{f: f, w: w, src: src, name: name, sink: sink}, nil
}

type fakeProc struct {
	f    *fakeExec
	w    *plan.Wiring
	src  *wire
	name string
	sink bool
	n    int64
}

func (p *fakeProc) Process(ctx context.Context, b Bundle) error {
	p.n = 0 // Elements counts the current bundle's, as exec's does
	var outs []func([]byte) error
	for _, s := range p.w.Sinks {
		outs = append(outs, b.Output(s.Transform))
	}
	var emitErr error
	emit := func(e []byte) {
		for _, o := range outs {
			if err := o(e); err != nil && emitErr == nil {
				emitErr = err
			}
		}
	}
	residual := func(e []byte) {
		c := operator.Checkpoint{Residual: append([]byte(nil), e...), Watermark: window.MinTime}
		if p.f.resume != nil {
			c.ResumeAfter, c.Watermark = p.f.resume(e)
		}
		b.Checkpoint(c)
	}
	n := 0
	var sinkSeen []window.Value[[]byte]
	for chunk, err := range b.Inputs[p.w.Source.Transform] {
		if err != nil {
			return err
		}
		elems, err := p.src.split(chunk)
		if err != nil {
			return err
		}
		for _, e := range elems {
			n++
			p.n++
			if p.sink {
				v, _, err := p.src.wv.Decode(e)
				if err != nil {
					return err
				}
				v.Elem = append([]byte(nil), v.Elem...)
				sinkSeen = append(sinkSeen, v)
			}
			if fn := p.f.behaviours[p.name]; fn != nil {
				if err := fn(ctx, e, emit, residual); err != nil {
					return err
				}
			} else {
				emit(e)
			}
		}
	}
	if emitErr != nil {
		return emitErr
	}
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	p.f.log = append(p.f.log, fmt.Sprintf("%s:%d", p.name, n))
	p.f.seen[p.name] = append(p.f.seen[p.name], sinkSeen...)
	return nil
}

func (p *fakeProc) Elements() map[string]int64     { return map[string]int64{p.w.Source.Transform: p.n} }
func (p *fakeProc) Teardown(context.Context) error { return nil }
func (f *fakeExec) bundles() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}
func (f *fakeExec) sunk(name string) []window.Value[[]byte] {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[name]
}

func testOptions(t *testing.T, parallelism int) Options {
	return Options{Parallelism: parallelism, MemoryBudget: 64 << 20, MaxAttempts: 2, TempDir: t.TempDir(), Prefix: "test"}
}

// runJob runs pl on f; setup, if not nil, may change the job (say, set
// its observe hook) before it runs.
func runJob(ctx context.Context, t *testing.T, pl *plan.Plan, opts Options, f *fakeExec, setup func(j *job)) (*Result, error) {
	t.Helper()
	j, err := newJob(opts, pl, f, t.TempDir(), time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	if setup != nil {
		setup(j)
	}
	err = j.run(ctx)
	if cerr := j.close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return j.result(), nil
}
