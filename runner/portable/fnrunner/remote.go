package fnrunner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strings"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/fnapi/monitoring"
	"github.com/beamgo-dev/beamgo/fnapi/service"
	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/engine"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// sendChunk is about how many input bytes go in one data message.
const sendChunk = 256 << 10

// remote runs bundles of one stage on one worker.
type remote struct {
	ex      *executor
	w       *service.Worker
	desc    *fnpb.ProcessBundleDescriptor
	wiring  *plan.Wiring
	splits  map[string]func([]byte) ([][]byte, []byte, error) // by sink transform
	sinks   []string
	metrics metrics.Snapshot
	read    int64
	// families are the timer families of the descriptor's ParDos.
	families []service.TimerFamily
	// fire are the timers of the running bundle not yet sent.
	fire []engine.TimerInput
}

func newRemote(ex *executor, w *service.Worker, desc *fnpb.ProcessBundleDescriptor, wiring *plan.Wiring) (*remote, error) {
	r := &remote{ex: ex, w: w, desc: desc, wiring: wiring, splits: map[string]func([]byte) ([][]byte, []byte, error){}}
	var err error
	if r.families, err = timerFamilies(desc); err != nil {
		return nil, err
	}
	for _, port := range wiring.Sinks {
		split, err := engine.PrefixSplitter(desc.GetCoders(), port.Coder)
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", port.Transform, err)
		}
		r.splits[port.Transform] = split
		r.sinks = append(r.sinks, port.Transform)
	}
	return r, nil
}

// Process implements engine.Processor: it sends the bundle's input to the
// worker, runs the bundle, and hands the worker's output to the engine. A
// bundle whose earlier attempt's worker died runs as several bundles on
// the worker, to find the element that kills workers (see poison.go). The
// timers a keyed bundle fires go to the worker with its first part.
func (r *remote) Process(ctx context.Context, b engine.Bundle) error {
	r.metrics, r.read, r.fire = metrics.Snapshot{}, 0, nil
	if b.TimerBatch == nil {
		return r.process(ctx, b)
	}
	tb, err := b.TimerBatch()
	if err != nil {
		return err
	}
	r.fire = tb.Timers
	if err := r.process(ctx, b); err != nil {
		return err
	}
	if len(r.fire) > 0 {
		// Every part of the input ran without them (there was none).
		if err := r.run(ctx, b, func(func([]byte, error) bool) {}, 0, false, false); err != nil {
			return err
		}
	}
	return tb.Done()
}

// process runs the bundle's input, in parts if it is suspect.
func (r *remote) process(ctx context.Context, b engine.Bundle) error {
	if r.w.Err() != nil {
		// The worker died since this processor's last bundle (another
		// bundle killed it): run on a live one, so that this bundle's
		// attempt is not spent on a worker known to be gone.
		w, err := r.ex.workers.pick(ctx)
		if err != nil {
			return err
		}
		r.w = w
	}
	next, stop := iter.Pull2(b.Inputs[r.wiring.Source.Transform])
	defer stop()
	in := &pulled{next: next}
	first, _, err := in.peek()
	if err != nil {
		return fmt.Errorf("bundle input: %w", err)
	}
	key := suspectKey{desc: r.desc.GetId(), first: sha256.Sum256(first)}
	from, suspect := r.ex.suspect(key)
	if !suspect {
		if err := r.run(ctx, b, in.take(-1), 0, true, false); err != nil {
			return r.died(err, key, nil)
		}
		return nil
	}
	// Elements before from were done when a worker last died running
	// this bundle; each of the next isolateCount runs alone.
	index := int64(0)
	if from > 0 {
		if err := r.run(ctx, b, in.take(from), 0, false, false); err != nil {
			return r.died(err, key, nil)
		}
		index = from
	}
	for range isolateCount {
		elem, ok, err := in.peek()
		if err != nil {
			return fmt.Errorf("bundle input: %w", err)
		}
		if !ok {
			break
		}
		if err := r.run(ctx, b, in.take(1), index, false, true); err != nil {
			return r.died(err, key, &isolated{index: index, elem: elem})
		}
		index++
	}
	if _, ok, _ := in.peek(); ok {
		if err := r.run(ctx, b, in.take(-1), index, false, false); err != nil {
			return r.died(err, key, nil)
		}
	}
	r.ex.clearSuspect(key)
	return nil
}

