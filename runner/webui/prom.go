package webui

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// prometheus writes every job's counters and gauges in Prometheus's text
// exposition format (version 0.0.4), one family at a time as the format
// requires.
func (s *Server) prometheus(w http.ResponseWriter, _ *http.Request) {
	type sample struct {
		labels string
		value  float64
	}
	families := map[string][]sample{}
	add := func(name, labels string, v float64) { families[name] = append(families[name], sample{labels, v}) }
	now := time.Now()
	for _, j := range s.jobs.list() {
		js, st, ok := j.snapshot()
		job := label("job", j.ID())
		running := 0.0
		if !terminal(js.state) {
			running = 1
		}
		add("beamgo_job_running", job, running)
		end := now
		if terminal(js.state) {
			end = js.ended
		}
		add("beamgo_job_duration_seconds", job, end.Sub(j.started).Seconds())
		if !ok {
			continue
		}
		add("beamgo_job_elements_total", job, float64(st.Elements))
		add("beamgo_job_bundles_total", job, float64(st.Bundles))
		add("beamgo_job_retries_total", job, float64(st.Retries))
		add("beamgo_job_splits_total", job, float64(st.Splits))
		add("beamgo_job_spills_total", job, float64(st.Spills))
		add("beamgo_job_buffered_bytes", job, float64(st.Buffered))
		for _, ss := range st.Stages {
			l := job + "," + label("stage", ss.ID)
			add("beamgo_stage_elements_total", l, float64(ss.Elements))
			add("beamgo_stage_bundles_total", l, float64(ss.Bundles))
			add("beamgo_stage_bundles_running", l, float64(ss.Running))
			add("beamgo_stage_bundles_failed_total", l, float64(ss.Failed))
			add("beamgo_stage_pending_elements", l, float64(ss.Pending))
			add("beamgo_stage_pending_bytes", l, float64(ss.PendingBytes))
			add("beamgo_stage_input_watermark_seconds", l, watermarkSeconds(ss.IW))
			add("beamgo_stage_output_watermark_seconds", l, watermarkSeconds(ss.OW))
		}
		userMetrics(add, job, st.Metrics)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	for _, name := range promOrder {
		if len(families[name]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, promHelp[name].help, name, promHelp[name].kind)
		for _, sm := range families[name] {
			fmt.Fprintf(&b, "%s{%s} %g\n", name, sm.labels, sm.value)
		}
	}
	w.Write([]byte(b.String()))
}

// userMetrics adds a job's user metrics: counters, distributions (as
// count, sum, min and max), gauges, and the sizes of string sets and
// bounded tries (their strings are in the web UI's metrics list).
func userMetrics(add func(name, labels string, v float64), job string, m metrics.Snapshot) {
	key := func(k metrics.Key) string {
		return job + "," + label("transform", k.Transform) + "," + label("namespace", k.Namespace) + "," + label("name", k.Name)
	}
	for _, k := range metrics.SortedKeys(m.Counters) {
		add("beamgo_user_counter", key(k), float64(m.Counters[k]))
	}
	for _, k := range metrics.SortedKeys(m.Distributions) {
		d := m.Distributions[k]
		add("beamgo_user_distribution_count", key(k), float64(d.Count))
		add("beamgo_user_distribution_sum", key(k), float64(d.Sum))
		add("beamgo_user_distribution_min", key(k), float64(d.Min))
		add("beamgo_user_distribution_max", key(k), float64(d.Max))
	}
	for _, k := range metrics.SortedKeys(m.Gauges) {
		add("beamgo_user_gauge", key(k), float64(m.Gauges[k].Value))
	}
	for _, k := range metrics.SortedKeys(m.StringSets) {
		add("beamgo_user_string_set_size", key(k), float64(len(m.StringSets[k])))
	}
	for _, k := range metrics.SortedKeys(m.BoundedTries) {
		add("beamgo_user_bounded_trie_size", key(k), float64(m.BoundedTries[k].Size()))
	}
}

// watermarkSeconds is a watermark in Unix seconds, with the ends of time
// as -Inf and +Inf.
func watermarkSeconds(t window.Time) float64 {
	switch {
	case t <= window.MinTime:
		return negInf
	case t >= window.MaxTime:
		return posInf
	}
	return float64(t) / 1000
}

// label renders name="value" with the value escaped as the format says.
func label(name, value string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return name + `="` + r.Replace(value) + `"`
}

var negInf, posInf = math.Inf(-1), math.Inf(1)

type family struct{ kind, help string }

var promOrder = []string{
	"beamgo_job_running", "beamgo_job_duration_seconds", "beamgo_job_elements_total", "beamgo_job_bundles_total",
	"beamgo_job_retries_total", "beamgo_job_splits_total", "beamgo_job_spills_total", "beamgo_job_buffered_bytes",
	"beamgo_stage_elements_total", "beamgo_stage_bundles_total", "beamgo_stage_bundles_running", "beamgo_stage_bundles_failed_total",
	"beamgo_stage_pending_elements", "beamgo_stage_pending_bytes", "beamgo_stage_input_watermark_seconds", "beamgo_stage_output_watermark_seconds",
	"beamgo_user_counter", "beamgo_user_distribution_count", "beamgo_user_distribution_sum", "beamgo_user_distribution_min",
	"beamgo_user_distribution_max", "beamgo_user_gauge", "beamgo_user_string_set_size", "beamgo_user_bounded_trie_size",
}

var promHelp = map[string]family{
	"beamgo_job_running":                    {"gauge", "1 while the job runs, 0 once it ended."},
	"beamgo_job_duration_seconds":           {"gauge", "How long the job has run, or ran."},
	"beamgo_job_elements_total":             {"counter", "Input elements read by committed bundles."},
	"beamgo_job_bundles_total":              {"counter", "Committed bundles."},
	"beamgo_job_retries_total":              {"counter", "Failed bundle attempts that were retried."},
	"beamgo_job_splits_total":               {"counter", "Dynamic splits of running bundles."},
	"beamgo_job_spills_total":               {"counter", "Shuffle runs written to disk."},
	"beamgo_job_buffered_bytes":             {"gauge", "Bytes of elements waiting between stages."},
	"beamgo_stage_elements_total":           {"counter", "Input elements read by the stage's committed bundles."},
	"beamgo_stage_bundles_total":            {"counter", "The stage's committed bundles."},
	"beamgo_stage_bundles_running":          {"gauge", "The stage's bundles running now."},
	"beamgo_stage_bundles_failed_total":     {"counter", "The stage's bundles that failed every attempt."},
	"beamgo_stage_pending_elements":         {"gauge", "Input elements waiting for a bundle."},
	"beamgo_stage_pending_bytes":            {"gauge", "Bytes of input elements waiting for a bundle."},
	"beamgo_stage_input_watermark_seconds":  {"gauge", "The stage's input watermark, Unix seconds."},
	"beamgo_stage_output_watermark_seconds": {"gauge", "The stage's output watermark, Unix seconds."},
	"beamgo_user_counter":                   {"counter", "A user counter."},
	"beamgo_user_distribution_count":        {"counter", "A user distribution's count."},
	"beamgo_user_distribution_sum":          {"counter", "A user distribution's sum."},
	"beamgo_user_distribution_min":          {"gauge", "A user distribution's minimum."},
	"beamgo_user_distribution_max":          {"gauge", "A user distribution's maximum."},
	"beamgo_user_gauge":                     {"gauge", "A user gauge's latest value."},
	"beamgo_user_string_set_size":           {"gauge", "How many strings a user string set holds."},
	"beamgo_user_bounded_trie_size":         {"gauge", "How many leaves a user bounded trie holds."},
}
