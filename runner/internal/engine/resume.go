package engine

import (
	"context"
	"time"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// queueResiduals queues the work that bundle b's elements checkpointed as
// new bundles of the stage: residuals resumed at once together, as one
// bundle or in a waiting one (see joinable), and each delayed one on its
// own, not before its resume time. A residual holds the stage's
// watermarks at the watermark its DoFn reported, or, without one, at the
// earlier of b's and its own timestamp. A draining job drops them: the
// reads are truncated. j.mu is held.
func (s *stage) queueResiduals(b *bundleWork, residuals []operator.Checkpoint) {
	if len(residuals) == 0 {
		return
	}
	if s.j.draining {
		s.j.truncated += len(residuals)
		return
	}
	now := time.Now()
	var soon *bundleWork
	for _, c := range residuals {
		hold := c.Watermark
		if hold <= window.MinTime {
			hold = min(b.minTs, timestampOf(c.Residual))
		}
		if c.ResumeAfter <= 0 {
			if soon == nil {
				soon = s.joinable(b, residuals)
			}
			if soon == nil {
				soon = &bundleWork{minTs: window.MaxTime, checkpoint: true}
				s.queue = append(s.queue, soon)
			}
			soon.elems = append(soon.elems, c.Residual)
			soon.minTs = min(soon.minTs, hold)
			continue
		}
		s.queue = append(s.queue, &bundleWork{elems: [][]byte{c.Residual}, minTs: hold, checkpoint: true, notBefore: now.Add(c.ResumeAfter)})
	}
}

// joinable returns the queued bundle that the residuals of bundle b
// resumed at once join, or nil for a bundle of their own. Once at least
// as many bundles of the read are queued or running as there are workers,
// they join the queued bundle of such residuals with the fewest elements,
// if it can take them all within a share of the read's elements: the
// elements divided by the workers, rounded up, and at most
// maxJoinedTurns. The turns of an unbounded read's partitions thus gather
// into about one bundle per worker, where each bundle's residuals made a
// bundle again for ever: the Reshuffle before a read cuts its partitions
// into twice as many bundles as workers, and a lifted combine's
// precombine sums a key's values within a bundle, so that in the bids
// benchmark's round-robin partitions 3.35 element-windows per bid reached
// the GroupByKey, and 2.45 now (and the bundles of one turn that delayed
// residuals leave behind gather again). The bundles of a read never
// number fewer than the workers, so that all may read, and the share
// keeps them even, so that no partition's turns come much less often
// than another's (the watermark waits for the slowest). A bundle holds
// at most one turn of each partition, since a partition's next turn is
// its residual. Residuals with a resume delay (a caught-up partition,
// polled again later) join nothing: bundles gather where partitions are
// read at full speed. j.mu is held.
func (s *stage) joinable(b *bundleWork, residuals []operator.Checkpoint) *bundleWork {
	n := 0
	for _, c := range residuals {
		if c.ResumeAfter <= 0 {
			n++
		}
	}
	waiting, elems := 0, n
	for _, q := range s.queue {
		if joins(q) {
			waiting++
			elems += len(q.elems)
		}
	}
	workers := max(s.j.opts.Parallelism, 1)
	if waiting == 0 || waiting+len(s.running)-1 < workers {
		return nil
	}
	for r := range s.running {
		if r != b {
			r.mu.Lock() // a dynamic split may cut a running bundle's elements
			elems += len(r.elems)
			r.mu.Unlock()
		}
	}
	most := min((elems+workers-1)/workers, maxJoinedTurns)
	var best *bundleWork
	for _, q := range s.queue {
		if joins(q) && len(q.elems)+n <= most && (best == nil || len(q.elems) < len(best.elems)) {
			best = q
		}
	}
	return best
}

// joins reports whether residuals may join queued bundle q: one of
// residuals that may start now (queueResiduals makes them, and restoring
// a checkpoint, always of elements in memory).
func joins(q *bundleWork) bool {
	return q.checkpoint && q.notBefore.IsZero()
}

// maxJoinedTurns bounds the turns that residuals joining a bundle gather
// in it: a bundle commits its partitions' records, and releases their
// watermark holds, only once all its turns are read, each up to an
// unbounded read's MaxReadTime. (Joining matters where the Reshuffle's
// cut left a few turns per bundle; with many partitions a bundle holds
// many turns already.)
const maxJoinedTurns = 8

// ready reports whether bundle b may start at now.
func (b *bundleWork) ready(now time.Time) bool {
	return b.notBefore.IsZero() || !now.Before(b.notBefore)
}

// firstReady returns the index in the stage's queue of the first bundle
// that may start now, or -1; j.mu is held.
func (s *stage) firstReady() int {
	var now time.Time
	for i, b := range s.queue {
		if b.notBefore.IsZero() {
			return i
		}
		if now.IsZero() {
			now = time.Now()
		}
		if b.ready(now) {
			return i
		}
	}
	return -1
}

// nextResume returns the earliest resume time of the job's delayed
// bundles, or the zero time if none waits; j.mu is held.
func (j *job) nextResume() time.Time {
	var first time.Time
	for _, s := range j.stages {
		for _, b := range s.queue {
			if !b.notBefore.IsZero() && (first.IsZero() || b.notBefore.Before(first)) {
				first = b.notBefore
			}
		}
	}
	return first
}

// armResume arms a wake-up for the earliest delayed bundle, keeping an
// earlier one that is armed already; it reports whether a bundle waits.
// j.mu is held.
func (j *job) armResume() bool {
	at := j.nextResume()
	if at.IsZero() {
		return false
	}
	if j.resumeWake != nil && !j.resumeAt.After(at) {
		return true
	}
	if j.resumeWake != nil {
		j.resumeWake.Stop()
	}
	j.resumeAt = at
	j.resumeWake = time.AfterFunc(time.Until(at), func() {
		j.mu.Lock()
		j.resumeWake = nil
		j.cond.Broadcast()
		j.mu.Unlock()
	})
	return true
}

// watchDrain drains the job once Options.Drain is closed, until ctx is
// done: checkpointed work queued now is dropped, and later checkpoints
// are dropped as their bundles commit.
func (j *job) watchDrain(ctx context.Context) {
	if j.opts.Drain == nil {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-j.opts.Drain:
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.draining = true
	for _, s := range j.stages {
		kept := s.queue[:0]
		for _, b := range s.queue {
			if b.checkpoint {
				j.truncated += len(b.elems)
				continue
			}
			kept = append(kept, b)
		}
		clear(s.queue[len(kept):])
		s.queue = kept
	}
	j.refresh()
	j.cond.Broadcast()
}

// finalize calls a committed bundle's finalizers; their errors are
// reported through Options.Logf, since the output they acknowledge is
// committed and cannot be taken back.
func (s *stage) finalize(ctx context.Context, fs []func(context.Context) error) {
	for _, f := range fs {
		if err := f(context.WithoutCancel(ctx)); err != nil && s.j.opts.Logf != nil {
			s.j.opts.Logf("%s: %s: bundle finalization: %v", s.j.opts.Prefix, s.label(), err)
		}
	}
}
