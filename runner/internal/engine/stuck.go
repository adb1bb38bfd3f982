package engine

import (
	"fmt"
	"strings"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// StuckError reports a job that cannot make progress: no bundle runs, none
// can run, no TestStream event and no processing-time wake-up is pending,
// yet some stage still holds data or holds its output watermark before the
// end of time. It is a runner bug or a hold that is never released, never
// a pipeline that merely waits for input. Stages describes every stage at
// that moment.
type StuckError struct {
	Stages []StageState
}

// StageState is a stage's scheduling state in a StuckError.
type StageState struct {
	// ID is the plan's stage id; Input its input kind.
	ID, Input string
	// IW and OW are the input and output watermarks; Hold the minimum of
	// the stage's own holds on its output watermark (MaxTime: none).
	IW, OW, Hold window.Time
	// Pending counts elements waiting for a bundle, Queued bundles waiting
	// to run, Running bundles running; Timers the pending timers.
	Pending, Queued, Running, Timers int
	// BlockedOnSideInputs is set when the stage has work but a side input
	// is not ready for it.
	BlockedOnSideInputs bool
	// SideWaiting counts the main-input elements pushed back until their
	// side inputs are ready for their windows; SideWaitingFor names the
	// earliest of those windows with the side inputs (PCollection and
	// side window) not ready for them.
	SideWaiting    int
	SideWaitingFor string
}

func (e *StuckError) Error() string {
	var b strings.Builder
	b.WriteString("engine: the pipeline cannot make progress: nothing runs or can run and no event is due, yet watermarks are held; stages:")
	for _, s := range e.Stages {
		fmt.Fprintf(&b, "\n  %s (%s): IW %v, OW %v, hold %v, pending %d elements, %d queued and %d running bundles, %d timers",
			s.ID, s.Input, s.IW, s.OW, s.Hold, s.Pending, s.Queued, s.Running, s.Timers)
		if s.BlockedOnSideInputs {
			b.WriteString(", waiting for side inputs")
		}
		if s.SideWaiting > 0 {
			fmt.Fprintf(&b, ", %d elements pushed back until their side inputs are ready (%s)", s.SideWaiting, s.SideWaitingFor)
		}
	}
	return b.String()
}

// stuck returns the StuckError that describes the job now; j.mu is held.
func (j *job) stuck() error {
	e := &StuckError{}
	for _, s := range j.stages {
		e.Stages = append(e.Stages, s.state())
	}
	return e
}

// state describes the stage; j.mu is held.
func (s *stage) state() StageState {
	hold := s.hold
	if s.grouping != nil && (!s.started || len(s.queue) > 0 || len(s.running) > 0) {
		hold = window.MinTime
	}
	timers := 0
	if s.red != nil {
		hold = min(hold, s.red.hold)
		timers = s.red.pending
	}
	if s.ks != nil {
		hold = min(hold, s.ks.hold())
	}
	st := StageState{
		ID: string(s.st.ID), Input: s.st.Input.Kind.String(),
		IW: s.iw, OW: s.ow, Hold: hold, Timers: timers,
		Pending: s.pendingElems, Queued: len(s.queue), Running: len(s.running),
		BlockedOnSideInputs: (len(s.queue) > 0 || len(s.pending) > 0) && !s.sidesReady(),
	}
	if g := s.gate; g != nil && g.elems > 0 {
		st.BlockedOnSideInputs = true
		st.SideWaiting, st.SideWaitingFor = g.elems, g.describe()
	}
	return st
}
