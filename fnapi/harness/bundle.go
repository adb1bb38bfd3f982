package harness

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/fnapi/exec"
	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// descEntry is a registered or fetched descriptor; ready is closed once d
// or err is set.
type descEntry struct {
	ready chan struct{}
	d     *descriptor
	err   error
}

// descriptor is a ProcessBundleDescriptor with what the harness derives
// from it, and its idle processors.
type descriptor struct {
	pb       *fnpb.ProcessBundleDescriptor
	sources  []*port
	sinks    []*port
	stateURL string
	// timers are the timer families of the descriptor's ParDos, which
	// travel on the data plane of timerURL.
	timers   []timerFamily
	timerURL string
	// idByName maps transform unique names to descriptor ids, for the
	// PTRANSFORM label of user metrics.
	idByName map[string]string

	// recodeOnce computes the port recoders from the first processor.
	recodeOnce sync.Once
	recodeErr  error

	// mu guards the fields below.
	mu           sync.Mutex
	idle         []*exec.Processor
	sideRecoders map[sideKey]sideRecoderEntry
}

// port is a data source or sink of a descriptor.
type port struct {
	transform   string
	pcollection string
	endpoint    string
	// elem is the runner's element coder; interval tells the window coder.
	elem     coder.Spec
	interval bool
	// rec recodes between the runner's element coder and this SDK's (nil
	// if they agree): runner to SDK for sources, SDK to runner for sinks.
	rec *portRecoder
	// back recodes a source's elements from this SDK's coder to the
	// runner's, for the roots of splits (nil if they agree).
	back *portRecoder
}

type sideKey struct{ transform, local string }

type sideRecoderEntry struct {
	rec recoder
	err error
}

// register caches a descriptor sent with a register instruction.
func (h *harness) register(pb *fnpb.ProcessBundleDescriptor) {
	d, err := newDescriptor(pb)
	e := &descEntry{ready: make(chan struct{}), d: d, err: err}
	close(e.ready)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.descs[pb.GetId()]; !ok {
		h.descs[pb.GetId()] = e
	}
}

// descriptor returns the descriptor id, asking the runner for it the first
// time it is needed if it was not registered.
func (h *harness) descriptor(ctx context.Context, id string) (*descriptor, error) {
	h.mu.Lock()
	e, ok := h.descs[id]
	if !ok {
		e = &descEntry{ready: make(chan struct{})}
		h.descs[id] = e
	}
	h.mu.Unlock()
	if !ok {
		pb, err := h.control.GetProcessBundleDescriptor(ctx, &fnpb.GetProcessBundleDescriptorRequest{ProcessBundleDescriptorId: id})
		if err != nil {
			e.err = fmt.Errorf("harness: get descriptor %s: %w", id, err)
			// Let a later bundle ask again.
			h.mu.Lock()
			delete(h.descs, id)
			h.mu.Unlock()
		} else {
			e.d, e.err = newDescriptor(pb)
		}
		close(e.ready)
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	return e.d, e.err
}

func newDescriptor(pb *fnpb.ProcessBundleDescriptor) (*descriptor, error) {
	d := &descriptor{pb: pb, idByName: map[string]string{}, sideRecoders: map[sideKey]sideRecoderEntry{}}
	d.stateURL = pb.GetStateApiServiceDescriptor().GetUrl()
	var err error
	if d.timers, err = timerFamilies(pb); err != nil {
		return nil, err
	}
	d.timerURL = pb.GetTimerApiServiceDescriptor().GetUrl()
	if len(d.timers) > 0 && d.timerURL == "" {
		return nil, fmt.Errorf("harness: descriptor %s has timer families but no timer API endpoint", pb.GetId())
	}
	ids := make([]string, 0, len(pb.GetTransforms()))
	for id := range pb.GetTransforms() {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		pt := pb.GetTransforms()[id]
		d.idByName[pt.GetUniqueName()] = id
		var pcs map[string]string
		switch pt.GetSpec().GetUrn() {
		case urns.TransformSource:
			pcs = pt.GetOutputs()
		case urns.TransformSink:
			pcs = pt.GetInputs()
		default:
			continue
		}
		if len(pcs) != 1 {
			return nil, fmt.Errorf("harness: descriptor %s: data port %s has %d PCollections, want 1", pb.GetId(), id, len(pcs))
		}
		p := &port{transform: id}
		for _, pc := range pcs {
			p.pcollection = pc
		}
		var rp fnpb.RemoteGrpcPort
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &rp); err != nil {
			return nil, fmt.Errorf("harness: descriptor %s: data port %s: %w", pb.GetId(), id, err)
		}
		p.endpoint = rp.GetApiServiceDescriptor().GetUrl()
		if p.endpoint == "" {
			return nil, fmt.Errorf("harness: descriptor %s: data port %s has no endpoint", pb.GetId(), id)
		}
		wv, err := decode.CoderSpec(pb.GetCoders(), rp.GetCoderId())
		if err != nil {
			return nil, fmt.Errorf("harness: descriptor %s: data port %s: %w", pb.GetId(), id, err)
		}
		if wv.URN != urns.CoderWindowedValue || len(wv.Components) != 2 {
			return nil, fmt.Errorf("harness: descriptor %s: data port %s coder is %s, want a windowed value coder", pb.GetId(), id, wv.URN)
		}
		p.elem, p.interval = wv.Components[0], wv.Components[1].URN == urns.CoderIntervalWindow
		if pt.GetSpec().GetUrn() == urns.TransformSource {
			d.sources = append(d.sources, p)
		} else {
			d.sinks = append(d.sinks, p)
		}
	}
	return d, nil
}

