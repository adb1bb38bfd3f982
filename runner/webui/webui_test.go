package webui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/webui"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

var seen = sdk.NewCounter("test", "seen")

// gatedBatch is a word count whose last step blocks on gate until it is
// closed (or ctx is done); "bad" fails the job.
func gatedBatch(gate <-chan struct{}, words []string) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, words)
	counted := sdk.CountElements(s, sdk.Map(s, func(w string) string { return strings.ToLower(w) }, in))
	sdk.ForEachFunc(s, func(ctx context.Context, kv sdk.KV[string, int64]) error {
		seen.Inc(ctx, 1)
		if kv.Key == "bad" {
			return fmt.Errorf("element %q is bad", kv.Key)
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}, counted)
	return p
}

// gatedStream is a TestStream of words: three at 1 s, the watermark at
// 5 s, then "stop" at 6 s, which blocks until gate is closed; the words
// are counted in windows of 10 s.
func gatedStream(gate <-chan struct{}) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[string](s)
	ts.AddElementsAt(time.UnixMilli(1000), "a", "b", "a")
	ts.AdvanceWatermarkTo(time.UnixMilli(5000))
	ts.AddElementsAt(time.UnixMilli(6000), "stop")
	ts.AdvanceWatermarkToInfinity()
	gated := sdk.Map(s, func(w string) string {
		if w == "stop" {
			<-gate
		}
		return w
	}, ts.Output())
	windowed := sdk.WindowInto(s, window.FixedFn(10*time.Second), gated)
	sdk.ForEachFunc(s, func(ctx context.Context, kv sdk.KV[string, int64]) error { seen.Inc(ctx, 1); return nil },
		sdk.CountElements(s, windowed))
	return p
}

// runOnUI runs p on a local runner that shows it on ui, in the
// background; the returned channel gets Run's error.
func runOnUI(t *testing.T, ui *webui.Server, name string, p *sdk.Pipeline) <-chan error {
	t.Helper()
	r := local.New(&local.Options{Job: local.Job{Parallelism: 2}, UI: ui, JobName: name})
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background(), p)
		done <- err
	}()
	return done
}

// get fetches path from srv and decodes its JSON body into v (if not nil);
// it returns the status code and the body.
func get(t *testing.T, srv *httptest.Server, path string, v any) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

// waitFor polls cond every 10 ms for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// onlyJob returns the id of the one job on srv's list.
func onlyJob(t *testing.T, srv *httptest.Server) webui.JobSummary {
	t.Helper()
	var jobs []webui.JobSummary
	waitFor(t, "the job on the list", func() bool {
		get(t, srv, "/api/jobs", &jobs)
		return len(jobs) == 1
	})
	return jobs[0]
}

// blockedStage waits until a bundle of the job's last stage runs and
// returns the stages then.
func blockedStage(t *testing.T, srv *httptest.Server, id string) []webui.StageView {
	t.Helper()
	var stages []webui.StageView
	waitFor(t, "a running bundle in the last stage", func() bool {
		get(t, srv, "/api/jobs/"+id+"/stages", &stages)
		return len(stages) > 0 && stages[len(stages)-1].Running > 0
	})
	return stages
}

