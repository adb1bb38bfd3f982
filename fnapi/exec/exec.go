// Package exec is the bundle executor: it turns a Fn API
// ProcessBundleDescriptor into a graph of operators that run user code, and
// runs bundles through it. The local runner calls it in process; the SDK
// harness calls it for bundles that arrive over gRPC. Both see the same
// operators, so the two execution paths cannot drift apart.
//
// # Finding user code
//
// Descriptors carry no user code. Our transforms' payloads name the
// transform's unique name (see proto/translate); the executor looks it up in
// the construction graph of the pipeline that this process built, and checks
// that the function description matches.
//
// # Concurrency
//
// A Processor runs one bundle at a time. Runners make one Processor per
// concurrent bundle (per "worker thread") and reuse it for later bundles of
// the same descriptor; after a failed bundle they Teardown the Processor and
// build a new one, because user state may be inconsistent.
package exec

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// SideInputData supplies the contents of side inputs: the nested encodings
// of the elements of side input local of transform transformID in window w,
// concatenated.
type SideInputData interface {
	SideInput(ctx context.Context, transformID, local string, w window.Window) ([]byte, error)
}

// Bundle is the data of one bundle.
type Bundle struct {
	// Inputs yields, per source transform id, chunks of concatenated
	// encoded windowed values.
	Inputs map[string]iter.Seq2[[]byte, error]
	// Output returns the writer of a sink transform; each call gets one
	// encoded windowed value, valid only during the call.
	Output func(sinkID string) func([]byte) error
	// OutputValue, when non-nil, returns a sink's writer of values whose
	// header (timestamp, windows, pane) comes decoded beside the encoded
	// windowed value, its Elem the element's encoding at the end of the
	// bytes, all valid only during the call; a nil writer leaves the sink
	// to Output. Elements whose windows would not decode as they are still
	// go to Output (see operator.TypeOps.NewValueEncoder).
	OutputValue func(sinkID string) func([]byte, window.Value[[]byte]) error
	// SideInputs supplies side input data (nil if the stage has none).
	SideInputs SideInputData
	// Metrics receives user metrics (nil: a fresh store per bundle).
	Metrics *metrics.Store
	// Splits, when non-nil, receives the splittable work that starts while
	// the bundle runs, with the index (in the bundle's input) of the element
	// whose processing started it.
	Splits func(index int64, t operator.SplitTracker) (done func())
	// Checkpoint, when non-nil, receives the rest of the work of elements
	// whose DoFn stopped early (operator.Env.Checkpoints); without it a
	// DoFn that tries to checkpoint fails.
	Checkpoint func(operator.Checkpoint)
	// Finalize, when non-nil, receives the functions to call once the
	// bundle's output is committed (operator.Env.Finalizers).
	Finalize func(func(context.Context) error)
	// State serves the user state of the stage's stateful transforms (nil
	// if it has none).
	State operator.StateAccess
	// Timers receives the timers that stateful transforms set or clear:
	// the transform id, the timer family and one encoded
	// beam:coder:timer:v1 value, valid only during the call.
	Timers func(transformID, family string, encoded []byte) error
	// FireTimers yields the timers to fire after the inputs are read, in
	// the order to fire them (see TimerInput).
	FireTimers iter.Seq2[TimerInput, error]
}

// TimerInput is one timer to fire: an encoded beam:coder:timer:v1 value
// of family of transform TransformID, as the Fn API's data plane carries
// timers.
type TimerInput struct {
	TransformID, Family string
	Encoded             []byte
}

// readsSource reports whether transform id reads one of the bundle's
// data sources directly.
func (p *Processor) readsSource(id string) bool {
	for _, pc := range p.desc.GetTransforms()[id].GetInputs() {
		for _, s := range p.sources {
			if s.pcoll == pc {
				return true
			}
		}
	}
	return false
}

// splitRegistry adapts Bundle.Splits to operator.SplitRegistry, recording the
// index of the input element being processed.
type splitRegistry struct {
	p     *Processor
	split func(index int64, t operator.SplitTracker) (done func())
}

func (r *splitRegistry) Register(t operator.SplitTracker) func() {
	var idx int64
	for _, s := range r.p.sources {
		idx += s.current.Load()
	}
	return r.split(idx, t)
}

