package webui

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/runner/internal/engine"
)

// Job states, Beam's names (jobpb.JobState).
const (
	StateStopped    = "STOPPED"
	StateStarting   = "STARTING"
	StateRunning    = "RUNNING"
	StateDone       = "DONE"
	StateFailed     = "FAILED"
	StateCancelling = "CANCELLING"
	StateCancelled  = "CANCELLED"
	StateDraining   = "DRAINING"
	StateDrained    = "DRAINED"
)

// terminal reports whether a job in state st has ended.
func terminal(st string) bool {
	switch st {
	case StateDone, StateFailed, StateCancelled, StateDrained, "UPDATED":
		return true
	}
	return false
}

// JobInfo describes a job to Server.Add.
type JobInfo struct {
	// ID identifies the job in URLs; empty picks "job-<n>". Name is
	// shown beside it; Runner names the runner ("local", "portable").
	ID, Name, Runner string
	// Monitor is the engine's view of the run (engine.Options.Monitor),
	// or nil while the job has not started.
	Monitor *engine.Monitor
	// Cancel, if not nil, cancels the job; the UI then shows a cancel
	// button while the job runs. It must not block for long.
	Cancel func()
	// Drain, if not nil, drains the job (Beam's drain: unbounded reads
	// stop at their next checkpoint, watermarks advance to the end of
	// time, and the job ends with its result); the UI then shows a drain
	// button while the job runs. It must not block for long.
	Drain func()
}

// Job is a job the UI shows: the runner that added it reports its state,
// messages and end. It is safe for concurrent use.
type Job struct {
	info    JobInfo
	started time.Time

	// mu guards the fields below.
	mu    sync.Mutex
	state string
	ended time.Time
	err   string
	logs  logRing
	// draining is set once a drain was requested: the job then ends
	// DRAINED rather than DONE.
	draining bool
	// changed is closed and replaced when the state changes, waking the
	// event streams of the job's pages.
	changed chan struct{}
	// rate estimates each stage's elements per second between samples
	// taken at least a second apart.
	rate rateSampler
}

// SetState records the job's state (one of the State constants).
func (j *Job) SetState(state string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if terminal(j.state) || j.draining && state == StateRunning {
		return
	}
	j.state = state
	if terminal(state) {
		j.ended = time.Now()
	}
	j.notifyLocked()
}

// notifyLocked wakes the job's event streams; j.mu is held.
func (j *Job) notifyLocked() {
	close(j.changed)
	j.changed = make(chan struct{})
}

// watch returns a channel closed at the job's next state change.
func (j *Job) watch() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.changed
}

// SetMonitor attaches the engine's monitor once the job starts running.
func (j *Job) SetMonitor(m *engine.Monitor) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.info.Monitor = m
}

// Finish records the job's end: DONE if err is nil (DRAINED if a drain
// was requested), CANCELLED if cancelled is set, FAILED with err's
// message otherwise.
func (j *Job) Finish(err error, cancelled bool) {
	state := StateDone
	j.mu.Lock()
	draining := j.draining
	j.mu.Unlock()
	switch {
	case err == nil && draining:
		state = StateDrained
		j.Log("info", "job drained")
	case err == nil:
		j.Log("info", "job done")
	case cancelled:
		state = StateCancelled
		j.Log("warning", "job cancelled")
	case err != nil:
		state = StateFailed
		j.Log("error", err.Error())
	}
	j.mu.Lock()
	if err != nil && !cancelled {
		j.err = err.Error()
	}
	j.mu.Unlock()
	j.SetState(state)
}

// SetError records the job's error, for a runner that reports its end
// through SetState rather than Finish.
func (j *Job) SetError(text string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.err = text
}

// ID returns the job's id.
func (j *Job) ID() string { return j.info.ID }

// snapshot returns the job's fields and its engine status (ok false when
// the job has no monitor or has not started).
func (j *Job) snapshot() (jobState, engine.Status, bool) {
	j.mu.Lock()
	js := jobState{state: j.state, ended: j.ended, err: j.err, monitor: j.info.Monitor}
	j.mu.Unlock()
	var st engine.Status
	ok := false
	if js.monitor != nil {
		st, ok = js.monitor.Status()
	}
	return js, st, ok
}

// jobState is a copy of a Job's guarded fields.
type jobState struct {
	state   string
	ended   time.Time
	err     string
	monitor *engine.Monitor
}

// cancel cancels the job if it runs and can be; it reports whether it did.
func (j *Job) cancel() bool {
	j.mu.Lock()
	state := j.state
	j.mu.Unlock()
	if j.info.Cancel == nil || terminal(state) {
		return false
	}
	j.Log("info", "cancel requested from the web UI")
	j.info.Cancel()
	return true
}

// drain drains the job if it runs and can be; it reports whether it did.
// The job is DRAINING until it ends.
func (j *Job) drain() bool {
	j.mu.Lock()
	if j.info.Drain == nil || terminal(j.state) {
		j.mu.Unlock()
		return false
	}
	again := j.draining
	j.draining = true
	if !again {
		j.state = StateDraining
		j.notifyLocked()
	}
	j.mu.Unlock()
	if !again {
		j.Log("info", "drain requested from the web UI")
		j.info.Drain()
	}
	return true
}

// registry holds a server's jobs.
type registry struct {
	ttl     time.Duration
	maxDone int

	// mu guards the fields below.
	mu     sync.Mutex
	jobs   map[string]*Job
	nextID int
}

func (r *registry) add(info JobInfo) *Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	if info.ID == "" {
		info.ID = fmt.Sprintf("job-%d", r.nextID)
	}
	j := &Job{info: info, started: time.Now(), state: StateRunning, changed: make(chan struct{})}
	r.jobs[info.ID] = j
	r.sweepLocked(time.Now())
	return j
}

func (r *registry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.jobs, id)
}

func (r *registry) get(id string) (*Job, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweepLocked(time.Now())
	j, ok := r.jobs[id]
	return j, ok
}

// list returns the jobs, newest first.
func (r *registry) list() []*Job {
	r.mu.Lock()
	r.sweepLocked(time.Now())
	out := make([]*Job, 0, len(r.jobs))
	for _, j := range r.jobs {
		out = append(out, j)
	}
	r.mu.Unlock()
	sort.Slice(out, func(a, b int) bool {
		if !out[a].started.Equal(out[b].started) {
			return out[a].started.After(out[b].started)
		}
		return out[a].info.ID > out[b].info.ID
	})
	return out
}

// sweepLocked forgets finished jobs older than the TTL and the oldest
// beyond the maximum; r.mu is held.
func (r *registry) sweepLocked(now time.Time) {
	type done struct {
		j  *Job
		at time.Time
	}
	var finished []done
	for _, j := range r.jobs {
		j.mu.Lock()
		st, at := j.state, j.ended
		j.mu.Unlock()
		if terminal(st) {
			finished = append(finished, done{j, at})
		}
	}
	sort.Slice(finished, func(a, b int) bool { return finished[a].at.After(finished[b].at) })
	for i, f := range finished {
		if i >= r.maxDone || now.Sub(f.at) >= r.ttl {
			delete(r.jobs, f.j.info.ID)
		}
	}
}
