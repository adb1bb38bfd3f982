package jobservice_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
	"github.com/beamgo-dev/beamgo/runner/webui"
	"github.com/beamgo-dev/beamgo/sdk"
)

// getJSON decodes the JSON at srv's path into v and returns the status.
func getJSON(t *testing.T, srv *httptest.Server, path string, v any) int {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

func TestJobsShowOnTheWebUIUntilForgotten(t *testing.T) {
	ui := webui.New(nil)
	uiSrv := httptest.NewServer(ui)
	defer uiSrv.Close()
	srv := start(t, &jobservice.Options{UI: ui, FinishedTTL: 2 * time.Second})
	runGoodJob(t, srv)

	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, sdk.DoFn[string, int](failing{}), sdk.Create(s, []string{"fine", "boom"}))
	if _, err := submitter(srv).Run(testCtx(t), p); err == nil {
		t.Fatal("the failing job succeeded")
	}

	var jobs []webui.JobSummary
	getJSON(t, uiSrv, "/api/jobs", &jobs)
	if len(jobs) != 2 {
		t.Fatalf("UI jobs = %+v, want the 2 jobs run", jobs)
	}
	failed, good := jobs[0], jobs[1] // newest first
	if good.State != webui.StateDone || good.Runner != "jobserver" || good.Stages == 0 || good.StagesDone != good.Stages {
		t.Errorf("good job on the UI = %+v, want DONE with every stage done", good)
	}
	if failed.State != webui.StateFailed || !strings.Contains(failed.Error, "element boom is not allowed") {
		t.Errorf("failed job on the UI = %+v, want FAILED with the DoFn's error", failed)
	}
	var metrics []webui.MetricView
	getJSON(t, uiSrv, "/api/jobs/"+good.ID+"/metrics", &metrics)
	if len(metrics) != 1 || metrics[0].Name != "kept" || metrics[0].Value != 7 {
		t.Errorf("good job's metrics = %+v, want test/kept = 7", metrics)
	}
	var logs []webui.LogEntry
	getJSON(t, uiSrv, "/api/jobs/"+failed.ID+"/logs", &logs)
	if len(logs) == 0 || logs[len(logs)-1].Level != "error" {
		t.Errorf("failed job's log = %+v, want its error last", logs)
	}
	// The workers' own log entries (here the harness's report of the
	// failed bundle) reach the job's log through the Fn API's logging
	// service.
	waitFor(t, "a worker's log entry on the UI", func() bool {
		getJSON(t, uiSrv, "/api/jobs/"+failed.ID+"/logs", &logs)
		for _, e := range logs {
			if strings.HasPrefix(e.Source, "worker-") && e.Level == "error" && strings.Contains(e.Text, "element boom is not allowed") {
				return true
			}
		}
		return false
	})

	// The server forgets finished jobs after FinishedTTL; so does the UI.
	waitFor(t, "the finished jobs to be forgotten", func() bool {
		var now []webui.JobSummary
		getJSON(t, uiSrv, "/api/jobs", &now)
		return len(now) == 0
	})
}

// blocking holds every element until its bundle's context is done.
type blocking struct{}

func (blocking) ProcessElement(ctx context.Context, _ string, _ func(int)) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestTheWebUICancelsARunningJob(t *testing.T) {
	ui := webui.New(nil)
	uiSrv := httptest.NewServer(ui)
	defer uiSrv.Close()
	srv := start(t, &jobservice.Options{UI: ui})
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, sdk.DoFn[string, int](blocking{}), sdk.Create(s, []string{"wait"}))
	done := make(chan error, 1)
	go func() {
		_, err := submitter(srv).Run(testCtx(t), p)
		done <- err
	}()
	var jobs []webui.JobSummary
	waitFor(t, "the running job on the UI", func() bool {
		getJSON(t, uiSrv, "/api/jobs", &jobs)
		return len(jobs) == 1 && jobs[0].State == webui.StateRunning && jobs[0].Cancellable
	})
	req, _ := http.NewRequest(http.MethodPost, uiSrv.URL+"/api/jobs/"+jobs[0].ID+"/cancel", nil)
	req.Header.Set("X-Beamgo-UI", "1")
	resp, err := uiSrv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST cancel = %d, want 202", resp.StatusCode)
	}
	if err := <-done; err == nil {
		t.Fatal("the cancelled job's Run succeeded")
	}
	var job webui.JobSummary
	waitFor(t, "the job cancelled on the UI", func() bool {
		getJSON(t, uiSrv, "/api/jobs/"+jobs[0].ID, &job)
		return job.State == webui.StateCancelled
	})
	jc, _ := client(t, srv)
	st, err := jc.GetState(testCtx(t), &jobpb.GetJobStateRequest{JobId: jobs[0].ID})
	if err != nil || st.GetState() != jobpb.JobState_CANCELLED {
		t.Errorf("GetState = %v, %v; want CANCELLED", st, err)
	}
}

