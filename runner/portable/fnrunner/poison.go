package fnrunner

import (
	"context"
	"crypto/sha256"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"

	"github.com/beamgo-dev/beamgo/fnapi/monitoring"
	"github.com/beamgo-dev/beamgo/fnapi/service"
	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

// A worker that dies mid-bundle (its process killed or crashed) takes the
// element it was processing with it, and nothing the worker could report
// names it. The runner finds it from what the Fn API gives:
//
//   - While a bundle runs, the runner asks the worker for its progress
//     every progressInterval; the data channel read index in the answer
//     is the input element in progress. Elements before the last reported
//     index were done when the worker died.
//   - The bundle is marked suspect, by its stage and first element, with
//     that index. The engine retries it (Options.MaxAttempts); a retry of
//     a suspect bundle runs the elements before the index as one bundle
//     on the worker, then each of the next isolateCount elements as a
//     bundle of its own, then the rest as one bundle. A bundle of one
//     element runs alone on its worker: it waits until the worker's other
//     bundles end, and no other bundle starts there until it ends (gate).
//     If the worker dies in such a bundle, that element is the one, and
//     the error (WorkerDiedError) names it and the transforms that read
//     it. Without the wait, a poison element isolated beside another
//     suspect bundle's isolated element on one worker kills both, and the
//     innocent one may be named.
//
// Splitting one bundle into several on the worker changes nothing the
// engine commits: it commits the attempt's outputs only if all succeed.

// progressInterval is how often the runner asks a worker for the progress
// of a running bundle.
const progressInterval = 100 * time.Millisecond

// isolateCount is how many elements past the last reported index a retry
// of a suspect bundle runs one to a bundle.
const isolateCount = 256

// WorkerDiedError is the error of a bundle attempt whose worker died
// (its process killed or crashed, or its control stream cut) while
// running the bundle. It wraps the worker's error, which wraps
// service.ErrWorkerGone.
type WorkerDiedError struct {
	// Worker is the worker's id; Instruction the bundle's instruction id.
	Worker, Instruction string
	// Transforms are the unique names of the transforms that read the
	// stage's input, whose elements the indexes count.
	Transforms []string
	// Index is the index in the bundle's input of the element the worker
	// was processing when it died, or -1 if that is not known exactly.
	Index int64
	// Element describes that element (its value, decoded with the input
	// coder, possibly shortened).
	Element string
	// LastReported is the index of the element in progress at the
	// worker's last progress report, or -1 if it made none.
	LastReported int64
	// Err is why the worker is gone.
	Err error
}

// Error implements error. It names the transform and the element, not the
// worker and instruction ids, which are in the fields for whoever needs
// them.
func (e *WorkerDiedError) Error() string {
	ts := quoteAll(e.Transforms)
	if e.Index >= 0 {
		return fmt.Sprintf("an SDK worker died processing element #%d (%s) of the input of transform %s: %v",
			e.Index, e.Element, ts, e.Err)
	}
	at := "before its first progress report"
	if e.LastReported >= 0 {
		at = fmt.Sprintf("at or after input element #%d, where its last progress report had it", e.LastReported)
	}
	return fmt.Sprintf("an SDK worker died running a bundle of transform %s, %s (a retry runs the elements from there one to a bundle, to name the one that kills workers): %v",
		ts, at, e.Err)
}

// Unwrap returns Err.
func (e *WorkerDiedError) Unwrap() error { return e.Err }

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// suspectKey identifies a bundle across its attempts: its stage's
// descriptor and a digest of its first input element.
type suspectKey struct {
	desc  string
	first [sha256.Size]byte
}

// markSuspect records that a worker died running the bundle key, with
// the elements before index done.
func (e *executor) markSuspect(key suspectKey, index int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.suspects == nil {
		e.suspects = map[suspectKey]int64{}
	}
	e.suspects[key] = max(index, 0)
}

// suspect returns the index a suspect bundle's retry isolates elements
// from, and whether the bundle is suspect.
func (e *executor) suspect(key suspectKey) (int64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	index, ok := e.suspects[key]
	return index, ok
}

// clearSuspect forgets a bundle that succeeded.
func (e *executor) clearSuspect(key suspectKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.suspects, key)
}

// gate orders the bundles that run on one worker: any number run
// together, except a bundle that must run alone (an isolated element of a
// suspect bundle). That one waits until the bundles running end, and the
// bundles that come after it wait until it ends. A running bundle never
// waits for another bundle to start, so the waits cannot deadlock.
type gate struct {
	mu      sync.Mutex
	running int           // bundles running together
	alone   bool          // a bundle runs alone
	waiting int           // bundles waiting to run alone
	changed chan struct{} // closed and replaced when the above change
}

// enter waits until a bundle may run (alone, if alone is set) and returns
// the function that ends its run, or ctx's error if ctx ends first.
func (g *gate) enter(ctx context.Context, alone bool) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	if alone {
		g.waiting++
	}
	for {
		if alone && !g.alone && g.running == 0 {
			g.waiting--
			g.alone = true
			return func() { g.leave(true) }, nil
		}
		if !alone && !g.alone && g.waiting == 0 {
			g.running++
			return func() { g.leave(false) }, nil
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
			g.mu.Lock()
		case <-ctx.Done():
			g.mu.Lock()
			if alone {
				g.waiting--
				g.signal()
			}
			return nil, ctx.Err()
		}
	}
}