func TestAPIShowsARunningJobAndCancelsIt(t *testing.T) {
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()
	gate := make(chan struct{}) // never opened: the UI cancels the job
	done := runOnUI(t, ui, "words", gatedBatch(gate, []string{"a", "b", "A", "c"}))
	job := onlyJob(t, srv)
	if job.Name != "words" || job.Runner != "local" || job.State != webui.StateRunning || !job.Cancellable {
		t.Errorf("job = %+v, want words on local, RUNNING, cancellable", job)
	}
	stages := blockedStage(t, srv, job.ID)
	if first := stages[0]; first.OutputWatermark.Text != "+inf" || first.Elements == 0 {
		t.Errorf("first stage while the last blocks = %+v, want its output watermark at +inf and elements read", first)
	}
	if last := stages[len(stages)-1]; last.InputWatermark.Text != "+inf" || last.OutputWatermark.Text != "-inf" {
		t.Errorf("last stage = %+v, want input watermark +inf and output -inf while its bundle runs", last)
	}
	var plan webui.Plan
	get(t, srv, "/api/jobs/"+job.ID+"/plan", &plan)
	if len(plan.Stages) != len(stages) || len(plan.Edges) == 0 {
		t.Fatalf("plan = %+v, want %d stages and edges", plan, len(stages))
	}
	var grouped int64
	for _, e := range plan.Edges {
		if e.To == stages[len(stages)-1].ID {
			grouped += e.Elements
		}
	}
	if grouped != 3 {
		t.Errorf("edges into the grouping stage carry %d elements, want the 3 precombined words (plan %+v)", grouped, plan)
	}
	code, svg := get(t, srv, "/api/jobs/"+job.ID+"/plan.svg", nil)
	if code != http.StatusOK || !strings.Contains(svg, `data-stage="`+stages[0].ID+`"`) || !strings.Contains(svg, "3 elements") {
		t.Errorf("plan.svg = %d %.300s..., want the stages and an edge with 3 elements", code, svg)
	}
	code, _ = post(t, srv, "/api/jobs/"+job.ID+"/cancel", true)
	if code != http.StatusAccepted {
		t.Fatalf("POST cancel = %d, want 202", code)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	get(t, srv, "/api/jobs/"+job.ID, &job)
	if job.State != webui.StateCancelled || job.Cancellable || job.End == nil {
		t.Errorf("job after cancel = %+v, want CANCELLED with an end, not cancellable", job)
	}
	var logs []webui.LogEntry
	get(t, srv, "/api/jobs/"+job.ID+"/logs", &logs)
	if !containsLog(logs, "cancel requested") || !containsLog(logs, "job cancelled") {
		t.Errorf("logs = %+v, want the cancel request and the cancellation", logs)
	}
	if code, _ := post(t, srv, "/api/jobs/"+job.ID+"/cancel", true); code != http.StatusConflict {
		t.Errorf("POST cancel of an ended job = %d, want 409", code)
	}
}

func containsLog(logs []webui.LogEntry, text string) bool {
	for _, l := range logs {
		if strings.Contains(l.Text, text) {
			return true
		}
	}
	return false
}

func post(t *testing.T, srv *httptest.Server, path string, uiHeader bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if uiHeader {
		req.Header.Set("X-Beamgo-UI", "1")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPIShowsAFailedJobWithItsErrorAndMetrics(t *testing.T) {
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()
	gate := make(chan struct{})
	close(gate)
	err := <-runOnUI(t, ui, "", gatedBatch(gate, []string{"ok", "bad"}))
	if err == nil {
		t.Fatal("Run succeeded, want the bad element's error")
	}
	job := onlyJob(t, srv)
	if job.State != webui.StateFailed || !strings.Contains(job.Error, `element "bad" is bad`) || job.Cancellable {
		t.Errorf("job = %+v, want FAILED with the element's error, not cancellable", job)
	}
	var stages []webui.StageView
	get(t, srv, "/api/jobs/"+job.ID+"/stages", &stages)
	if last := stages[len(stages)-1]; last.Failed != 1 || last.Retries == 0 {
		t.Errorf("last stage = %+v, want 1 failed bundle after retries", last)
	}
	var metrics []webui.MetricView
	get(t, srv, "/api/jobs/"+job.ID+"/metrics", &metrics)
	if len(metrics) != 0 {
		// The failed bundles' metrics are dropped; the other key's bundle
		// may have committed (then its counter shows).
		for _, m := range metrics {
			if m.Kind != "counter" || m.Namespace != "test" || m.Name != "seen" || m.Value != 1 {
				t.Errorf("metric %+v, want only test/seen = 1 of the good element", m)
			}
		}
	}
}

func TestAPIOfAFinishedJob(t *testing.T) {
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()
	gate := make(chan struct{})
	close(gate)
	if err := <-runOnUI(t, ui, "", gatedBatch(gate, []string{"x", "y", "x"})); err != nil {
		t.Fatal(err)
	}
	job := onlyJob(t, srv)
	if job.State != webui.StateDone || job.StagesDone != job.Stages || job.Stages == 0 || job.Elements == 0 {
		t.Errorf("job = %+v, want DONE with every stage done", job)
	}
	var metrics []webui.MetricView
	get(t, srv, "/api/jobs/"+job.ID+"/metrics", &metrics)
	if len(metrics) != 1 || metrics[0].Value != 2 || metrics[0].Name != "seen" {
		t.Errorf("metrics = %+v, want test/seen = 2 (two distinct words)", metrics)
	}
	code, text := get(t, srv, "/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	checkPrometheus(t, text)
	for _, want := range []string{
		`beamgo_job_running{job="` + job.ID + `"} 0`,
		`beamgo_user_counter{job="` + job.ID + `",transform=`,
		`beamgo_stage_output_watermark_seconds{job="` + job.ID + `",stage=`,
		`+Inf`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
}

// checkPrometheus checks the text exposition format: every sample line
// is name{labels} value, after its family's HELP and TYPE.
func checkPrometheus(t *testing.T, text string) {
	t.Helper()
	sample := regexp.MustCompile(`^([a-z_]+)\{([a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*)\} (-?[0-9.e+]+|[+-]Inf|NaN)$`)
	typed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			typed[strings.Fields(f)[0]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		m := sample.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("/metrics line %q is not a sample", line)
			continue
		}
		if !typed[m[1]] {
			t.Errorf("/metrics sample %q comes before its TYPE", line)
		}
	}
}

func TestStreamingJobShowsItsWatermark(t *testing.T) {
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()
	gate := make(chan struct{})
	done := runOnUI(t, ui, "stream", gatedStream(gate))
	job := onlyJob(t, srv)
	var stages []webui.StageView
	waitFor(t, "the scripted watermark of 5 s", func() bool {
		get(t, srv, "/api/jobs/"+job.ID+"/stages", &stages)
		return len(stages) > 0 && stages[0].OutputWatermark.Millis == 5000
	})
	if got := stages[0].OutputWatermark.Text; got != "1970-01-01T00:00:05.000Z" {
		t.Errorf("watermark text = %q, want 1970-01-01T00:00:05.000Z", got)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestUnknownJobsAre404(t *testing.T) {
	srv := httptest.NewServer(webui.New(nil))
	defer srv.Close()
	for _, path := range []string{"/api/jobs/nope", "/api/jobs/nope/plan", "/api/jobs/nope/plan.svg", "/api/jobs/nope/stages",
		"/api/jobs/nope/metrics", "/api/jobs/nope/logs", "/api/jobs/nope/events", "/jobs/nope", "/api/nothing"} {
		code, body := get(t, srv, path, nil)
		if code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
		if strings.HasPrefix(path, "/api/") && !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s body = %s, want a JSON error", path, body)
		}
	}
	if code, _ := post(t, srv, "/api/jobs/nope/cancel", true); code != http.StatusNotFound {
		t.Errorf("POST cancel of an unknown job = %d, want 404", code)
	}
}

func TestRequestsFromElsewhereAreRefused(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		header  string
		value   string
		want    int
	}{
		{name: "a page on another origin is refused", header: "Origin", value: "http://evil.example", want: http.StatusForbidden},
		{name: "a rebound DNS name is refused", header: "Host", value: "evil.example:8080", want: http.StatusForbidden},
		{name: "a loopback origin is served", header: "Origin", value: "http://127.0.0.1:1234", want: http.StatusOK},
		{name: "localhost is served", header: "Origin", value: "http://localhost:8080", want: http.StatusOK},
		{name: "an allowed origin is served", allowed: []string{"https://ui.example"}, header: "Origin", value: "https://ui.example", want: http.StatusOK},
		{name: "an allowed host is served", allowed: []string{"ui.example:443"}, header: "Host", value: "ui.example:443", want: http.StatusOK},
		{name: "a scheme other than http is refused", header: "Origin", value: "file://127.0.0.1", want: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(webui.New(&webui.Options{AllowedOrigins: tt.allowed}))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/jobs", nil)
			if tt.header == "Host" {
				req.Host = tt.value
			} else {
				req.Header.Set(tt.header, tt.value)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("GET /api/jobs with %s: %s = %d, want %d", tt.header, tt.value, resp.StatusCode, tt.want)
			}
		})
	}
	t.Run("a POST without the UI header is refused", func(t *testing.T) {
		ui := webui.New(nil)
		srv := httptest.NewServer(ui)
		defer srv.Close()
		cancelled := false
		j := ui.Add(webui.JobInfo{ID: "j", Cancel: func() { cancelled = true }})
		if code, _ := post(t, srv, "/api/jobs/j/cancel", false); code != http.StatusForbidden || cancelled {
			t.Errorf("POST cancel without X-Beamgo-UI = %d (cancelled %v), want 403 and no cancel", code, cancelled)
		}
		j.Finish(nil, false)
	})
}

func TestStartListensOnLoopbackOnly(t *testing.T) {
	_, err := webui.Start("0.0.0.0:0", nil)
	var ae *webui.AddressError
	if !errors.As(err, &ae) {
		t.Errorf("Start(0.0.0.0:0) = %v, want an *AddressError", err)
	}
	s, err := webui.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	resp, err := http.Get(s.URL() + "api/jobs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %sapi/jobs = %d, want 200", s.URL(), resp.StatusCode)
	}
}

func TestFinishedJobsAreForgotten(t *testing.T) {
	ui := webui.New(&webui.Options{MaxFinishedJobs: 2, FinishedTTL: time.Hour})
	srv := httptest.NewServer(ui)
	defer srv.Close()
	running := ui.Add(webui.JobInfo{ID: "running"})
	for _, id := range []string{"a", "b", "c"} {
		ui.Add(webui.JobInfo{ID: id}).Finish(nil, false)
	}
	var jobs []webui.JobSummary
	get(t, srv, "/api/jobs", &jobs)
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	if strings.Join(ids, ",") != "c,b,running" {
		t.Errorf("jobs kept = %v, want the running one and the 2 newest finished (c,b,running)", ids)
	}
	ui.Remove("running")
	if code, _ := get(t, srv, "/api/jobs/"+running.ID(), nil); code != http.StatusNotFound {
		t.Errorf("GET a removed job = %d, want 404", code)
	}
}
