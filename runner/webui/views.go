package webui

import (
	"slices"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/engine"
)

// JobSummary is a job in the job list and at /api/jobs/{id}.
type JobSummary struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Runner string `json:"runner,omitempty"`
	// State is Beam's job state: RUNNING, DONE, FAILED, CANCELLED, ...
	State string     `json:"state"`
	Start time.Time  `json:"start"`
	End   *time.Time `json:"end,omitempty"`
	// DurationMs is how long the job has run, or ran.
	DurationMs int64 `json:"duration_ms"`
	// Cancellable is set while the cancel button works; Drainable while
	// the drain button does (not once the job drains).
	Cancellable bool `json:"cancellable"`
	Drainable   bool `json:"drainable"`
	// Error is the job's error, naming the transform and element that
	// failed where the runner knows them.
	Error string `json:"error,omitempty"`
	// The totals below are zero until the job's plan runs.
	Stages        int   `json:"stages"`
	StagesDone    int   `json:"stages_done"`
	Elements      int64 `json:"elements"`
	Bundles       int   `json:"bundles"`
	Running       int   `json:"bundles_running"`
	Retries       int   `json:"retries"`
	Failed        int   `json:"failed_bundles"`
	Splits        int   `json:"splits"`
	Spills        int   `json:"spills"`
	BufferedBytes int64 `json:"buffered_bytes"`
}

// Plan is the fused plan of a job: its stages and the edges between them.
type Plan struct {
	Stages []PlanStage `json:"stages"`
	Edges  []PlanEdge  `json:"edges"`
}

// PlanStage is a stage of the plan.
type PlanStage struct {
	ID string `json:"id"`
	// Input is how the runner feeds the stage: impulse, data, grouped,
	// keyed or teststream; InputTransform the runner-side transform (a
	// GroupByKey) that makes it.
	Input          string   `json:"input"`
	InputTransform string   `json:"input_transform,omitempty"`
	Transforms     []string `json:"transforms"`
}

// PlanEdge is a PCollection flowing from one stage to another, as main or
// side input, with the elements and bytes committed to it so far.
type PlanEdge struct {
	From        string `json:"from"`
	To          string `json:"to"`
	PCollection string `json:"pcollection"`
	Side        bool   `json:"side,omitempty"`
	Elements    int64  `json:"elements"`
	Bytes       int64  `json:"bytes"`
}

// Watermark is an event time: milliseconds since the epoch, and as text
// (RFC 3339, or "-inf" and "+inf" at the ends of time).
type Watermark struct {
	Millis int64  `json:"ms"`
	Text   string `json:"text"`
}

// StageView is a stage's live state.
type StageView struct {
	ID              string    `json:"id"`
	Input           string    `json:"input"`
	Unbounded       bool      `json:"unbounded,omitempty"`
	InputWatermark  Watermark `json:"input_watermark"`
	OutputWatermark Watermark `json:"output_watermark"`
	// Pending and PendingBytes are the input waiting for a bundle.
	Pending      int   `json:"pending_elements"`
	PendingBytes int64 `json:"pending_bytes"`
	Queued       int   `json:"bundles_queued"`
	Running      int   `json:"bundles_running"`
	Bundles      int   `json:"bundles_committed"`
	Retries      int   `json:"retries"`
	Failed       int   `json:"failed_bundles"`
	// Elements counts the input elements of committed bundles;
	// ElementsPerSecond is the recent rate (0 once the job ended).
	Elements            int64   `json:"elements"`
	ElementsPerSecond   float64 `json:"elements_per_second"`
	Spills              int     `json:"spills"`
	Timers              int     `json:"timers"`
	BlockedOnSideInputs bool    `json:"blocked_on_side_inputs,omitempty"`
}