// leave ends a run.
func (g *gate) leave(alone bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if alone {
		g.alone = false
	} else {
		g.running--
	}
	g.signal()
}

// signal wakes the waiters; g.mu is held.
func (g *gate) signal() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// gate returns the gate of worker w.
func (e *executor) gate(w *service.Worker) *gate {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gates == nil {
		e.gates = map[*service.Worker]*gate{}
	}
	g := e.gates[w]
	if g == nil {
		g = &gate{}
		e.gates[w] = g
	}
	return g
}

// pulled reads a bundle's input one element at a time, with one element
// of lookahead, so that it can be cut into parts. It is used by one
// goroutine at a time.
type pulled struct {
	next    func() ([]byte, error, bool)
	head    []byte
	headErr error
	hasHead bool
	ended   bool
}

// peek returns the next element without taking it; ok is false at the
// end of the input.
func (p *pulled) peek() (elem []byte, ok bool, err error) {
	if !p.hasHead && !p.ended {
		p.head, p.headErr, p.hasHead = p.next()
		p.ended = !p.hasHead
	}
	return p.head, p.hasHead, p.headErr
}

// take returns the next n elements (all that remain if n < 0).
func (p *pulled) take(n int64) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for i := int64(0); n < 0 || i < n; i++ {
			e, ok, err := p.peek()
			if !ok {
				return
			}
			p.hasHead = false
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// progressWatch asks a worker for a running bundle's progress every
// progressInterval and keeps the last reported read index of its source.
type progressWatch struct {
	w         *service.Worker
	inst, src string
	asked     atomic.Int64 // progress requests sent: their instruction ids
	index     atomic.Int64 // -1 until a report
	done      chan struct{}
}

// watchProgress starts asking w about instruction inst, whose input
// transform is src, until ctx ends.
func watchProgress(ctx context.Context, w *service.Worker, inst, src string) *progressWatch {
	pw := newProgressWatch(w, inst, src)
	go func() {
		defer close(pw.done)
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := pw.ask(ctx); err != nil {
				return
			}
		}
	}()
	return pw
}

// newProgressWatch returns a watch of instruction inst on w, whose input
// transform is src, with no report yet; nothing asks until watchProgress
// starts it (its done channel closes only then) or ask is called.
func newProgressWatch(w *service.Worker, inst, src string) *progressWatch {
	pw := &progressWatch{w: w, inst: inst, src: src, done: make(chan struct{})}
	pw.index.Store(-1)
	return pw
}

// ask asks the worker for the bundle's progress once, keeps the read
// index it reports if it is the largest yet, and returns the largest
// (-1 if none was ever reported).
func (pw *progressWatch) ask(ctx context.Context) (int64, error) {
	resp, err := pw.w.Instruct(ctx, &fnpb.InstructionRequest{
		InstructionId: fmt.Sprintf("%s-progress-%d", pw.inst, pw.asked.Add(1)),
		Request: &fnpb.InstructionRequest_ProcessBundleProgress{ProcessBundleProgress: &fnpb.ProcessBundleProgressRequest{
			InstructionId: pw.inst,
		}},
	})
	if err != nil {
		return pw.index.Load(), err
	}
	for _, mi := range resp.GetProcessBundleProgress().GetMonitoringInfos() {
		if mi.GetUrn() == urns.MetricDataChannelReadIndex && mi.GetLabels()[urns.LabelTransform] == pw.src {
			if v, err := monitoring.ReadVarints(mi.GetPayload(), 1); err == nil {
				for {
					old := pw.index.Load()
					if v[0] <= old || pw.index.CompareAndSwap(old, v[0]) {
						break
					}
				}
			}
		}
	}
	return pw.index.Load(), nil
}

// readers returns the unique names of the transforms that read the
// output of the stage's source.
func (r *remote) readers() []string {
	ts := r.desc.GetTransforms()
	src := ts[r.wiring.Source.Transform]
	var names []string
	for _, id := range slices.Sorted(maps.Keys(ts)) {
		t := ts[id]
		for _, in := range t.GetInputs() {
			if isOutputOf(src, in) {
				names = append(names, t.GetUniqueName())
				break
			}
		}
	}
	if len(names) == 0 {
		names = []string{src.GetUniqueName()}
	}
	return names
}

// describe decodes an input element for an error message.
func (r *remote) describe(elem []byte) string {
	spec, err := decode.CoderSpec(r.desc.GetCoders(), r.wiring.Source.Coder)
	if err != nil {
		return fmt.Sprintf("%d bytes: %x", len(elem), shorten(elem))
	}
	c, err := coder.FromSpec(spec)
	if err != nil {
		return fmt.Sprintf("%d bytes: %x", len(elem), shorten(elem))
	}
	v, _, err := c.DecodeAny(elem)
	if err != nil {
		return fmt.Sprintf("%d bytes, undecodable (%v): %x", len(elem), err, shorten(elem))
	}
	if wv, ok := v.(window.Value[any]); ok {
		v = wv.Elem
	}
	var s string
	switch x := v.(type) {
	case string:
		s = fmt.Sprintf("%q", x)
	case []byte:
		s = fmt.Sprintf("%q", x)
	default:
		s = fmt.Sprintf("%v", x)
	}
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func shorten(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