// processor returns an idle processor of d, or a new one.
func (h *harness) processor(d *descriptor) (*exec.Processor, error) {
	d.mu.Lock()
	if n := len(d.idle); n > 0 {
		p := d.idle[n-1]
		d.idle = d.idle[:n-1]
		d.mu.Unlock()
		return p, nil
	}
	d.mu.Unlock()
	p, err := exec.New(d.pb, h.g)
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	d.recodeOnce.Do(func() { d.recodeErr = d.portRecoders(p) })
	if d.recodeErr != nil {
		return nil, d.recodeErr
	}
	return p, nil
}

// portRecoders compares the runner's port coders with this SDK's.
func (d *descriptor) portRecoders(p *exec.Processor) error {
	set := func(pt *port, toSDK bool) error {
		ours, ok := p.PortCoder(pt.transform)
		if !ok {
			return fmt.Errorf("harness: descriptor %s: the executor has no data port %s", d.pb.GetId(), pt.transform)
		}
		from, to := pt.elem, ours
		if !toSDK {
			from, to = ours, pt.elem
		}
		rec, err := newPortRecoder(from, to, pt.interval)
		if err != nil {
			return fmt.Errorf("harness: descriptor %s: data port %s: %w", d.pb.GetId(), pt.transform, err)
		}
		pt.rec = rec
		if toSDK && rec != nil {
			if pt.back, err = newPortRecoder(to, from, pt.interval); err != nil {
				return fmt.Errorf("harness: descriptor %s: data port %s: %w", d.pb.GetId(), pt.transform, err)
			}
		}
		return nil
	}
	for _, pt := range d.sources {
		if err := set(pt, true); err != nil {
			return err
		}
	}
	for _, pt := range d.sinks {
		if err := set(pt, false); err != nil {
			return err
		}
	}
	return nil
}

// release returns a processor after a successful bundle.
func (d *descriptor) release(p *exec.Processor) {
	d.mu.Lock()
	d.idle = append(d.idle, p)
	d.mu.Unlock()
}

// drain takes all idle processors.
func (d *descriptor) drain() []*exec.Processor {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.idle
	d.idle = nil
	return out
}

// sideRecoder returns the recoder of side input local of transform from
// the runner's coder of the side input collection (which a runner may have
// wrapped in length prefixes) to this SDK's; nil if they agree.
func (d *descriptor) sideRecoder(h *harness, transform, local string) (recoder, error) {
	k := sideKey{transform, local}
	d.mu.Lock()
	e, ok := d.sideRecoders[k]
	d.mu.Unlock()
	if ok {
		return e.rec, e.err
	}
	e.rec, e.err = d.newSideRecoder(h, transform, local)
	d.mu.Lock()
	d.sideRecoders[k] = e
	d.mu.Unlock()
	return e.rec, e.err
}

