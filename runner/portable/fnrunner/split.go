package fnrunner

import (
	"context"
	"fmt"
	"sync"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"

	"github.com/beamgo-dev/beamgo/runner/internal/engine"
)

// splitTimeout bounds a process_bundle_split round trip.
const splitTimeout = 10 * time.Second

// splitBackoff is how long a bundle whose worker refused a split is not
// asked again.
const splitBackoff = 100 * time.Millisecond

// minSplitAge is how long a bundle runs on its worker before it is offered
// for splitting. A split of a bundle that is about to finish buys nothing,
// and some SDKs cannot take every split their own trackers offer: Beam Go's
// textio sizes a compressed file's restriction in compressed bytes but
// claims offsets of the decompressed text, so the residual of a small
// .gz file, split at half its compressed size, begins past the end of its
// text and fails the job ("TextIO restriction lies outside the file being
// read"). Prism never splits such a bundle because it splits only bundles
// that made no progress between two of its 100ms progress ticks; we keep
// splitting progressing reads, which makes the long ones faster, but only
// once they have outlived one progress interval.
const minSplitAge = progressInterval

// remoteSplitter splits a bundle running on a worker with
// process_bundle_split requests: it is the engine.BundleSplitter the
// remote processor registers for each bundle.
type remoteSplitter struct {
	r    *remote
	inst string
	src  string
	// progress, if set, asks the worker how far it read the bundle's
	// input before a split is requested (see TrySplitBundle).
	progress *progressWatch
	// started is when the bundle was sent to the worker; now is the clock
	// (time.Now, but for tests).
	started time.Time
	now     func() time.Time

	// mu guards the fields below; idle is signaled when inflight drops
	// to 0.
	mu      sync.Mutex
	idle    *sync.Cond
	asked   int
	refused time.Time
	// inflight counts split requests under way; after closed, no new one
	// starts.
	inflight int
	closed   bool
	// bad is a split answer that could not be applied: the worker may
	// have dropped input the engine cannot hand to another bundle, so the
	// bundle fails (and is retried whole).
	bad error
	// read is set once the worker has processed every input element of
	// the bundle: nothing of it is left to split.
	read bool
}

// wait waits for the split requests under way and returns an answer that
// could not be applied.
func (s *remoteSplitter) wait() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for s.inflight > 0 {
		s.idle.Wait()
	}
	return s.bad
}

func newRemoteSplitter(r *remote, inst, src string, progress *progressWatch) *remoteSplitter {
	s := &remoteSplitter{r: r, inst: inst, src: src, progress: progress, started: time.Now(), now: time.Now}
	s.idle = sync.NewCond(&s.mu)
	return s
}

// Progress implements operator.SplitTracker. A worker's progress inside its
// bundle is not known without asking, so every bundle offers one unit of
// remaining work, except before it is minSplitAge old, shortly after its
// worker refused to split it, and once its worker processed all of its
// input.
func (s *remoteSplitter) Progress() (done, remaining float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.read || now.Sub(s.started) < minSplitAge || now.Sub(s.refused) < splitBackoff {
		return 0, 0
	}
	return 0, 1
}

// TrySplit implements operator.SplitTracker; the engine splits remote bundles
// through TrySplitBundle.
func (s *remoteSplitter) TrySplit(float64) (primary, residual []byte, ok bool) {
	return nil, nil, false
}

