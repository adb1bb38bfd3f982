package harness

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"

	"github.com/beamgo-dev/beamgo/internal/operator"
)

// splittable is the splittable work a running bundle registered: the
// restriction trackers of the input elements in progress.
type splittable struct {
	mu       sync.Mutex
	trackers map[*trackerEntry]struct{}
}

type trackerEntry struct {
	index int64
	t     operator.SplitTracker
}

// register is exec.Bundle.Splits.
func (s *splittable) register(index int64, t operator.SplitTracker) func() {
	e := &trackerEntry{index: index, t: t}
	s.mu.Lock()
	if s.trackers == nil {
		s.trackers = map[*trackerEntry]struct{}{}
	}
	s.trackers[e] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.trackers, e)
		s.mu.Unlock()
	}
}

// at returns the tracker registered for input element index, if any.
func (s *splittable) at(index int64) operator.SplitTracker {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := range s.trackers {
		if e.index == index {
			return e.t
		}
	}
	return nil
}

// split answers a process_bundle_split request: for each data source the
// runner asks about, a channel split of the bundle's input and, when the
// split point falls inside the element in progress and that element is a
// restriction being read, a split of the restriction into primary and
// residual roots. A bundle that is not running here, a source it does not
// have, or a split point past the end of the input get no split.
func (h *harness) split(req *fnpb.ProcessBundleSplitRequest) *fnpb.ProcessBundleSplitResponse {
	resp := &fnpb.ProcessBundleSplitResponse{}
	h.mu.Lock()
	b := h.active[req.GetInstructionId()]
	h.mu.Unlock()
	if b == nil {
		return resp
	}
	for _, src := range b.d.sources {
		desired, ok := req.GetDesiredSplits()[src.transform]
		if !ok {
			continue
		}
		var primary, residual []byte
		first := b.proc.SplitInput(src.transform, func(cur int64) int64 {
			var t operator.SplitTracker
			if len(desired.GetAllowedSplitPoints()) == 0 {
				// Allowed split points restrict us to the channel.
				t = b.splits.at(cur)
			}
			first, p, r := splitPoint(cur, t, desired)
			primary, residual = p, r
			return first
		})
		if first < 0 {
			continue
		}
		if residual != nil {
			var err error
			if primary, residual, err = src.toRunner(primary, residual); err != nil {
				// The element's restriction is split but cannot be
				// handed back: the runner sees a channel split after
				// the whole element, and the bundle fails, so that its
				// retry reads the whole element again.
				b.fail(fmt.Errorf("harness: split of %s: %w", src.transform, err))
				primary, residual = nil, nil
			}
		}
		if residual != nil {
			consumer, input := b.d.consumer(src)
			resp.PrimaryRoots = append(resp.PrimaryRoots, &fnpb.BundleApplication{TransformId: consumer, InputId: input, Element: primary})
			resp.ResidualRoots = append(resp.ResidualRoots, &fnpb.DelayedBundleApplication{
				Application: &fnpb.BundleApplication{TransformId: consumer, InputId: input, Element: residual},
			})
		}
		// With roots, element first-1 is split: neither wholly primary
		// nor residual.
		last := first - 1
		if residual != nil {
			last--
		}
		resp.ChannelSplits = append(resp.ChannelSplits, &fnpb.ProcessBundleSplitResponse_ChannelSplit{
			TransformId: src.transform, LastPrimaryElement: last, FirstResidualElement: first,
		})
	}
	return resp
}

// splitPoint chooses where to split a bundle whose element cur is in
// progress, read through tracker t if it is a restriction (nil if not or
// not splittable), so that the primary keeps about the requested fraction
// of the remaining work. The input is taken to have the runner's estimate
// of elements (at least cur+1). It returns the first residual element
// (-1: no split), and the primary and residual of element cur when the
// split point falls inside it (then first is cur+1).
func splitPoint(cur int64, t operator.SplitTracker, desired *fnpb.ProcessBundleSplitRequest_DesiredSplit) (first int64, primary, residual []byte) {
	frac := desired.GetFractionOfRemainder()
	if frac < 0 || frac >= 1 || math.IsNaN(frac) {
		return -1, nil, nil
	}
	n := max(desired.GetEstimatedInputElements(), cur+1)
	var done float64 // of element cur
	if t != nil {
		d, r := t.Progress()
		if d+r > 0 {
			done = d / (d + r)
		}
	}
	pos := float64(cur) + done
	target := pos + frac*(float64(n)-pos)
	if t != nil && target < float64(cur+1) && done < 1 {
		if p, r, ok := t.TrySplit((target - pos) / (1 - done)); ok {
			return cur + 1, p, r
		}
	}
	first = max(int64(math.Ceil(target)), cur+1)
	if allowed := desired.GetAllowedSplitPoints(); len(allowed) > 0 {
		sorted := slices.Sorted(slices.Values(allowed))
		i, _ := slices.BinarySearch(sorted, first)
		if i == len(sorted) {
			return -1, nil, nil
		}
		first = sorted[i]
	}
	if first >= n {
		return -1, nil, nil
	}
	return first, nil, nil
}

// consumer returns the transform that reads the source port's PCollection
// in the descriptor and the local name of that input.
func (d *descriptor) consumer(src *port) (transform, input string) {
	for _, id := range slices.Sorted(maps.Keys(d.pb.GetTransforms())) {
		if id == src.transform {
			continue
		}
		for local, pc := range d.pb.GetTransforms()[id].GetInputs() {
			if pc == src.pcollection {
				return id, local
			}
		}
	}
	return src.transform, "out"
}

// toRunner recodes the roots of a split from this SDK's coding to the
// runner's.
func (p *port) toRunner(primary, residual []byte) ([]byte, []byte, error) {
	if p.back == nil {
		return primary, residual, nil
	}
	pr, err := p.back.recode(nil, primary)
	if err != nil {
		return nil, nil, err
	}
	rr, err := p.back.recode(nil, residual)
	if err != nil {
		return nil, nil, err
	}
	return pr, rr, nil
}