func (d *descriptor) newSideRecoder(h *harness, transform, local string) (recoder, error) {
	pt := d.pb.GetTransforms()[transform]
	pc := d.pb.GetPcollections()[pt.GetInputs()[local]]
	if pc == nil {
		return nil, fmt.Errorf("harness: descriptor %s: side input %s of %s has no PCollection", d.pb.GetId(), local, transform)
	}
	from, err := decode.CoderSpec(d.pb.GetCoders(), pc.GetCoderId())
	if err != nil {
		return nil, fmt.Errorf("harness: descriptor %s: side input %s of %s: %w", d.pb.GetId(), local, transform, err)
	}
	t, ok := h.g.ByUniqueName(pt.GetUniqueName())
	if !ok {
		return nil, nil
	}
	for _, in := range t.SideInputs() {
		if in.Local == local {
			rec, err := newRecoder(from, in.Coll.Coder.Spec())
			if err != nil {
				return nil, fmt.Errorf("harness: side input %s of %s: %w", local, transform, err)
			}
			return rec, nil
		}
	}
	return nil, nil
}

// bundle is a running process_bundle instruction.
type bundle struct {
	instruction string
	d           *descriptor
	proc        *exec.Processor
	metrics     *metrics.Store
	splits      splittable

	// mu guards failure.
	mu sync.Mutex
	// failure, set by a split that could not be completed, fails the
	// bundle.
	failure error
}

// fail makes the bundle fail with err when it ends.
func (b *bundle) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failure == nil {
		b.failure = err
	}
}

// failed returns the error fail recorded.
func (b *bundle) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failure
}

// monitoring returns the bundle's metrics so far.
func (b *bundle) monitoring(h *harness) *monitoringData {
	elems := b.proc.Elements()
	var counts []sourceCount
	for _, s := range b.d.sources {
		counts = append(counts, sourceCount{transform: s.transform, pcollection: s.pcollection, elements: elems[s.transform]})
	}
	transformID := func(name string) string {
		if id, ok := b.d.idByName[name]; ok {
			return id
		}
		return name
	}
	return monitoring(h.ids, !h.shortIDsOnly, b.metrics.Snapshot(), transformID, counts)
}

