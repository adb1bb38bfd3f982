package jobservice

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/runner/internal/engine"
	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
	"github.com/beamgo-dev/beamgo/runner/webui"
)

// job is one prepared job and, once run, its progress.
type job struct {
	id, name, token string
	pipeline        *pipepb.Pipeline
	// workers is the decoded payload of the checked worker environment:
	// *pipepb.ExternalPayload or *pipepb.ProcessPayload (with the
	// command's resolved path).
	workers proto.Message
	// size is the pipeline's encoded size, counted against the server's
	// byte limits.
	size int64
	// prepared is when Prepare registered the job.
	prepared time.Time
	// checkpoint makes the job durable, as its options asked; nil if
	// they did not.
	checkpoint *fnrunner.Checkpointing
	// restarted is set for a job run again from its durable record at
	// Start, after its server died.
	restarted bool
	// done is closed when execute returns (only after start).
	done chan struct{}

	// mu guards the fields below.
	mu      sync.Mutex
	state   jobpb.JobState_Enum
	started bool
	// ended is when the job reached a terminal state.
	ended  time.Time
	stop   context.CancelFunc
	result *fnrunner.Result
	// staging is whether artifact staging has begun and stagingActive
	// whether it is still going on; released is set when the job's
	// staging directory is to be removed (by release, or by the staging
	// stream that ends after it).
	staging, stagingActive, released bool
	// staged is set when a staging stream delivered every artifact: the
	// submitter then proved it holds the job's token (see Server.Run).
	staged bool
	// events are the job's messages and state changes in order; changed is
	// closed and replaced whenever one is appended.
	events  []*jobpb.JobMessagesResponse
	changed chan struct{}
	// ui shows the job on the web UI, once it runs; nil without one.
	ui *webui.Job
	// drain is closed to drain the running job (drained is then set).
	drain   chan struct{}
	drained bool
	// suspended is set when the server stopped the running job to run it
	// again at its next start: the job keeps its state, not CANCELLED.
	suspended bool
}

func newJob(id, name string, p *pipepb.Pipeline, workers proto.Message, token string) *job {
	j := &job{
		id: id, name: name, token: token, pipeline: p, workers: workers, size: int64(proto.Size(p)),
		prepared: time.Now(), done: make(chan struct{}), changed: make(chan struct{}), drain: make(chan struct{}),
	}
	j.appendState(jobpb.JobState_STOPPED)
	return j
}

// terminal reports whether a job in state st has ended.
func terminal(st jobpb.JobState_Enum) bool {
	switch st {
	case jobpb.JobState_DONE, jobpb.JobState_FAILED, jobpb.JobState_CANCELLED, jobpb.JobState_DRAINED, jobpb.JobState_UPDATED:
		return true
	}
	return false
}

// appendLocked records ev and wakes the followers; j.mu is held.
func (j *job) appendLocked(ev *jobpb.JobMessagesResponse) {
	j.events = append(j.events, ev)
	close(j.changed)
	j.changed = make(chan struct{})
}

// appendState moves the job to st.
func (j *job) appendState(st jobpb.JobState_Enum) {
	j.state = st
	if terminal(st) {
		j.ended = time.Now()
	}
	if j.ui != nil {
		j.ui.SetState(st.String())
	}
	j.appendLocked(&jobpb.JobMessagesResponse{Response: &jobpb.JobMessagesResponse_StateResponse{
		StateResponse: &jobpb.JobStateEvent{State: st, Timestamp: now()},
	}})
}

// setState moves the job to st unless it has already ended.
func (j *job) setState(st jobpb.JobState_Enum) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !terminal(j.state) {
		j.appendState(st)
	}
}

// message records a job message.
func (j *job) message(imp jobpb.JobMessage_MessageImportance, text string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.messageLocked(imp, text)
}

// messageLocked records a job message; j.mu is held.
func (j *job) messageLocked(imp jobpb.JobMessage_MessageImportance, text string) {
	if j.ui != nil {
		j.ui.Log(uiLevel(imp), text)
	}
	j.appendLocked(&jobpb.JobMessagesResponse{Response: &jobpb.JobMessagesResponse_MessageResponse{
		MessageResponse: &jobpb.JobMessage{
			MessageId:   strconv.Itoa(len(j.events)),
			Time:        time.Now().UTC().Format(time.RFC3339Nano),
			Importance:  imp,
			MessageText: text,
		},
	}})
}

// start marks the job started and returns the context it runs in; ok is
// false if it was started or cancelled before.
func (j *job) start() (ctx context.Context, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started || terminal(j.state) {
		return nil, false
	}
	j.started = true
	ctx, j.stop = context.WithCancel(context.Background())
	j.appendState(jobpb.JobState_STARTING)
	return ctx, true
}

// cancel cancels the job and returns its state afterwards.
func (j *job) cancel() jobpb.JobState_Enum {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case terminal(j.state), j.suspended:
	case !j.started:
		j.appendState(jobpb.JobState_CANCELLED)
	default:
		j.stop()
		if j.state != jobpb.JobState_CANCELLING {
			j.appendState(jobpb.JobState_CANCELLING)
		}
	}
	return j.state
}

// drainRun drains the running job: it moves to DRAINING, and ends
// DRAINED once its unbounded reads stopped and its windows fired. It
// reports whether the job runs (a job that has not started or has ended
// cannot be drained).
func (j *job) drainRun() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.started || terminal(j.state) || j.state == jobpb.JobState_CANCELLING {
		return false
	}
	if !j.drained {
		j.drained = true
		close(j.drain)
		j.messageLocked(jobpb.JobMessage_JOB_MESSAGE_BASIC, "drain requested")
		j.appendState(jobpb.JobState_DRAINING)
	}
	return true
}

