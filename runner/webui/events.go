package webui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// DefaultUpdateInterval is Options.UpdateInterval's default.
const DefaultUpdateInterval = time.Second

// Update is one event of a job's event stream (/api/jobs/{id}/events):
// the job's view at one moment, with the messages logged since the
// previous update.
type Update struct {
	Job     JobSummary   `json:"job"`
	Stages  []StageView  `json:"stages"`
	Metrics []MetricView `json:"metrics"`
	// Logs are the messages numbered above the previous update's last
	// (or the stream's Last-Event-ID, or ?after=N).
	Logs []LogEntry `json:"logs"`
	// PlanSVG is the plan drawn as at /plan.svg, or "" before it runs.
	PlanSVG string `json:"plan_svg"`
}

// events serves a job's server-sent event stream: an "update" event at
// once, then one every Options.UpdateInterval and at each state change
// while the job runs, and a last one when it has ended, followed by an
// "end" event. Each event's id is the number of the last message it
// carries, so that a reconnecting EventSource resumes the log where it
// was (Last-Event-ID).
func (s *Server) events(w http.ResponseWriter, r *http.Request, j *Job) {
	after, err := afterParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n >= 0 {
			after = n
		}
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(s.opts.UpdateInterval)
	defer tick.Stop()
	for {
		changed := j.watch()
		u := j.update(time.Now(), after)
		if n := len(u.Logs); n > 0 {
			after = u.Logs[n-1].Seq
		}
		if err := writeEvent(w, "update", after, u); err != nil {
			return
		}
		ended := terminal(u.Job.State)
		if ended {
			fmt.Fprint(w, "event: end\ndata: {}\n\n")
		}
		if rc.Flush() != nil || ended {
			return
		}
		select {
		case <-tick.C:
		case <-changed:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// update returns the job's view at now with the messages after seq.
func (j *Job) update(now time.Time, seq int64) Update {
	u := Update{Job: j.summary(now), Stages: j.stages(now), Metrics: j.metricViews(), Logs: j.logEntries(seq)}
	if _, st, ok := j.snapshot(); ok {
		var b bytes.Buffer
		if writePlanSVG(&b, st) == nil {
			u.PlanSVG = b.String()
		}
	}
	return u
}

// writeEvent writes one server-sent event whose data is v as JSON (one
// line: JSON escapes newlines in strings).
func writeEvent(w http.ResponseWriter, name string, id int64, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\nid: %d\ndata: %s\n\n", name, id, b)
	return err
}