// endless is a streaming job that never ends by itself: an unbounded read
// of 200 records a second, counted in windows of 100 ms.
func endless() *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	src := unbounded.Rate{PerSecond: 200, NumPartitions: 2, Start: time.Now().Truncate(time.Second)}
	ticks := unbounded.Read(s, src, unbounded.Options{PollInterval: 20 * time.Millisecond})
	windowed := sdk.WindowInto(s, sdk.FixedWindows(100*time.Millisecond), ticks)
	keyed := sdk.Map(s, func(unbounded.Tick) sdk.KV[string, int64] { return sdk.KV[string, int64]{Key: "n", Value: 1} }, windowed)
	sdk.SumPerKey(s, keyed)
	return p
}

// A streaming job drains from the web UI's button (POST .../drain) or
// through JobService.Drain: it ends DRAINED, and its submitter gets the
// result.
func TestDrainingAStreamingJob(t *testing.T) {
	ui := webui.New(nil)
	uiSrv := httptest.NewServer(ui)
	defer uiSrv.Close()
	srv := start(t, &jobservice.Options{UI: ui})
	jc, _ := client(t, srv)
	for _, how := range []string{"web UI", "JobService.Drain"} {
		t.Run(how, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := submitter(srv).Run(testCtx(t), endless())
				done <- err
			}()
			var job webui.JobSummary
			waitFor(t, "the job reading on the UI", func() bool {
				var jobs []webui.JobSummary
				getJSON(t, uiSrv, "/api/jobs", &jobs)
				if len(jobs) == 0 || jobs[0].State != webui.StateRunning {
					return false
				}
				job = jobs[0]
				return job.Drainable && job.Elements > 10
			})
			if how == "web UI" {
				req, _ := http.NewRequest(http.MethodPost, uiSrv.URL+"/api/jobs/"+job.ID+"/drain", nil)
				req.Header.Set("X-Beamgo-UI", "1")
				resp, err := uiSrv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					t.Fatalf("POST drain = %d, want 202", resp.StatusCode)
				}
			} else {
				resp, err := jc.Drain(testCtx(t), &jobpb.DrainJobRequest{JobId: job.ID})
				if err != nil || resp.GetState() != jobpb.JobState_DRAINING {
					t.Fatalf("Drain = %v, %v; want DRAINING", resp, err)
				}
			}
			if err := <-done; err != nil {
				t.Fatalf("Run of the drained job = %v, want its result", err)
			}
			st, err := jc.GetState(testCtx(t), &jobpb.GetJobStateRequest{JobId: job.ID})
			if err != nil || st.GetState() != jobpb.JobState_DRAINED {
				t.Errorf("GetState = %v, %v; want DRAINED", st, err)
			}
			getJSON(t, uiSrv, "/api/jobs/"+job.ID, &job)
			if job.State != webui.StateDrained || job.StagesDone != job.Stages {
				t.Errorf("job on the UI = %+v, want DRAINED with every stage done", job)
			}
			_, err = jc.Drain(testCtx(t), &jobpb.DrainJobRequest{JobId: job.ID})
			if status.Code(err) != codes.FailedPrecondition {
				t.Errorf("Drain of the ended job = %v, want FailedPrecondition", err)
			}
		})
	}
}