// MetricView is one user metric.
type MetricView struct {
	// Kind is counter, distribution, gauge, string_set or bounded_trie.
	Kind      string `json:"kind"`
	Transform string `json:"transform"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Value is a counter's sum or a gauge's latest value.
	Value int64 `json:"value"`
	// Count, Sum, Min and Max describe a distribution.
	Count int64 `json:"count,omitempty"`
	Sum   int64 `json:"sum,omitempty"`
	Min   int64 `json:"min,omitempty"`
	Max   int64 `json:"max,omitempty"`
	// Values are a string set's strings, or a bounded trie's leaves, each
	// its segments joined by "/" and a truncated one ending in "/…".
	Values []string `json:"values,omitempty"`
}

// newWatermark describes t.
func newWatermark(t window.Time) Watermark {
	switch {
	case t <= window.MinTime:
		return Watermark{Millis: int64(window.MinTime), Text: "-inf"}
	case t >= window.MaxTime:
		return Watermark{Millis: int64(window.MaxTime), Text: "+inf"}
	}
	return Watermark{Millis: int64(t), Text: t.String()}
}

// summary describes the job.
func (j *Job) summary(now time.Time) JobSummary {
	js, st, ok := j.snapshot()
	s := JobSummary{ID: j.info.ID, Name: j.info.Name, Runner: j.info.Runner, State: js.state, Start: j.started, Error: js.err}
	end := now
	if terminal(js.state) {
		end = js.ended
		s.End = &end
	}
	s.DurationMs = end.Sub(j.started).Milliseconds()
	s.Cancellable = j.info.Cancel != nil && !terminal(js.state)
	s.Drainable = j.info.Drain != nil && !terminal(js.state) && js.state != StateDraining
	if !ok {
		return s
	}
	s.Stages, s.Elements, s.Bundles, s.Retries, s.Splits, s.Spills, s.BufferedBytes =
		len(st.Stages), st.Elements, st.Bundles, st.Retries, st.Splits, st.Spills, st.Buffered
	for _, ss := range st.Stages {
		if ss.OW >= window.MaxTime {
			s.StagesDone++
		}
		s.Running += ss.Running
		s.Failed += ss.Failed
	}
	if s.Error == "" && st.Err != nil {
		s.Error = st.Err.Error()
	}
	return s
}

// plan describes the job's plan; ok is false before it runs.
func (j *Job) plan() (Plan, bool) {
	_, st, ok := j.snapshot()
	if !ok {
		return Plan{}, false
	}
	return planOf(st), true
}

func planOf(st engine.Status) Plan {
	p := Plan{Stages: []PlanStage{}, Edges: []PlanEdge{}}
	for _, s := range st.Stages {
		p.Stages = append(p.Stages, PlanStage{ID: s.ID, Input: s.Input, InputTransform: s.InputTransform, Transforms: s.Transforms})
	}
	for _, e := range st.Edges {
		p.Edges = append(p.Edges, PlanEdge{From: e.From, To: e.To, PCollection: e.PCollection, Side: e.Side, Elements: e.Elements, Bytes: e.Bytes})
	}
	return p
}

// stages describes the job's stages; nil before it runs.
func (j *Job) stages(now time.Time) []StageView {
	_, st, ok := j.snapshot()
	if !ok {
		return []StageView{}
	}
	j.mu.Lock()
	rates := j.rate.update(now, st)
	j.mu.Unlock()
	out := make([]StageView, 0, len(st.Stages))
	for i, s := range st.Stages {
		out = append(out, StageView{
			ID: s.ID, Input: s.Input, Unbounded: s.Unbounded,
			InputWatermark: newWatermark(s.IW), OutputWatermark: newWatermark(s.OW),
			Pending: s.Pending, PendingBytes: s.PendingBytes, Queued: s.Queued, Running: s.Running,
			Bundles: s.Bundles, Retries: s.Retries, Failed: s.Failed,
			Elements: s.Elements, ElementsPerSecond: rates[i], Spills: s.Spills, Timers: s.Timers,
			BlockedOnSideInputs: s.BlockedOnSideInputs,
		})
	}
	return out
}

// metricViews lists the job's user metrics, sorted.
func (j *Job) metricViews() []MetricView {
	_, st, _ := j.snapshot()
	return metricsOf(st.Metrics)
}

func metricsOf(m metrics.Snapshot) []MetricView {
	out := []MetricView{}
	for _, k := range metrics.SortedKeys(m.Counters) {
		out = append(out, MetricView{Kind: "counter", Transform: k.Transform, Namespace: k.Namespace, Name: k.Name, Value: m.Counters[k]})
	}
	for _, k := range metrics.SortedKeys(m.Distributions) {
		d := m.Distributions[k]
		out = append(out, MetricView{Kind: "distribution", Transform: k.Transform, Namespace: k.Namespace, Name: k.Name, Count: d.Count, Sum: d.Sum, Min: d.Min, Max: d.Max})
	}
	for _, k := range metrics.SortedKeys(m.Gauges) {
		out = append(out, MetricView{Kind: "gauge", Transform: k.Transform, Namespace: k.Namespace, Name: k.Name, Value: m.Gauges[k].Value})
	}
	for _, k := range metrics.SortedKeys(m.StringSets) {
		v := m.StringSets[k]
		out = append(out, MetricView{Kind: "string_set", Transform: k.Transform, Namespace: k.Namespace, Name: k.Name, Value: int64(len(v)), Values: slices.Clone(v)})
	}
	for _, k := range metrics.SortedKeys(m.BoundedTries) {
		v := m.BoundedTries[k]
		var leaves []string
		for _, l := range v.Leaves() {
			s := strings.Join(l.Segments, "/")
			if l.Truncated {
				s += "/…"
			}
			leaves = append(leaves, s)
		}
		out = append(out, MetricView{Kind: "bounded_trie", Transform: k.Transform, Namespace: k.Namespace, Name: k.Name, Value: int64(len(leaves)), Values: leaves})
	}
	return out
}

// rateSampler estimates each stage's elements per second from samples
// at least a second apart, so that the rate does not jump with each poll.
type rateSampler struct {
	at    time.Time
	last  []int64
	rates []float64
}

// update returns the rates, sampling st if the last sample is a second
// old; rates are zero once the job ended.
func (r *rateSampler) update(now time.Time, st engine.Status) []float64 {
	if len(r.rates) != len(st.Stages) {
		r.rates = make([]float64, len(st.Stages))
		r.last = nil
	}
	if st.Ended {
		clear(r.rates)
		return append([]float64(nil), r.rates...)
	}
	if r.last == nil || now.Sub(r.at) >= time.Second {
		cur := make([]int64, len(st.Stages))
		for i, s := range st.Stages {
			cur[i] = s.Elements
			if r.last != nil {
				r.rates[i] = float64(cur[i]-r.last[i]) / now.Sub(r.at).Seconds()
			}
		}
		r.at, r.last = now, cur
	}
	return append([]float64(nil), r.rates...)
}