// processBundle runs one bundle and returns the instruction's response.
func (h *harness) processBundle(ctx context.Context, req *fnpb.InstructionRequest) *fnpb.InstructionResponse {
	inst := req.GetInstructionId()
	ctx = withInstruction(ctx, inst)
	resp := &fnpb.InstructionResponse{InstructionId: inst}
	// Whatever happens, data for the instruction is dropped from now on.
	defer h.endInstruction(inst)
	fail := func(err error) *fnpb.InstructionResponse {
		// The error, a panic's stack included, goes back to the runner,
		// which reports it once; the log gets its first line, so that a
		// worker's output does not repeat the stack, escaped, per attempt.
		first, _, _ := strings.Cut(err.Error(), "\n")
		h.logger.ErrorContext(ctx, "harness: bundle failed", "instruction", inst, "error", first)
		resp.Error = err.Error()
		return resp
	}
	d, err := h.descriptor(ctx, req.GetProcessBundle().GetProcessBundleDescriptorId())
	if err != nil {
		return fail(err)
	}
	sources := make([]string, 0, len(d.sources)+len(d.timers))
	for _, p := range d.sources {
		sources = append(sources, p.transform)
	}
	for _, f := range d.timers {
		sources = append(sources, f.stream())
	}
	h.insts.setSources(inst, sources)
	inputs := map[string]iter.Seq2[[]byte, error]{}
	outputs := map[string]*output{}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, p := range d.sources {
		ds, err := h.dataStream(p.endpoint)
		if err != nil {
			return fail(err)
		}
		inputs[p.transform] = ds.input(ctx, inst, p.transform)
	}
	for _, p := range d.sinks {
		ds, err := h.dataStream(p.endpoint)
		if err != nil {
			return fail(err)
		}
		outputs[p.transform] = &output{d: ds, instruction: inst, transform: p.transform}
	}
	var fire iter.Seq2[exec.TimerInput, error]
	var timersOut *timerOutput
	if len(d.timers) > 0 {
		ds, err := h.dataStream(d.timerURL)
		if err != nil {
			return fail(err)
		}
		fire = ds.timers(ctx, inst, d.timers)
		timersOut = &timerOutput{d: ds, instruction: inst, families: d.timers, bufs: map[timerFamily][]byte{}}
	}
	proc, err := h.processor(d)
	if err != nil {
		return fail(err)
	}
	// Recode where the runner's port coders differ from ours.
	for _, p := range d.sources {
		if p.rec != nil {
			inputs[p.transform] = recodeInput(p.rec, inputs[p.transform])
		}
	}
	recs := map[string]*portRecoder{}
	for _, p := range d.sinks {
		recs[p.transform] = p.rec
	}
	b := &bundle{instruction: inst, d: d, proc: proc, metrics: metrics.NewStore()}
	var after resumable
	h.mu.Lock()
	h.active[inst] = b
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.active, inst)
		h.mu.Unlock()
	}()
	err = proc.Process(ctx, exec.Bundle{
		Inputs: inputs,
		Output: func(sink string) func([]byte) error {
			o := outputs[sink]
			if o == nil {
				return func([]byte) error { return fmt.Errorf("harness: descriptor %s has no sink %s", d.pb.GetId(), sink) }
			}
			rec := recs[sink]
			if rec == nil {
				return o.write
			}
			var buf []byte
			return func(b []byte) error {
				var err error
				if buf, err = rec.recode(buf[:0], b); err != nil {
					return err
				}
				return o.write(buf)
			}
		},
		SideInputs: &sideInputs{h: h, d: d, instruction: inst},
		Metrics:    b.metrics,
		Splits:     b.splits.register,
		Checkpoint: after.checkpoint,
		Finalize:   after.finalize,
		State:      &userState{h: h, d: d, instruction: inst},
		Timers:     timersOut.writer(),
		FireTimers: fire,
	})
	if err == nil {
		err = b.failed()
	}
	if err == nil {
		err = h.finishOutputs(outputs, timersOut)
	}
	if err != nil {
		// User state may be inconsistent after a failure: start afresh.
		if terr := proc.Teardown(context.WithoutCancel(ctx)); terr != nil {
			h.logger.Warn("harness: teardown after a failed bundle failed", "instruction", inst, "error", terr)
		}
		return fail(err)
	}
	roots, err := after.residualRoots(d)
	if err != nil {
		return fail(err)
	}
	// Read the counts before another bundle may take the processor.
	m := b.monitoring(h)
	d.release(proc)
	resp.Response = &fnpb.InstructionResponse_ProcessBundle{ProcessBundle: &fnpb.ProcessBundleResponse{
		MonitoringData:       m.payload,
		MonitoringInfos:      m.infos,
		ResidualRoots:        roots,
		RequiresFinalization: h.keepFinalizers(inst, &after),
	}}
	return resp
}

// finishOutputs sends what remains of every output and timer stream
// (timers may be nil), marked last, one message per data stream.
func (h *harness) finishOutputs(outputs map[string]*output, timers *timerOutput) error {
	byStream := map[*dataStream]*fnpb.Elements{}
	var order []*dataStream
	msg := func(d *dataStream) *fnpb.Elements {
		if _, ok := byStream[d]; !ok {
			order = append(order, d)
			byStream[d] = &fnpb.Elements{}
		}
		return byStream[d]
	}
	for _, id := range slices.Sorted(maps.Keys(outputs)) {
		o := outputs[id]
		m := msg(o.d)
		m.Data = append(m.Data, o.last())
	}
	if timers != nil {
		m := msg(timers.d)
		m.Timers = append(m.Timers, timers.last()...)
	}
	for _, ds := range order {
		if err := ds.send(byStream[ds]); err != nil {
			return err
		}
	}
	return nil
}

// recodeInput recodes the chunks of a source's input.
func recodeInput(rec *portRecoder, in iter.Seq2[[]byte, error]) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for chunk, err := range in {
			if err != nil {
				yield(nil, err)
				return
			}
			// A fresh buffer per chunk: decoded elements may alias it.
			buf, err := rec.recode(make([]byte, 0, len(chunk)+len(chunk)/8), chunk)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(buf, nil) {
				return
			}
		}
	}
}