// outputStreams hands a running bundle's outputs to the engine as the
// worker sends them, so that the runner holds them once, where the engine
// keeps (or spills, or shuffles) them, not also as the bytes received.
type outputStreams struct {
	r *remote
	b engine.Bundle
	// rest holds, by sink transform, the start of an element whose end
	// the next chunk brings.
	rest map[string][]byte
}

func (r *remote) streamOutputs(b engine.Bundle) *outputStreams {
	return &outputStreams{r: r, b: b, rest: map[string][]byte{}}
}

// receive takes a chunk of a sink's output; it is called in order per
// sink, never concurrently (service.Bundle.StreamOutput).
func (o *outputStreams) receive(sink string, data []byte) error {
	if rest := o.rest[sink]; len(rest) > 0 {
		data = append(rest, data...)
	}
	elems, rest, err := o.r.splits[sink](data)
	if err != nil {
		return err
	}
	// The chunk's memory is the worker's message, not reused: rest may
	// point into it until the next chunk copies it.
	o.rest[sink] = rest
	out := o.b.Output(sink)
	for _, e := range elems {
		if err := out(e); err != nil {
			return err
		}
	}
	return nil
}

// end checks that no sink's output ended inside an element.
func (o *outputStreams) end() error {
	for sink, rest := range o.rest {
		if len(rest) > 0 {
			return fmt.Errorf("output of %s ends inside an element (%d bytes left over)", sink, len(rest))
		}
	}
	return nil
}

// isolated is the one element of a bundle, and its index in the input.
type isolated struct {
	index int64
	elem  []byte
}

// died returns err, which failed the bundle key, unchanged unless the
// worker died: then the bundle becomes suspect and err a WorkerDiedError
// naming the element in progress if it ran alone (one).
func (r *remote) died(err error, key suspectKey, one *isolated) error {
	var wd *WorkerDiedError
	if !errors.As(err, &wd) {
		return err
	}
	if one != nil {
		wd.Index, wd.Element = one.index, r.describe(one.elem)
		r.ex.markSuspect(key, one.index)
	} else {
		r.ex.markSuspect(key, wd.LastReported)
	}
	return wd
}

