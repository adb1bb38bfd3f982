package jobservice

import (
	"context"
	"strconv"
	"sync"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"beamgo/runner"
)

// job is one prepared job and, once run, its progress.
type job struct {
	id, name, token string
	pipeline        *pipepb.Pipeline
	// done is closed when execute returns (only after start).
	done chan struct{}

	// mu guards the fields below.
	mu      sync.Mutex
	state   jobpb.JobState_Enum
	started bool
	stop    context.CancelFunc
	result  *runner.Result
	// events are the job's messages and state changes in order; changed is
	// closed and replaced whenever one is appended.
	events  []*jobpb.JobMessagesResponse
	changed chan struct{}
}

func newJob(id, name string, p *pipepb.Pipeline, token string) *job {
	j := &job{id: id, name: name, token: token, pipeline: p, done: make(chan struct{}), changed: make(chan struct{})}
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
	case terminal(j.state):
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

// cancelAndWait cancels the job and waits until it has ended.
func (j *job) cancelAndWait() {
	j.cancel()
	j.mu.Lock()
	started := j.started
	j.mu.Unlock()
	if started {
		<-j.done
	}
}

// finish records the result of a successful run.
func (j *job) finish(res *runner.Result) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.result = res
}

// resultOf returns the result of a successful run, or nil.
func (j *job) resultOf() *runner.Result {
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
