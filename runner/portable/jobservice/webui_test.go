package jobservice_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

	// The server forgets finished jobs after FinishedTTL; so does the UI.
	waitFor(t, "the finished jobs to be forgotten", func() bool {
		var now []webui.JobSummary
		getJSON(t, uiSrv, "/api/jobs", &now)
		return len(now) == 0
	})
}
