package engine

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// Status is a snapshot of a job for those who watch it (a web UI, a
// progress line): its fused plan with the data that flowed along each
// edge, every stage's watermarks and backlog, bundle counts, spills, user
// metrics and the job's error. It is a copy: the caller owns it.
type Status struct {
	// Start is when the job started; Elapsed how long it has run (until
	// it ended, for a finished job).
	Start   time.Time
	Elapsed time.Duration
	// Ended is set once Run has returned; Err is the job's error then, or
	// the first bundle failure while the job winds down.
	Ended bool
	Err   error
	// Stages are in plan (topological) order; Edges in producer order.
	Stages []StageStatus
	Edges  []EdgeStatus
	// Elements counts the input elements that committed bundles read.
	Elements int64
	// Bundles counts committed bundles, Retries failed attempts that were
	// retried, Splits dynamic splits, Spills shuffle runs written to disk.
	Bundles, Retries, Splits, Spills int
	// Buffered is the bytes of elements waiting between data stages.
	Buffered int64
	// Metrics are the user metrics of committed bundles.
	Metrics metrics.Snapshot
}

// StageStatus is one stage of a Status.
type StageStatus struct {
	// ID is the plan's stage id; Input the input kind ("impulse", "data",
	// "grouped", "keyed", "teststream") and InputTransform the unique name
	// of the runner-side transform that makes it (a GroupByKey), if any.
	ID, Input, InputTransform string
	// Transforms are the unique names of the fused transforms, in order.
	Transforms []string
	// IW and OW are the input and output watermarks.
	IW, OW window.Time
	// Pending and PendingBytes are the input elements waiting for a
	// bundle; Queued and Running count bundles; Timers the pending timers
	// of a streaming GroupByKey.
	Pending             int
	PendingBytes        int64
	Queued, Running     int
	Timers              int
	BlockedOnSideInputs bool
	Bundles             int
	Retries, Failed     int
	Elements            int64
	Spills              int
	Unbounded           bool
}

// EdgeStatus is one edge of the plan: PCollection flows from stage From to
// stage To, as its main input or (Side) a side input. Elements and Bytes
// count what committed bundles of From wrote to it.
type EdgeStatus struct {
	From, To, PCollection string
	Side                  bool
	Elements, Bytes       int64
}

// stageStats are a stage's counters for Status; they are guarded by j.mu.
type stageStats struct {
	bundles, retries, failed int
	elements                 int64
}

// edgeStats count what committed bundles wrote to one PCollection; they
// are guarded by j.mu.
type edgeStats struct {
	elements, bytes int64
}

// Monitor watches one run of a job: put it in Options.Monitor, and call
// Status from any goroutine, before, while and after the job runs. It
// costs the job nothing until Status is called, which takes the job's lock
// briefly. A Monitor serves one Run. It is safe for concurrent use.
type Monitor struct {
	// mu guards the fields below.
	mu sync.Mutex
	j  *job
	// final is the status taken when Run returned.
	final *Status
}

// NewMonitor returns a Monitor for one run.
func NewMonitor() *Monitor { return &Monitor{} }

// Status returns a snapshot of the job; ok is false before the job
// started (the plan is being built) or if it could not start.
func (m *Monitor) Status() (st Status, ok bool) {
	m.mu.Lock()
	j, final := m.j, m.final
	m.mu.Unlock()
	switch {
	case final != nil:
		return final.clone(), true
	case j != nil:
		return j.status(), true
	}
	return Status{}, false
}

// attach starts watching j.
func (m *Monitor) attach(j *job) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.j = j
}

// finish records the job's last status with its error, and lets go of
// the job.
func (m *Monitor) finish(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.j == nil {
		return
	}
	st := m.j.status()
	st.Ended = true
	for i := range st.Stages {
		// A bundle whose last attempt failed stays in running; nothing
		// runs once Run has returned.
		st.Stages[i].Running = 0
	}
	if err != nil {
		st.Err = err
	}
	m.final, m.j = &st, nil
}

// clone copies the slices and maps of st, so that callers of Status may
// keep or change what they get.
func (st *Status) clone() Status {
	c := *st
	c.Stages = append([]StageStatus(nil), st.Stages...)
	for i := range c.Stages {
		c.Stages[i].Transforms = append([]string(nil), c.Stages[i].Transforms...)
	}
	c.Edges = append([]EdgeStatus(nil), st.Edges...)
	c.Metrics = metrics.Snapshot{}
	c.Metrics.Merge(st.Metrics)
	return c
}