// run runs part of a bundle's input, whose first element is element base
// of the bundle's input, as one bundle on the worker; it adds the outputs
// to b's and the metrics, elements read and residuals to r's. A worker
// that dies makes a WorkerDiedError, with the last reported index in
// progress (counted from the bundle's first element). splittable says
// whether the engine may split it; alone, whether it runs alone on the
// worker (an isolated element, see gate).
func (r *remote) run(ctx context.Context, b engine.Bundle, input iter.Seq2[[]byte, error], base int64, splittable, alone bool) (err error) {
	leave, err := r.ex.gate(r.w).enter(ctx, alone)
	if err != nil {
		return err
	}
	defer leave()
	inst := r.ex.instruction()
	var timers *service.Timers
	if len(r.families) > 0 || len(r.fire) > 0 {
		timers = &service.Timers{Families: r.families, Receive: b.Timers}
		if b.Timers == nil {
			return fmt.Errorf("bundle %s: the stage's transforms have timers, but the engine takes none", inst)
		}
	}
	nb, err := r.w.NewBundle(inst, r.sinks, &sides{data: b.SideInputs, desc: r.desc, wiring: r.wiring}, timers)
	if err != nil {
		return fmt.Errorf("new bundle: %w", err)
	}
	defer nb.Release()
	if b.State != nil {
		nb.SetUserState(userState{ctx: ctx, sa: b.State})
	}
	outs := r.streamOutputs(b)
	nb.StreamOutput(outs.receive)
	fire := r.fire
	r.fire = nil
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src := r.wiring.Source.Transform
	progress := watchProgress(ctx, r.w, inst, src)
	defer func() {
		cancel()
		<-progress.done
	}()
	var splitter *remoteSplitter
	if splittable && b.Splits != nil {
		splitter = newRemoteSplitter(r, inst, src, progress)
		defer b.Splits(-1, splitter)()
		defer splitter.wait()
	}
	var sendErr error
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		sendErr = r.send(ctx, nb, src, input, cancel)
		if sendErr == nil && timers != nil {
			// After the input: this SDK's harness reads its input before
			// its timers, and no key fires timers in a bundle with its
			// elements (engine.TimerBatch), so the order is free.
			sendErr = sendTimers(ctx, nb, fire, r.families)
		}
	}()
	// The sender reads the input, which is not safe to share: it is done
	// before the caller reads on.
	defer func() {
		cancel()
		<-sent
	}()
	resp, err := r.w.Instruct(ctx, &fnpb.InstructionRequest{InstructionId: inst, Request: &fnpb.InstructionRequest_ProcessBundle{
		ProcessBundle: &fnpb.ProcessBundleRequest{ProcessBundleDescriptorId: r.desc.GetId()},
	}})
	if errors.Is(err, service.ErrWorkerGone) {
		last := progress.index.Load()
		if last >= 0 {
			last += base
		}
		return &WorkerDiedError{Worker: r.w.ID(), Instruction: inst, Transforms: r.readers(), Index: -1, LastReported: last, Err: err}
	}
	// Errors say what failed in the user's terms: the instruction and
	// worker ids are in the workers' log entries, for whoever needs them.
	if err != nil {
		return fmt.Errorf("SDK worker: %w", err)
	}
	if resp.GetError() != "" {
		err := errors.New(resp.GetError())
		if strings.Contains(resp.GetError(), operator.PermanentMark) {
			return permanentText{err}
		}
		return err
	}
	if splitter != nil {
		if err := splitter.wait(); err != nil {
			return err
		}
	}
	<-sent
	if sendErr != nil {
		return sendErr
	}
	if err := nb.Wait(ctx); err != nil {
		return fmt.Errorf("bundle output: %w", err)
	}
	if err := outs.end(); err != nil {
		return fmt.Errorf("bundle output: %w", err)
	}
	m, read, err := metricsOf(resp.GetProcessBundle().GetMonitoringInfos(), r.desc.GetTransforms(), src)
	if err != nil {
		return fmt.Errorf("bundle metrics: %w", err)
	}
	residuals, err := r.residualsOf(resp.GetProcessBundle().GetResidualRoots())
	if err != nil {
		return fmt.Errorf("bundle residuals: %w", err)
	}
	r.metrics.Merge(m)
	r.read += read
	for _, c := range residuals {
		b.Checkpoint(c)
	}
	if resp.GetProcessBundle().GetRequiresFinalization() && b.Finalize != nil {
		w := r.w
		b.Finalize(func(ctx context.Context) error {
			resp, err := w.Instruct(ctx, &fnpb.InstructionRequest{InstructionId: r.ex.instruction(), Request: &fnpb.InstructionRequest_FinalizeBundle{
				FinalizeBundle: &fnpb.FinalizeBundleRequest{InstructionId: inst},
			}})
			if err == nil && resp.GetError() != "" {
				err = errors.New(resp.GetError())
			}
			if err != nil {
				return fmt.Errorf("finalizing a bundle: %w", err)
			}
			return nil
		})
	}
	return nil
}

// send sends a bundle's input to the worker in chunks, then marks its end;
// an input error cancels the bundle.
func (r *remote) send(ctx context.Context, nb *service.Bundle, src string, input iter.Seq2[[]byte, error], cancel context.CancelFunc) error {
	var chunk []byte
	for e, err := range input {
		if err != nil {
			cancel()
			return fmt.Errorf("bundle input: %w", err)
		}
		chunk = append(chunk, e...)
		if len(chunk) >= sendChunk {
			if err := nb.Send(ctx, src, chunk); err != nil {
				return err
			}
			chunk = nil
		}
	}
	if len(chunk) > 0 {
		if err := nb.Send(ctx, src, chunk); err != nil {
			return err
		}
	}
	return nb.Close(ctx, src)
}

