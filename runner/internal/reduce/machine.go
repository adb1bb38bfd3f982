package reduce

import (
	"math"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// The trigger state machines follow Java's runners-core ones
// (TriggerStateMachine and its subclasses): shouldFire is pure, onFire moves
// the state on, and each node carries a finished bit. The window is closed
// when the root is finished. State lives in a []nodeState per key+window,
// indexed like the compiled nodes, so evaluating a trigger allocates nothing.

// nodeState is the state of one trigger node in one key+window.
type nodeState struct {
	delay    window.Time // AfterProcessingTime: target, valid when armed
	count    int32       // AfterCount: elements since the last reset (see addCount)
	armed    bool
	finished bool
	// queued is set only while Snapshot runs: the node's processing-time
	// timer is in the heap.
	queued bool
}

// addCount adds n to an AfterCount node's count, saturating at MaxInt32:
// counts are 32 bits, so that a window's trigger states take less of the
// cache (a node is 16 bytes), and a count that reached MaxInt32 is at or
// past every count a trigger can ask for (window.Strategy validates them).
func addCount(c, n int32) int32 {
	if s := int64(c) + int64(n); s < math.MaxInt32 {
		return int32(s)
	}
	return math.MaxInt32
}

// armedTimer is a processing-time target a node set while being evaluated.
type armedTimer struct {
	node int32
	t    window.Time
}

// tctx is the context of one trigger evaluation.
type tctx struct {
	nodes   []node
	st      []nodeState
	iw, pt  window.Time // input watermark, processing time
	maxTs   window.Time // the window's maximum timestamp
	merging bool
	armed   []armedTimer // out: processing-time timers set
}

func (c *tctx) eowReached() bool { return c.iw > c.maxTs }

func (c *tctx) onElement(i int32) {
	nd, s := &c.nodes[i], &c.st[i]
	switch nd.kind {
	case kWatermarkEarlyLate:
		early, late := nd.subs[0], nd.subs[1]
		switch {
		case c.merging:
			// A merge may move the window back to the early phase, so both
			// phases keep their state (as Java's AfterWatermark does).
			c.onElement(early)
			if late >= 0 {
				c.onElement(late)
			}
		case !c.st[early].finished:
			c.onElement(early)
		case late >= 0:
			c.onElement(late)
		}
	case kCount:
		s.count = addCount(s.count, 1)
	case kProcessingTime:
		if !s.armed {
			t := c.pt
			for _, tr := range nd.transforms {
				t = tr.apply(t)
			}
			s.delay, s.armed = t, true
			c.armed = append(c.armed, armedTimer{i, t})
		}
	case kEach:
		if c.merging {
			// Merging may un-finish an earlier sub-trigger, so all of them
			// keep counting (as Java's AfterEach does).
			for _, k := range nd.subs {
				c.onElement(k)
			}
		} else if k := c.firstUnfinished(i); k >= 0 {
			c.onElement(k)
		}
	case kRepeat, kAny, kAll, kOrFinally:
		for _, k := range nd.subs {
			if !c.st[k].finished {
				c.onElement(k)
			}
		}
	}
}

func (c *tctx) firstUnfinished(i int32) int32 {
	for _, k := range c.nodes[i].subs {
		if !c.st[k].finished {
			return k
		}
	}
	return -1
}

func (c *tctx) shouldFire(i int32) bool {
	nd, s := &c.nodes[i], &c.st[i]
	switch nd.kind {
	case kDefault, kEndOfWindow:
		return c.eowReached()
	case kWatermarkEarlyLate:
		if !c.st[nd.subs[0]].finished {
			return c.eowReached() || c.shouldFire(nd.subs[0])
		}
		return nd.subs[1] >= 0 && c.shouldFire(nd.subs[1])
	case kCount:
		return int64(s.count) >= nd.n
	case kProcessingTime:
		return s.armed && c.pt >= s.delay
	case kAlways:
		return true
	case kNever:
		return false
	case kRepeat:
		return c.shouldFire(nd.subs[0])
	case kAny:
		for _, k := range nd.subs {
			if c.st[k].finished || c.shouldFire(k) {
				return true
			}
		}
		return false
	case kAll:
		for _, k := range nd.subs {
			if !c.st[k].finished && !c.shouldFire(k) {
				return false
			}
		}
		return true
	case kEach:
		k := c.firstUnfinished(i)
		return k >= 0 && c.shouldFire(k)
	case kOrFinally:
		return c.shouldFire(nd.subs[0]) || c.shouldFire(nd.subs[1])
	}
	return false
}

// onFire is called only when shouldFire(i) holds.
func (c *tctx) onFire(i int32) {
	nd, s := &c.nodes[i], &c.st[i]
	switch nd.kind {
	case kEndOfWindow:
		s.finished = true
	case kWatermarkEarlyLate:
		c.fireWatermark(i)
	case kCount:
		s.count, s.finished = 0, true
	case kProcessingTime:
		s.armed, s.finished = false, true
	case kRepeat:
		k := nd.subs[0]
		c.onFire(k)
		if c.st[k].finished {
			c.reset(k)
		}
	case kAny:
		for _, k := range nd.subs {
			if c.shouldFire(k) {
				c.onFire(k)
			} else {
				c.clear(k)
			}
		}
		s.finished = true
	case kAll:
		for _, k := range nd.subs {
			if !c.st[k].finished {
				c.onFire(k)
			}
		}
		s.finished = true
	case kEach:
		c.onFire(c.firstUnfinished(i))
		if c.merging {
			// Every sub-trigger counted this pane's elements; the pane is gone.
			for _, k := range nd.subs {
				c.clear(k)
			}
		}
		s.finished = c.firstUnfinished(i) < 0
	case kOrFinally:
		main, until := nd.subs[0], nd.subs[1]
		if c.shouldFire(until) {
			c.onFire(until)
			c.clear(main)
			s.finished = true
		} else {
			c.onFire(main)
			s.finished = c.st[main].finished
		}
	}
}

// fireWatermark fires AfterWatermark with early and/or late firings: early
// and late sub-triggers repeat implicitly; reaching the end of the window
// ends the early phase, and without a late trigger the whole trigger.
func (c *tctx) fireWatermark(i int32) {
	nd, s := &c.nodes[i], &c.st[i]
	early, late := nd.subs[0], nd.subs[1]
	switch {
	case !c.st[early].finished && !c.eowReached():
		c.onFire(early)
		c.reset(early)
	case !c.st[early].finished:
		if c.shouldFire(early) {
			c.onFire(early)
		}
		c.reset(early)
		c.st[early].finished = true
		if late < 0 {
			s.finished = true
		} else {
			c.reset(late)
		}
	default:
		c.onFire(late)
		c.reset(late)
	}
}

// clear drops the state of node i and its subtree, keeping finished bits
// (Java invokeClear).
func (c *tctx) clear(i int32) {
	s := &c.st[i]
	s.count, s.armed = 0, false
	for _, k := range c.nodes[i].subs {
		if k >= 0 {
			c.clear(k)
		}
	}
}

// reset clears node i's subtree including its finished bits, so it starts
// over (Java resetTree).
func (c *tctx) reset(i int32) {
	c.st[i] = nodeState{}
	for _, k := range c.nodes[i].subs {
		if k >= 0 {
			c.reset(k)
		}
	}
}

// onMerge computes into c.st (zeroed) the state of node i in a window merged
// from windows whose states are srcs, as Java's onMerge methods do: counts
// sum, the earliest processing-time target wins, a once-trigger finished in
// any merged window is finished, and the watermark trigger is active again
// unless finished everywhere and past the merged window's end.
func (c *tctx) onMerge(i int32, srcs [][]nodeState) {
	nd, s := &c.nodes[i], &c.st[i]
	anyDone, allDone := false, true
	for _, src := range srcs {
		anyDone = anyDone || src[i].finished
		allDone = allDone && src[i].finished
	}
	switch nd.kind {
	case kEndOfWindow:
		s.finished = allDone && c.eowReached()
	case kWatermarkEarlyLate:
		c.mergeWatermark(i, srcs)
	case kCount:
		if anyDone {
			s.finished = true
			return
		}
		for _, src := range srcs {
			s.count = addCount(s.count, src[i].count)
		}
	case kProcessingTime:
		if anyDone {
			s.finished = true
			return
		}
		for _, src := range srcs {
			if src[i].armed && (!s.armed || src[i].delay < s.delay) {
				s.delay, s.armed = src[i].delay, true
			}
		}
		if s.armed {
			c.armed = append(c.armed, armedTimer{i, s.delay})
		}
	case kRepeat:
		c.onMerge(nd.subs[0], srcs)
	case kAny, kAll, kOrFinally:
		// Finished as the merged sub-triggers say: AfterAll when all are,
		// AfterAny and OrFinally when any is.
		s.finished = nd.kind == kAll
		for _, k := range nd.subs {
			c.onMerge(k, srcs)
			if nd.kind == kAll {
				s.finished = s.finished && c.st[k].finished
			} else {
				s.finished = s.finished || c.st[k].finished
			}
		}
	case kEach:
		// Sub-triggers after the first unfinished one start afresh.
		for _, k := range nd.subs {
			c.onMerge(k, srcs)
			if !c.st[k].finished {
				break
			}
		}
		s.finished = c.firstUnfinished(i) < 0
	}
}

func (c *tctx) mergeWatermark(i int32, srcs [][]nodeState) {
	early, late := c.nodes[i].subs[0], c.nodes[i].subs[1]
	earlyAllDone := true
	for _, src := range srcs {
		earlyAllDone = earlyAllDone && src[early].finished
	}
	if !earlyAllDone || !c.eowReached() {
		// Elements not yet fired on time: back to the early phase.
		c.onMerge(early, srcs)
		c.st[early].finished = false
		return
	}
	c.st[early].finished = true
	if late >= 0 {
		c.onMerge(late, srcs)
	} else {
		c.st[i].finished = true
	}
}