// Processor executes bundles of one descriptor. It is not safe for
// concurrent use.
type Processor struct {
	desc    *fnpb.ProcessBundleDescriptor
	ops     []operator.Operator
	envs    []*operator.Env
	sources map[string]*source
	sinks   map[string]*sink
	sides   []*sideReader
	setup   bool
	// timerOps are the operators that fire timers, by transform id.
	timerOps map[string]operator.TimerReceiver
}

type source struct {
	id, pcoll string
	dec       operator.Decoder
	// elem is the coder of the elements the decoder reads.
	elem coder.Spec
	// elements counts the elements decoded in the current bundle; it is
	// read concurrently by progress reporting.
	elements atomic.Int64
	// current is the index of the element being processed (or about to
	// be); gate, once set by SplitInput, makes the decode loop check limit
	// under mu before each element. See SplitInput for the protocol.
	current atomic.Int64
	gate    atomic.Bool
	mu      sync.Mutex
	limit   int64 // guarded by mu: elements from this index on are not read
	// reading, guarded by mu, is true from reset to the end of Process:
	// SplitInput refuses outside it.
	reading bool
}

type sink struct {
	id    string
	write func([]byte) error
	// writeValue takes the elements with their decoded header: the
	// bundle's Bundle.OutputValue writer, or write, which ignores it.
	writeValue func([]byte, window.Value[[]byte]) error
	// elem is the coder of the elements the encoder writes.
	elem coder.Spec
}

// New builds the operator graph of desc, finding user code in g.
func New(desc *fnpb.ProcessBundleDescriptor, g *graph.Graph) (*Processor, error) {
	b := &builder{
		desc: desc, g: g,
		byName:    transformsByName(g),
		receivers: map[string]any{},
		consumers: map[string][]string{},
		p:         &Processor{desc: desc, sources: map[string]*source{}, sinks: map[string]*sink{}},
	}
	if err := b.build(); err != nil {
		return nil, fmt.Errorf("exec: descriptor %s: %w", desc.GetId(), err)
	}
	return b.p, nil
}