// status takes a snapshot of the job under its lock.
func (j *job) status() Status {
	names := j.pl.Components.GetTransforms()
	j.mu.Lock()
	defer j.mu.Unlock()
	st := Status{
		Start: j.clock.start, Elapsed: time.Since(j.clock.start),
		Elements: j.elements.Load(), Bundles: j.bundles, Retries: j.retries, Splits: j.splits,
		Buffered: j.buffered, Err: j.err,
	}
	st.Metrics.Merge(j.metrics)
	for _, s := range j.stages {
		ss := s.status()
		for _, id := range s.st.Transforms {
			ss.Transforms = append(ss.Transforms, names[id].GetUniqueName())
		}
		if id := s.st.Input.Transform; id != "" {
			ss.InputTransform = names[id].GetUniqueName()
		}
		st.Spills += ss.Spills
		st.Stages = append(st.Stages, ss)
	}
	st.Edges = j.edges()
	return st
}

// status describes the stage for Status; j.mu is held.
func (s *stage) status() StageStatus {
	state := s.state()
	ss := StageStatus{
		ID: state.ID, Input: state.Input, IW: state.IW, OW: state.OW,
		Pending: state.Pending, Queued: state.Queued, Running: state.Running, Timers: state.Timers,
		BlockedOnSideInputs: state.BlockedOnSideInputs,
		Bundles:             s.stats.bundles, Retries: s.stats.retries, Failed: s.stats.failed,
		Elements: s.stats.elements, Unbounded: s.st.Input.Unbounded,
	}
	for _, b := range s.pending {
		ss.PendingBytes += b.bytes
	}
	if s.red != nil {
		for _, b := range s.red.batches {
			ss.Pending += b.n
			ss.PendingBytes += b.bytes
		}
	}
	if s.grouping != nil {
		ss.Spills = s.grouping.Spills()
	}
	return ss
}

// edges lists every producer-consumer edge of the plan with the data its
// producer committed; j.mu is held.
func (j *job) edges() []EdgeStatus {
	var out []EdgeStatus
	for _, s := range j.stages {
		for _, id := range slices.Sorted(maps.Keys(s.sinks)) {
			t := s.sinks[id]
			for _, c := range j.stages {
				edge := EdgeStatus{From: string(s.st.ID), To: string(c.st.ID), PCollection: t.pc, Elements: t.stats.elements, Bytes: t.stats.bytes}
				if slices.Contains(c.st.Input.PCollections, t.pc) {
					out = append(out, edge)
				}
				for _, si := range c.st.SideInputs {
					if si.PCollection == t.pc {
						edge.Side = true
						out = append(out, edge)
						break
					}
				}
			}
		}
	}
	return out
}

// progress describes the job for Options.Progress: its status, and the
// work of the splittable reads that run, asked of their trackers after
// the job's lock is released (a tracker may be slow to answer).
func (j *job) progress(start time.Time) Progress {
	st := j.status()
	p := Progress{Stages: len(st.Stages), Elements: st.Elements, Elapsed: time.Since(start)}
	running := make([][]*bundleWork, len(j.stages))
	j.mu.Lock()
	for i, s := range j.stages {
		for b := range s.running {
			running[i] = append(running[i], b)
		}
	}
	j.mu.Unlock()
	for i, ss := range st.Stages {
		sp := StageProgress{
			ID: ss.ID, Input: ss.Input, Elements: ss.Elements, Pending: ss.Pending, Queued: ss.Queued, Running: ss.Running,
			Done: ss.OW >= window.MaxTime, Unbounded: ss.Unbounded,
		}
		if sp.Done {
			p.StagesDone++
		} else if ss.OW > window.MinTime {
			sp.OutputWatermark = ss.OW.ToTime()
		}
		for _, b := range running[i] {
			b.mu.Lock()
			for e := range b.trackers {
				done, rem := e.t.Progress()
				sp.ReadDone += done
				sp.ReadRemaining += rem
			}
			b.mu.Unlock()
		}
		p.StageProgress = append(p.StageProgress, sp)
	}
	return p
}
