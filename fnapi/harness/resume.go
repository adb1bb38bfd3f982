package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// finalizeTTL is how long the harness keeps a committed bundle's
// finalizers waiting for the runner's FinalizeBundle request; a runner that
// never sends it (it need not) must not make them pile up.
const finalizeTTL = 10 * time.Minute

// resumable collects what a bundle leaves for after it: the rest of
// checkpointed elements and the finalizers to run once the runner has
// committed the bundle.
type resumable struct {
	mu          sync.Mutex
	checkpoints []operator.Checkpoint
	finalizers  []func(context.Context) error
}

func (r *resumable) checkpoint(c operator.Checkpoint) {
	r.mu.Lock()
	r.checkpoints = append(r.checkpoints, c)
	r.mu.Unlock()
}

func (r *resumable) finalize(f func(context.Context) error) {
	r.mu.Lock()
	r.finalizers = append(r.finalizers, f)
	r.mu.Unlock()
}

// residualRoots returns the checkpoints as residual roots of the
// descriptor's one data source, in the runner's coding, with the delay
// they ask for and their watermark as the output watermark of every
// output of the reading transform.
func (r *resumable) residualRoots(d *descriptor) ([]*fnpb.DelayedBundleApplication, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.checkpoints) == 0 {
		return nil, nil
	}
	if len(d.sources) != 1 {
		return nil, fmt.Errorf("harness: a DoFn checkpointed in a bundle with %d data sources; checkpoints need exactly one", len(d.sources))
	}
	src := d.sources[0]
	consumer, input := d.consumer(src)
	outputs := d.pb.GetTransforms()[consumer].GetOutputs()
	roots := make([]*fnpb.DelayedBundleApplication, 0, len(r.checkpoints))
	for _, c := range r.checkpoints {
		elem := c.Residual
		if src.back != nil {
			var err error
			if elem, err = src.back.recode(nil, elem); err != nil {
				return nil, fmt.Errorf("harness: checkpoint of %s: %w", consumer, err)
			}
		}
		app := &fnpb.BundleApplication{TransformId: consumer, InputId: input, Element: elem}
		if c.Watermark > window.MinTime {
			app.OutputWatermarks = map[string]*timestamppb.Timestamp{}
			for local := range outputs {
				app.OutputWatermarks[local] = timestamppb.New(c.Watermark.ToTime())
			}
		}
		root := &fnpb.DelayedBundleApplication{Application: app}
		if c.ResumeAfter > 0 {
			root.RequestedTimeDelay = durationpb.New(c.ResumeAfter)
		}
		roots = append(roots, root)
	}
	return roots, nil
}

// pendingFinal is a committed-to-be bundle's finalizers.
type pendingFinal struct {
	fs    []func(context.Context) error
	added time.Time
}

// keepFinalizers keeps the finalizers of bundle inst until the runner asks
// to run them, and reports whether there were any; it forgets those older
// than finalizeTTL.
func (h *harness) keepFinalizers(inst string, r *resumable) bool {
	r.mu.Lock()
	fs := r.finalizers
	r.mu.Unlock()
	if len(fs) == 0 {
		return false
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finals == nil {
		h.finals = map[string]pendingFinal{}
	}
	for id, p := range h.finals {
		if now.Sub(p.added) > finalizeTTL {
			delete(h.finals, id)
		}
	}
	h.finals[inst] = pendingFinal{fs: fs, added: now}
	return true
}

// finalizeBundle runs the finalizers of bundle inst, once; it returns the
// first error.
func (h *harness) finalizeBundle(ctx context.Context, inst string) error {
	h.mu.Lock()
	p, ok := h.finals[inst]
	delete(h.finals, inst)
	h.mu.Unlock()
	if !ok {
		return nil
	}
	var first error
	for _, f := range p.fs {
		if err := f(ctx); err != nil && first == nil {
			first = fmt.Errorf("harness: finalizing bundle %s: %w", inst, err)
		}
	}
	return first
}