// wasSuspended reports whether the server stopped the job to run it
// again at its next start.
func (j *job) wasSuspended() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.suspended
}

// wasDrained reports whether a drain was requested.
func (j *job) wasDrained() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.drained
}

// workerLog passes a worker's log entry to the web UI, if the job has one.
func (j *job) workerLog(workerID string, e *fnpb.LogEntry) {
	j.mu.Lock()
	ui := j.ui
	j.mu.Unlock()
	if ui != nil {
		ui.WorkerLog(workerID, e)
	}
}

// cancelAndWait cancels the job and waits until it has ended; a running
// job with suspend set is stopped without being cancelled (see suspended).
func (j *job) cancelAndWait(suspend bool) {
	j.mu.Lock()
	if suspend && j.started && !terminal(j.state) {
		j.suspended = true
		j.stop()
	}
	j.mu.Unlock()
	j.cancel()
	j.mu.Lock()
	started := j.started
	j.mu.Unlock()
	if started {
		<-j.done
	}
}

// expireIfWaiting cancels the job if it was prepared before deadline and
// has not been started or ended, telling its followers why; it reports
// whether it did.
func (j *job) expireIfWaiting(deadline time.Time, ttl time.Duration) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started || terminal(j.state) || j.prepared.After(deadline) {
		return false
	}
	j.messageLocked(jobpb.JobMessage_JOB_MESSAGE_WARNING, fmt.Sprintf("job expired: it was not run within %v of being prepared", ttl))
	j.appendState(jobpb.JobState_CANCELLED)
	return true
}

// lifecycle returns whether the job has started, whether it has ended and
// when.
func (j *job) lifecycle() (started, ended bool, endedAt time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.started, terminal(j.state), j.ended
}

// beginStaging marks the job's artifact staging begun; it fails if staging
// began before, the job has started or ended, or it was released.
func (j *job) beginStaging() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.released || terminal(j.state):
		return fmt.Errorf("job %q has ended (state %v)", j.id, j.state)
	case j.started:
		return fmt.Errorf("job %q has already started", j.id)
	case j.staging:
		return fmt.Errorf("job %q has already staged its artifacts", j.id)
	}
	j.staging, j.stagingActive = true, true
	return nil
}

// endStaging marks the staging stream ended and reports whether the
// job's staging directory is to be removed now (it was released while
// the stream ran).
func (j *job) endStaging() (remove bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stagingActive = false
	return j.released
}

// markStaged records that the job's artifacts were all staged.
func (j *job) markStaged() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.staged = true
}

// hasStaged reports whether the job's artifacts were all staged.
func (j *job) hasStaged() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.staged
}

// release marks the job's staging directory for removal and reports
// whether to remove it now (no staging stream is writing to it); the
// first call only reports true.
func (j *job) release() (remove bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.released {
		return false
	}
	j.released = true
	return !j.stagingActive
}

// finish records the result of a successful run.
func (j *job) finish(res *fnrunner.Result) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.result = res
}

// resultOf returns the result of a successful run, or nil.
func (j *job) resultOf() *fnrunner.Result {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.result
}

// currentState returns the job's state.
func (j *job) currentState() jobpb.JobState_Enum {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state
}

// stateEvent returns the latest state change.
func (j *job) stateEvent() *jobpb.JobStateEvent {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.events) - 1; i >= 0; i-- {
		if se := j.events[i].GetStateResponse(); se != nil {
			return se
		}
	}
	return &jobpb.JobStateEvent{State: j.state, Timestamp: now()}
}

// follow passes every event of the job to send, from the first, and
// returns after the event that ends the job, when send fails or when ctx
// is done.
func (j *job) follow(ctx context.Context, send func(*jobpb.JobMessagesResponse) error) error {
	next := 0
	for {
		j.mu.Lock()
		evs := j.events[next:]
		changed := j.changed
		j.mu.Unlock()
		for _, ev := range evs {
			if err := send(ev); err != nil {
				return err
			}
			next++
			if se := ev.GetStateResponse(); se != nil && terminal(se.GetState()) {
				return nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// showOn adds the job to ui, watched through mon, with its messages so
// far; later messages and states follow it there.
func (j *job) showOn(ui *webui.Server, mon *engine.Monitor) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ui = ui.Add(webui.JobInfo{ID: j.id, Name: j.name, Runner: "jobserver", Monitor: mon,
		Cancel: func() { j.cancel() }, Drain: func() { j.drainRun() }})
	j.ui.SetState(j.state.String())
	for _, ev := range j.events {
		if m := ev.GetMessageResponse(); m != nil {
			j.ui.Log(uiLevel(m.GetImportance()), m.GetMessageText())
		}
	}
}

// failure records a failed run's error on the web UI.
func (j *job) failure(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ui != nil {
		j.ui.SetError(err.Error())
	}
}

// uiLevel is the web UI's level of a job message's importance.
func uiLevel(imp jobpb.JobMessage_MessageImportance) string {
	switch imp {
	case jobpb.JobMessage_JOB_MESSAGE_ERROR:
		return "error"
	case jobpb.JobMessage_JOB_MESSAGE_WARNING:
		return "warning"
	case jobpb.JobMessage_JOB_MESSAGE_DEBUG, jobpb.JobMessage_JOB_MESSAGE_DETAILED:
		return "debug"
	}
	return "info"
}