// residualsOf checks that the residual roots of a bundle (work a
// splittable DoFn left over when it checkpointed) are for the transform
// that reads the stage's input, whose elements they then are, and returns
// them as checkpoints: with the delay the root asks for, and the earliest
// of its output watermarks as the hold.
func (r *remote) residualsOf(roots []*fnpb.DelayedBundleApplication) ([]operator.Checkpoint, error) {
	if len(roots) == 0 {
		return nil, nil
	}
	pc := r.desc.GetTransforms()[r.wiring.Source.Transform].GetOutputs()
	out := make([]operator.Checkpoint, 0, len(roots))
	for _, root := range roots {
		app := root.GetApplication()
		t := r.desc.GetTransforms()[app.GetTransformId()]
		in, ok := t.GetInputs()[app.GetInputId()]
		if t == nil || !ok || !slices.Contains(slices.Collect(maps.Values(pc)), in) {
			return nil, fmt.Errorf("residual root for input %q of transform %q, which does not read the stage's input: not supported", app.GetInputId(), app.GetTransformId())
		}
		c := operator.Checkpoint{Residual: app.GetElement(), ResumeAfter: root.GetRequestedTimeDelay().AsDuration(), Watermark: window.MinTime}
		for i, local := range slices.Sorted(maps.Keys(app.GetOutputWatermarks())) {
			wm := window.FromTime(app.GetOutputWatermarks()[local].AsTime())
			if i == 0 || wm < c.Watermark {
				c.Watermark = wm
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// BundleMetrics implements engine.MetricsReporter.
func (r *remote) BundleMetrics() metrics.Snapshot { return r.metrics }

// Elements implements engine.Processor: the elements the worker read from
// the stage's input in the last bundle, from the element-count monitoring
// info of its response.
func (r *remote) Elements() map[string]int64 {
	return map[string]int64{r.wiring.Source.Transform: r.read}
}

// Teardown implements engine.Processor; the worker keeps its operators
// for later bundles and tears them down when it stops.
func (r *remote) Teardown(context.Context) error { return nil }

// sides serves a bundle's side inputs over the state API.
type sides struct {
	data   engine.SideInputData
	desc   *fnpb.ProcessBundleDescriptor
	wiring *plan.Wiring
}

// ReadState implements service.StateReader for iterable side inputs and
// for the values of one key, or the distinct keys, of multimap side
// inputs.
func (s *sides) ReadState(key *fnpb.StateKey) ([]byte, error) {
	r, err := s.OpenState(key)
	if err != nil || r.Size() == 0 {
		return nil, err
	}
	out := make([]byte, r.Size())
	if _, err := r.ReadAt(out, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("portable: side input: %w", err)
	}
	return out, nil
}

// OpenState implements service.StateOpener: an iterable side input is read
// in pages from the engine's dataset (engine.SideInputOpener), never whole;
// a multimap's answer is computed from the contents read whole.
func (s *sides) OpenState(key *fnpb.StateKey) (*io.SectionReader, error) {
	var transform, local string
	var win []byte
	switch {
	case key.GetIterableSideInput() != nil:
		k := key.GetIterableSideInput()
		transform, local, win = k.GetTransformId(), k.GetSideInputId(), k.GetWindow()
	case key.GetMultimapSideInput() != nil:
		k := key.GetMultimapSideInput()
		transform, local, win = k.GetTransformId(), k.GetSideInputId(), k.GetWindow()
	case key.GetMultimapKeysSideInput() != nil:
		k := key.GetMultimapKeysSideInput()
		transform, local, win = k.GetTransformId(), k.GetSideInputId(), k.GetWindow()
	default:
		return nil, fmt.Errorf("portable: state key %T is not supported", key.GetType())
	}
	if s.data == nil {
		return nil, errors.New("portable: the stage has no side inputs")
	}
	for _, port := range s.wiring.SideInputs {
		if port.Transform != transform || port.Local != local {
			continue
		}
		w, err := decodeWindow(s.desc.GetCoders()[port.WindowCoder], win)
		if err != nil {
			return nil, fmt.Errorf("portable: side input %s of %s: %w", local, transform, err)
		}
		contents, err := s.open(transform, local, w)
		if err != nil || key.GetIterableSideInput() != nil {
			return contents, err
		}
		out, err := s.multimap(port, contents, key)
		if err != nil {
			return nil, fmt.Errorf("portable: multimap side input %s of %s: %w", local, transform, err)
		}
		return io.NewSectionReader(bytes.NewReader(out), 0, int64(len(out))), nil
	}
	return nil, fmt.Errorf("portable: no side input %s of transform %s", local, transform)
}

// open returns a reader of the contents of a side input in window w: the
// engine's dataset, read in place if the engine can open it.
func (s *sides) open(transform, local string, w window.Window) (*io.SectionReader, error) {
	if o, ok := s.data.(engine.SideInputOpener); ok {
		return o.OpenSideInput(context.Background(), transform, local, w)
	}
	all, err := s.data.SideInput(context.Background(), transform, local, w)
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(bytes.NewReader(all), 0, int64(len(all))), nil
}

// multimapChunk is how much of a multimap side input is read at a time to
// answer a key.
const multimapChunk = 256 << 10

// multimap selects from contents, the concatenated KV elements of a
// multimap side input, the values of the key the state key names, or the
// distinct keys if it is a keys request. It reads the contents a chunk at
// a time, so that a large side input is never held whole.
func (s *sides) multimap(port plan.SideInputPort, contents *io.SectionReader, key *fnpb.StateKey) ([]byte, error) {
	spec, err := decode.CoderSpec(s.desc.GetCoders(), port.Coder)
	if err != nil {
		return nil, err
	}
	if spec.URN != urns.CoderKV || len(spec.Components) != 2 {
		return nil, fmt.Errorf("element coder is %s, want a KV coder", spec.URN)
	}
	kc, err := coder.FromSpec(spec.Components[0])
	if err != nil {
		return nil, err
	}
	vc, err := coder.FromSpec(spec.Components[1])
	if err != nil {
		return nil, err
	}
	want := key.GetMultimapSideInput().GetKey()
	keysOnly := key.GetMultimapKeysSideInput() != nil
	var out []byte
	seen := map[string]bool{}
	var buf []byte
	for off := int64(0); ; {
		rest, err := eachKV(buf, kc, vc, func(k, v []byte) {
			switch {
			case keysOnly:
				if !seen[string(k)] {
					seen[string(k)] = true
					out = append(out, k...)
				}
			case bytes.Equal(k, want):
				out = append(out, v...)
			}
		})
		// An element the chunk cuts short is completed by the next.
		if err != nil && (off == contents.Size() || !errors.Is(err, io.ErrUnexpectedEOF)) {
			return nil, err
		}
		if off == contents.Size() {
			return out, nil
		}
		n := min(max(multimapChunk, 2*int64(len(rest))), contents.Size()-off)
		next := make([]byte, int64(len(rest))+n)
		copy(next, rest)
		if _, err := contents.ReadAt(next[len(rest):], off); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		buf, off = next, off+n
	}
}

// eachKV calls fn with the key and value encodings of each whole KV
// element at the front of b, and returns the rest of b, with the error
// that stopped it there.
func eachKV(b []byte, kc, vc coder.Any, fn func(k, v []byte)) ([]byte, error) {
	for len(b) > 0 {
		n, err := kc.Skip(b)
		if err != nil {
			return b, fmt.Errorf("key: %w", err)
		}
		m, err := vc.Skip(b[n:])
		if err != nil {
			return b, fmt.Errorf("value: %w", err)
		}
		fn(b[:n], b[n:n+m])
		b = b[n+m:]
	}
	return b, nil
}

var _ service.StateOpener = (*sides)(nil)

// decodeWindow decodes a window with a global or interval window coder.
func decodeWindow(c *pipepb.Coder, b []byte) (window.Window, error) {
	var wc coder.Coder[window.Window]
	switch urn := c.GetSpec().GetUrn(); urn {
	case urns.CoderGlobalWindow:
		wc = coder.GlobalWindow()
	case urns.CoderIntervalWindow:
		wc = coder.IntervalWindow()
	default:
		return window.Window{}, fmt.Errorf("window coder %q is not supported", urn)
	}
	w, n, err := wc.Decode(b)
	if err != nil {
		return window.Window{}, err
	}
	if n != len(b) {
		return window.Window{}, fmt.Errorf("%d trailing bytes after the window", len(b)-n)
	}
	return w, nil
}

// metricsOf converts a bundle's monitoring infos into user metrics keyed by
// transform unique name, and returns the elements read from the source
// transform src.
func metricsOf(infos []*pipepb.MonitoringInfo, transforms map[string]*pipepb.PTransform, src string) (metrics.Snapshot, int64, error) {
	m, err := monitoring.UserMetrics(infos, transforms)
	if err != nil {
		return m, 0, err
	}
	var read int64
	for _, mi := range infos {
		if mi.GetUrn() == urns.MetricElementCount && isOutputOf(transforms[src], mi.GetLabels()[urns.LabelPCollection]) {
			if v, err := monitoring.ReadVarints(mi.GetPayload(), 1); err == nil {
				read += v[0]
			}
		}
	}
	return m, read, nil
}

// isOutputOf reports whether pc is an output of t.
func isOutputOf(t *pipepb.PTransform, pc string) bool {
	for _, o := range t.GetOutputs() {
		if o == pc {
			return true
		}
	}
	return false
}

// permanentText is a worker's error that user code marked permanent
// (operator.PermanentError), which crossed the Fn API as text: the
// engine does not retry it.
type permanentText struct{ error }

// Permanent reports true.
func (permanentText) Permanent() bool { return true }

// Unwrap returns the error.
func (e permanentText) Unwrap() error { return e.error }