// Setup calls Setup on every operator once.
func (p *Processor) Setup(ctx context.Context) error {
	if p.setup {
		return nil
	}
	p.setup = true
	for _, op := range p.ops {
		if err := op.Setup(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Process runs one bundle: StartBundle on every operator (downstream first),
// every input element, then FinishBundle (upstream first).
func (p *Processor) Process(ctx context.Context, b Bundle) error {
	defer func() {
		for _, s := range p.sources {
			s.mu.Lock()
			s.reading = false
			s.mu.Unlock()
		}
	}()
	if err := p.Setup(ctx); err != nil {
		return err
	}
	store := b.Metrics
	if store == nil {
		store = metrics.NewStore()
	}
	var splits operator.SplitRegistry
	if b.Splits != nil {
		splits = &splitRegistry{p: p, split: b.Splits}
	}
	for _, env := range p.envs {
		env.Metrics = store
		env.Splits = splits
		env.Finalizers = b.Finalize
		if p.readsSource(env.TransformID) {
			// Only a DoFn that reads the bundle's input can hand back
			// the rest of an element as an element of that input.
			env.Checkpoints = b.Checkpoint
		}
		env.State, env.Timers = b.State, nil
		if b.Timers != nil {
			id := env.TransformID
			env.Timers = func(family string, encoded []byte) error { return b.Timers(id, family, encoded) }
		}
	}
	for _, s := range p.sides {
		s.data, s.cache = b.SideInputs, map[sideKey]any{}
	}
	for id, s := range p.sinks {
		if b.Output == nil {
			return fmt.Errorf("exec: bundle has no output for sink %s", id)
		}
		s.write, s.writeValue = b.Output(id), nil
		if b.OutputValue != nil {
			s.writeValue = b.OutputValue(id)
		}
		if s.writeValue == nil {
			write := s.write
			s.writeValue = func(buf []byte, _ window.Value[[]byte]) error { return write(buf) }
		}
	}
	for _, op := range p.ops {
		if err := op.StartBundle(ctx); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(p.sources)) {
		src := p.sources[id]
		src.reset()
	}
	for _, id := range slices.Sorted(maps.Keys(p.sources)) {
		src := p.sources[id]
		in, ok := b.Inputs[id]
		if !ok {
			continue
		}
	read:
		for chunk, err := range in {
			if err != nil {
				return fmt.Errorf("exec: reading input of %s: %w", id, err)
			}
			for len(chunk) > 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				if !src.admit() {
					// The rest of the input was split off.
					break read
				}
				n, err := src.dec.Decode(chunk)
				if err != nil {
					return err
				}
				src.elements.Add(1)
				chunk = chunk[n:]
			}
		}
	}
	if err := p.fireTimers(ctx, b.FireTimers); err != nil {
		return err
	}
	for i := len(p.ops) - 1; i >= 0; i-- {
		if err := p.ops[i].FinishBundle(ctx); err != nil {
			return err
		}
	}
	return nil
}

// reset prepares the source for a new bundle.
func (s *source) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate.Store(false)
	s.elements.Store(0)
	s.current.Store(0)
	s.limit = math.MaxInt64
	s.reading = true
}

// admit announces that the next element is about to be processed and
// reports whether it is still part of the bundle. The store of current
// precedes the load of gate, and SplitInput stores gate before it loads
// current: so either SplitInput sees this element as started, or this
// call sees the gate and decides under mu.
func (s *source) admit() bool {
	k := s.elements.Load()
	s.current.Store(k)
	if !s.gate.Load() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return k < s.limit
}

// InputPosition returns the index of the element of source transform id
// that the running bundle is processing (or is about to process), and
// false if id is not a source of the descriptor.
func (p *Processor) InputPosition(id string) (int64, bool) {
	s, ok := p.sources[id]
	if !ok {
		return 0, false
	}
	return s.current.Load(), true
}

// SplitInput is a channel split of the running bundle's input from source
// transform id: elements from index firstResidual on will not be
// processed. It picks the split point itself through choose, which gets
// the index of the element in progress (every element before it has
// been processed or started) and returns the first residual index, which
// must be greater than that, or -1 for no split. SplitInput returns the
// chosen index, or -1 if there was no split (choosing the current limit
// again is accepted and changes nothing) or no bundle is reading the
// source. It is safe to call while the
// bundle runs.
func (p *Processor) SplitInput(id string, choose func(current int64) int64) int64 {
	s, ok := p.sources[id]
	if !ok {
		return -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.reading {
		return -1
	}
	// Under mu, so that reset cannot clear the gate after this store.
	s.gate.Store(true)
	cur := s.current.Load()
	first := choose(cur)
	if first <= cur || first > s.limit {
		return -1
	}
	s.limit = first
	return first
}

// Elements returns how many elements each source decoded in the current or
// last bundle. It may be called while a bundle runs.
func (p *Processor) Elements() map[string]int64 {
	out := map[string]int64{}
	for id, s := range p.sources {
		out[id] = s.elements.Load()
	}
	return out
}

// PortCoder returns the coder of the elements that the source or sink
// transform id decodes or encodes inside its windowed values: this SDK's
// coder of the PCollection. A runner that wraps coders it does not know in
// length prefixes sends a different port coder; the caller recodes between
// the two.
func (p *Processor) PortCoder(id string) (coder.Spec, bool) {
	if s, ok := p.sources[id]; ok {
		return s.elem, true
	}
	if s, ok := p.sinks[id]; ok {
		return s.elem, true
	}
	return coder.Spec{}, false
}

// Teardown calls Teardown on every operator, best effort, and returns the
// errors joined.
func (p *Processor) Teardown(ctx context.Context) error {
	var errs []error
	for _, op := range p.ops {
		if err := op.Teardown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// builder wires the operator graph.
type builder struct {
	desc      *fnpb.ProcessBundleDescriptor
	g         *graph.Graph
	byName    map[string]*graph.Transform
	receivers map[string]any      // pcollection id -> receiver
	consumers map[string][]string // pcollection id -> consuming transform ids (main inputs)
	factories map[string]operator.Factory
	inputRecv map[string]any // transform id -> its input receiver
	building  map[string]bool
	p         *Processor
}

func (b *builder) build() error {
	b.factories = map[string]operator.Factory{}
	b.inputRecv = map[string]any{}
	b.building = map[string]bool{}
	ids := slices.Sorted(maps.Keys(b.desc.GetTransforms()))
	for _, id := range ids {
		pt := b.desc.GetTransforms()[id]
		sideLocals, err := sideInputLocals(pt)
		if err != nil {
			return fmt.Errorf("transform %q: %w", pt.GetUniqueName(), err)
		}
		for _, local := range slices.Sorted(maps.Keys(pt.GetInputs())) {
			if !sideLocals[local] {
				pc := pt.GetInputs()[local]
				b.consumers[pc] = append(b.consumers[pc], id)
			}
		}
		if u := pt.GetSpec().GetUrn(); u != urns.TransformSource && u != urns.TransformSink {
			f, err := b.factory(pt)
			if err != nil {
				return fmt.Errorf("transform %q: %w", pt.GetUniqueName(), err)
			}
			b.factories[id] = f
		}
	}
	for _, id := range ids {
		pt := b.desc.GetTransforms()[id]
		if pt.GetSpec().GetUrn() != urns.TransformSource {
			continue
		}
		if err := b.buildSource(id, pt); err != nil {
			return fmt.Errorf("source %q: %w", id, err)
		}
	}
	return nil
}

func (b *builder) buildSource(id string, pt *pipepb.PTransform) error {
	if len(pt.GetOutputs()) != 1 {
		return fmt.Errorf("has %d outputs, want 1", len(pt.GetOutputs()))
	}
	var pc string
	for _, v := range pt.GetOutputs() {
		pc = v
	}
	interval, err := b.portWindows(pt)
	if err != nil {
		return err
	}
	next, err := b.receiver(pc)
	if err != nil {
		return err
	}
	ops, err := b.opsOf(pc)
	if err != nil {
		return err
	}
	dec, err := ops.NewDecoder(interval, next)
	if err != nil {
		return err
	}
	b.p.sources[id] = &source{id: id, pcoll: pc, dec: dec, elem: ops.Coder().Spec()}
	return nil
}

// portWindows reports whether the data port of a source or sink encodes
// interval windows (else the global window).
func (b *builder) portWindows(pt *pipepb.PTransform) (bool, error) {
	var port fnpb.RemoteGrpcPort
	if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &port); err != nil {
		return false, fmt.Errorf("data port payload: %w", err)
	}
	wv, ok := b.desc.GetCoders()[port.GetCoderId()]
	if !ok {
		return false, fmt.Errorf("data port names missing coder %q", port.GetCoderId())
	}
	comps := wv.GetComponentCoderIds()
	if wv.GetSpec().GetUrn() != urns.CoderWindowedValue || len(comps) != 2 {
		return false, fmt.Errorf("data port coder %q is %s, want a windowed value coder", port.GetCoderId(), wv.GetSpec().GetUrn())
	}
	switch u := b.desc.GetCoders()[comps[1]].GetSpec().GetUrn(); u {
	case urns.CoderGlobalWindow:
		return false, nil
	case urns.CoderIntervalWindow:
		return true, nil
	default:
		return false, fmt.Errorf("data port window coder %s is not supported", u)
	}
}

// receiver returns the receiver that delivers elements of pcollection pc to
// all its consumers in the descriptor, building them on first use.
func (b *builder) receiver(pc string) (any, error) {
	if r, ok := b.receivers[pc]; ok {
		return r, nil
	}
	ops, err := b.opsOf(pc)
	if err != nil {
		return nil, err
	}
	var rs []any
	for _, id := range b.consumers[pc] {
		r, err := b.transformInput(id)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	r, err := ops.FanOut(rs)
	if err != nil {
		return nil, fmt.Errorf("PCollection %s: %w", pc, err)
	}
	b.receivers[pc] = r
	return r, nil
}

// transformInput returns the input receiver of transform id, building the
// transform (and everything downstream of it) on first use.
func (b *builder) transformInput(id string) (any, error) {
	if r, ok := b.inputRecv[id]; ok {
		return r, nil
	}
	if b.building[id] {
		return nil, fmt.Errorf("transform %s is part of a cycle", id)
	}
	b.building[id] = true
	pt := b.desc.GetTransforms()[id]
	if pt.GetSpec().GetUrn() == urns.TransformSink {
		r, err := b.buildSink(id, pt)
		if err != nil {
			return nil, fmt.Errorf("sink %q: %w", id, err)
		}
		b.inputRecv[id] = r
		return r, nil
	}
	f := b.factories[id]
	locals := b.outputOrder(pt)
	outs := make([]any, len(locals))
	for i, local := range locals {
		r, err := b.receiver(pt.GetOutputs()[local])
		if err != nil {
			return nil, err
		}
		outs[i] = r
	}
	env := &operator.Env{TransformID: id, UniqueName: pt.GetUniqueName()}
	if sr := b.sideReader(id, pt); sr != nil {
		env.SideInputs = sr
	}
	op, in, err := f.Build(env, outs)
	if err != nil {
		return nil, fmt.Errorf("transform %q: %w", pt.GetUniqueName(), err)
	}
	b.p.ops = append(b.p.ops, op)
	b.p.envs = append(b.p.envs, env)
	if tr, ok := op.(operator.TimerReceiver); ok {
		if b.p.timerOps == nil {
			b.p.timerOps = map[string]operator.TimerReceiver{}
		}
		b.p.timerOps[id] = tr
	}
	b.inputRecv[id] = in
	return in, nil
}

// outputOrder returns the output locals of pt in the order its factory
// expects: the construction graph's order, or sorted.
func (b *builder) outputOrder(pt *pipepb.PTransform) []string {
	if t, ok := b.byName[pt.GetUniqueName()]; ok && len(t.Outputs) == len(pt.GetOutputs()) {
		locals := make([]string, len(t.Outputs))
		for i, o := range t.Outputs {
			locals[i] = o.Local
		}
		return locals
	}
	return slices.Sorted(maps.Keys(pt.GetOutputs()))
}

func (b *builder) buildSink(id string, pt *pipepb.PTransform) (any, error) {
	if len(pt.GetInputs()) != 1 {
		return nil, fmt.Errorf("has %d inputs, want 1", len(pt.GetInputs()))
	}
	var pc string
	for _, v := range pt.GetInputs() {
		pc = v
	}
	interval, err := b.portWindows(pt)
	if err != nil {
		return nil, err
	}
	ops, err := b.opsOf(pc)
	if err != nil {
		return nil, err
	}
	s := &sink{id: id, elem: ops.Coder().Spec()}
	b.p.sinks[id] = s
	return ops.NewValueEncoder(interval, func(buf []byte) error { return s.write(buf) },
		func(buf []byte, v window.Value[[]byte]) error { return s.writeValue(buf, v) }), nil
}

// opsOf returns the element type operations of pcollection pc: from a
// consumer's input or the producer's output in the descriptor.
func (b *builder) opsOf(pc string) (operator.TypeOps, error) {
	for _, id := range b.consumers[pc] {
		if f, ok := b.factories[id]; ok && f.InputOps() != nil {
			return f.InputOps(), nil
		}
	}
	for _, id := range slices.Sorted(maps.Keys(b.desc.GetTransforms())) {
		pt := b.desc.GetTransforms()[id]
		f, ok := b.factories[id]
		if !ok {
			continue
		}
		for i, local := range b.outputOrder(pt) {
			if pt.GetOutputs()[local] == pc && i < len(f.OutputOps()) {
				return f.OutputOps()[i], nil
			}
		}
	}
	for _, c := range b.g.Collections {
		if ops, ok := c.Ops.(operator.TypeOps); ok && c.ID == pc {
			return ops, nil
		}
	}
	return nil, fmt.Errorf("no transform in the descriptor tells the element type of PCollection %s", pc)
}

// sideInputLocals returns the side input locals of a ParDo.
func sideInputLocals(pt *pipepb.PTransform) (map[string]bool, error) {
	out := map[string]bool{}
	if pt.GetSpec().GetUrn() != urns.TransformParDo {
		return out, nil
	}
	var pd pipepb.ParDoPayload
	if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &pd); err != nil {
		return nil, fmt.Errorf("ParDo payload: %w", err)
	}
	for local := range pd.GetSideInputs() {
		out[local] = true
	}
	return out, nil
}

// factory finds the operator factory of a transform in the graph.
func (b *builder) factory(pt *pipepb.PTransform) (operator.Factory, error) {
	urn := pt.GetSpec().GetUrn()
	switch urn {
	case urns.TransformParDo:
		var pd pipepb.ParDoPayload
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &pd); err != nil {
			return nil, fmt.Errorf("ParDo payload: %w", err)
		}
		t, err := b.userTransform(pd.GetDoFn())
		if err != nil {
			return nil, err
		}
		f, ok := t.Factory.(operator.Factory)
		if !ok {
			return nil, fmt.Errorf("transform %q has no executable function", t.UniqueName)
		}
		return f, nil
	case urns.TransformWindowInto, urns.TransformFlatten:
		t, ok := b.byName[pt.GetUniqueName()]
		if !ok {
			return nil, fmt.Errorf("%s transform is not one of this pipeline's", urn)
		}
		f, ok := t.Factory.(operator.Factory)
		if !ok {
			return nil, fmt.Errorf("%s transform %q has no executable function", urn, t.UniqueName)
		}
		return f, nil
	case urns.TransformCombinePerKeyPrecombine, urns.TransformCombinePerKeyMergeAccums,
		urns.TransformCombinePerKeyExtractOutputs, urns.TransformCombineGroupedValues:
		var cp pipepb.CombinePayload
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &cp); err != nil {
			return nil, fmt.Errorf("combine payload: %w", err)
		}
		t, err := b.userTransform(cp.GetCombineFn())
		if err != nil {
			return nil, err
		}
		var phases operator.CombinePhases
		if t.Combine != nil {
			phases, _ = t.Combine.Phases.(operator.CombinePhases)
		}
		if phases == nil {
			return nil, fmt.Errorf("transform %q is not a liftable combine", t.UniqueName)
		}
		switch urn {
		case urns.TransformCombinePerKeyPrecombine:
			return phases.Precombine(), nil
		case urns.TransformCombinePerKeyMergeAccums:
			return phases.Merge(), nil
		case urns.TransformCombinePerKeyExtractOutputs:
			return phases.Extract(), nil
		}
		return phases.Grouped(), nil
	}
	return nil, fmt.Errorf("the SDK harness cannot execute transform URN %q", urn)
}

// AccumulatorMerger returns a merger of the accumulators of the combine
// whose CombineFn spec (a CombinePayload's combine_fn) is spec, finding
// its code in g, or nil if its CombineFn cannot merge encoded
// accumulators (another SDK's, or one without an accumulator coder). A
// runner that runs in the pipeline's process uses it to merge a lifted
// combine's accumulators while it groups them.
func AccumulatorMerger(g *graph.Graph, spec *pipepb.FunctionSpec) (operator.AccumulatorMerger, error) {
	if spec.GetUrn() != urns.PayloadCombineFn {
		return nil, nil
	}
	b := &builder{g: g, byName: transformsByName(g)}
	t, err := b.userTransform(spec)
	if err != nil {
		return nil, fmt.Errorf("exec: accumulator merger: %w", err)
	}
	if t.Combine == nil {
		return nil, nil
	}
	m, ok := t.Combine.Phases.(operator.AccumulatorMerging)
	if !ok {
		return nil, nil
	}
	return m.NewAccumulatorMerger(t.UniqueName), nil
}

// transformsByName maps the unique names of g's transforms to them.
func transformsByName(g *graph.Graph) map[string]*graph.Transform {
	m := make(map[string]*graph.Transform, len(g.Transforms))
	for _, t := range g.Transforms {
		m[t.UniqueName] = t
	}
	return m
}

// userTransform resolves our function payload to the graph transform that
// holds the code, checking that it describes the same function.
func (b *builder) userTransform(spec *pipepb.FunctionSpec) (*graph.Transform, error) {
	if spec.GetUrn() != urns.PayloadDoFn && spec.GetUrn() != urns.PayloadCombineFn {
		return nil, fmt.Errorf("function URN %q is not this SDK's", spec.GetUrn())
	}
	fp, err := decode.Fn(spec.GetPayload())
	if err != nil {
		return nil, err
	}
	t, ok := b.byName[fp.Transform]
	if !ok {
		return nil, fmt.Errorf("this process's pipeline has no transform %q: the worker must build the same pipeline as the submitter", fp.Transform)
	}
	if t.Fn != nil && (t.Fn.GoType != fp.Type || t.Fn.Config != fp.Config) {
		// A rebuilt pipeline differs the same way on every attempt.
		return nil, &operator.PermanentError{Err: fmt.Errorf("transform %q differs between the submitted pipeline (%s %s) and this process's (%s %s): pipeline construction must be deterministic",
			fp.Transform, fp.Type, fp.Config, t.Fn.GoType, t.Fn.Config)}
	}
	return t, nil
}

// fireTimers hands each timer to the operator of its transform.
func (p *Processor) fireTimers(ctx context.Context, timers iter.Seq2[TimerInput, error]) error {
	if timers == nil {
		return nil
	}
	for t, err := range timers {
		if err != nil {
			return fmt.Errorf("exec: reading timers: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		op, ok := p.timerOps[t.TransformID]
		if !ok {
			return fmt.Errorf("exec: timer of family %q for transform %s, which has no timers in descriptor %s", t.Family, t.TransformID, p.desc.GetId())
		}
		if err := op.ReceiveTimer(t.Family, t.Encoded); err != nil {
			return err
		}
	}
	return nil
}