// TrySplitBundle implements engine.BundleSplitter: it asks the worker to
// split the bundle's input channel (and the restriction in progress), and
// turns the answer into the engine's terms.
//
// First it asks the worker's progress, unless the bundle is known to be
// read: Beam Go's harness counts an element as read once it is processed,
// so a read index at elements says that nothing is left to split. Such a
// bundle is not asked to split: Beam Go's harness would hold the bundle
// for half a second waiting for an element in progress, and then answer
// with a channel split past the end of the input (which bundleSplitOf
// takes as nothing to split, too). The other harnesses report the index
// of the element in progress, below elements.
func (s *remoteSplitter) TrySplitBundle(fraction float64, elements int64) (engine.BundleSplit, bool) {
	s.mu.Lock()
	if s.closed || s.read {
		s.mu.Unlock()
		return engine.BundleSplit{}, false
	}
	s.inflight++
	s.asked++
	id := fmt.Sprintf("%s-split-%d", s.inst, s.asked)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		if s.inflight == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), splitTimeout)
	defer cancel()
	if s.progress != nil {
		if index, err := s.progress.ask(ctx); err == nil && index >= elements {
			s.setRead()
			return engine.BundleSplit{}, false
		}
	}
	resp, err := s.r.w.Instruct(ctx, &fnpb.InstructionRequest{InstructionId: id, Request: &fnpb.InstructionRequest_ProcessBundleSplit{
		ProcessBundleSplit: &fnpb.ProcessBundleSplitRequest{InstructionId: s.inst, DesiredSplits: map[string]*fnpb.ProcessBundleSplitRequest_DesiredSplit{
			s.src: {FractionOfRemainder: fraction, EstimatedInputElements: elements},
		}},
	}})
	if err == nil && resp.GetError() != "" {
		err = fmt.Errorf("worker %s: %s", s.r.w.ID(), resp.GetError())
	}
	var sp engine.BundleSplit
	var read bool
	if err == nil {
		sp, read, err = bundleSplitOf(resp.GetProcessBundleSplit(), s.src, elements)
	}
	if read {
		s.setRead()
		return engine.BundleSplit{}, false
	}
	// A channel split at the end of the input, with no element split,
	// keeps everything: a refusal too (Beam Go answers so for an element
	// it cannot split), which is not asked again at once.
	kept := sp.FirstResidual == elements && sp.Split < 0
	if err != nil || sp.FirstResidual < 0 || kept {
		s.mu.Lock()
		s.refused = s.now()
		if err != nil && s.bad == nil {
			s.bad = fmt.Errorf("split of bundle %s: %w", s.inst, err)
		}
		s.mu.Unlock()
		return engine.BundleSplit{}, false
	}
	return sp, true
}

// setRead records that the worker processed all of the bundle's input.
func (s *remoteSplitter) setRead() {
	s.mu.Lock()
	s.read = true
	s.mu.Unlock()
}

// bundleSplitOf reads a split response for the input from transform src
// of a bundle of elements input elements: its channel split, and the
// primary and residual roots of the element the worker split (the one
// between the channel split's last primary and first residual elements).
// No channel split for src means no split (FirstResidual -1); an answer
// that does not add up is an error.
//
// A channel split past the end of the input, with no roots, says that the
// worker had already processed all of it (read): Beam Go's harness splits
// at the element after the one its read index names, which is past the
// last element once that is done. The worker keeps everything, so there
// is nothing to split. Prism reads such an answer so, too.
func bundleSplitOf(resp *fnpb.ProcessBundleSplitResponse, src string, elements int64) (sp engine.BundleSplit, read bool, err error) {
	var ch *fnpb.ProcessBundleSplitResponse_ChannelSplit
	for _, c := range resp.GetChannelSplits() {
		if c.GetTransformId() == src {
			ch = c
		}
	}
	roots := len(resp.GetPrimaryRoots()) > 0 || len(resp.GetResidualRoots()) > 0
	if ch == nil {
		if roots {
			return engine.BundleSplit{}, false, fmt.Errorf("split roots without a channel split of %s", src)
		}
		return engine.BundleSplit{FirstResidual: -1}, false, nil
	}
	first, last := ch.GetFirstResidualElement(), ch.GetLastPrimaryElement()
	if first > elements && first == last+1 && !roots {
		return engine.BundleSplit{FirstResidual: -1}, true, nil
	}
	if first < 0 || first > elements {
		return engine.BundleSplit{}, false, fmt.Errorf("channel split of %s at %d, outside the bundle's %d elements", src, first, elements)
	}
	sp = engine.BundleSplit{FirstResidual: first, Split: -1}
	if !roots {
		if first != last+1 {
			return engine.BundleSplit{}, false, fmt.Errorf("channel split of %s: first residual %d does not follow last primary %d", src, first, last)
		}
		return sp, false, nil
	}
	if first != last+2 {
		return engine.BundleSplit{}, false, fmt.Errorf("channel split of %s with roots: first residual %d, last primary %d, want one split element between", src, first, last)
	}
	sp.Split = last + 1
	for _, p := range resp.GetPrimaryRoots() {
		sp.Primary = append(sp.Primary, p.GetElement()...)
	}
	for _, r := range resp.GetResidualRoots() {
		sp.Residual = append(sp.Residual, r.GetApplication().GetElement())
	}
	return sp, false, nil
}
