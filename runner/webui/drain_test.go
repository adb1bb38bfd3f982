package webui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/webui"
	"github.com/beamgo-dev/beamgo/sdk"
)

// endless is a streaming job that never ends by itself: an unbounded
// read of 200 records a second, counted in windows of 100 ms.
func endless() *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	src := unbounded.Rate{PerSecond: 200, NumPartitions: 2, Start: time.Now().Truncate(time.Second)}
	ticks := unbounded.Read(s, src, unbounded.Options{PollInterval: 20 * time.Millisecond})
	windowed := sdk.WindowInto(s, sdk.FixedWindows(100*time.Millisecond), ticks)
	keyed := sdk.Map(s, func(unbounded.Tick) sdk.KV[string, int64] { return sdk.KV[string, int64]{Key: "n", Value: 1} }, windowed)
	sdk.ForEachFunc(s, func(ctx context.Context, n int64) error { seen.Inc(ctx, n); return nil }, sdk.Values(s, sdk.SumPerKey(s, keyed)))
	return p
}

func TestAPIDrainsAStreamingJob(t *testing.T) {
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()
	done := runOnUI(t, ui, "endless", endless())
	job := onlyJob(t, srv)
	if !job.Drainable || !job.Cancellable {
		t.Fatalf("running job = %+v, want drainable and cancellable", job)
	}
	waitFor(t, "windows counted", func() bool {
		get(t, srv, "/api/jobs/"+job.ID, &job)
		return job.Elements > 20
	})
	if code, _ := post(t, srv, "/api/jobs/"+job.ID+"/drain", false); code != http.StatusForbidden {
		t.Errorf("POST drain without X-Beamgo-UI = %d, want 403", code)
	}
	code, body := post(t, srv, "/api/jobs/"+job.ID+"/drain", true)
	if code != http.StatusAccepted || !strings.Contains(body, `"state": "DRAINING"`) {
		t.Fatalf("POST drain = %d %s, want 202 and DRAINING", code, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run of the drained job = %v, want its result", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the drained job still runs after a minute")
	}
	get(t, srv, "/api/jobs/"+job.ID, &job)
	if job.State != webui.StateDrained || job.Drainable || job.Cancellable || job.StagesDone != job.Stages {
		t.Errorf("job after the drain = %+v, want DRAINED, every stage done, no buttons", job)
	}
	var logs []webui.LogEntry
	get(t, srv, "/api/jobs/"+job.ID+"/logs", &logs)
	if !containsLog(logs, "drain requested") || !containsLog(logs, "job drained") {
		t.Errorf("logs = %+v, want the drain request and the end", logs)
	}
	if code, _ := post(t, srv, "/api/jobs/"+job.ID+"/drain", true); code != http.StatusConflict {
		t.Errorf("POST drain of an ended job = %d, want 409", code)
	}
}

// A job the runner offers no drain for has no drain button, and its
// drain endpoint refuses.
func TestDrainNeedsARunnerThatDrains(t *testing.T) {
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()
	j := ui.Add(webui.JobInfo{ID: "plain", Cancel: func() {}})
	var job webui.JobSummary
	get(t, srv, "/api/jobs/plain", &job)
	if job.Drainable || !job.Cancellable {
		t.Errorf("job = %+v, want cancellable but not drainable", job)
	}
	if code, _ := post(t, srv, "/api/jobs/plain/drain", true); code != http.StatusConflict {
		t.Errorf("POST drain = %d, want 409", code)
	}
	j.Finish(nil, false)
	get(t, srv, "/api/jobs/plain", &job)
	if job.State != webui.StateDone {
		t.Errorf("state = %s, want DONE: no drain was asked for", job.State)
	}
}

// The log keeps the latest MaxLogEntries messages, numbered, cuts long
// ones, and ?after=N returns those after N.
func TestLogIsBounded(t *testing.T) {
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()
	j := ui.Add(webui.JobInfo{ID: "chatty"})
	total := webui.MaxLogEntries + 25
	for i := 1; i <= total; i++ {
		j.Log("info", fmt.Sprintf("message %d", i))
	}
	j.Log("warning", strings.Repeat("é", webui.MaxLogText))
	var logs []webui.LogEntry
	get(t, srv, "/api/jobs/chatty/logs", &logs)
	if len(logs) != webui.MaxLogEntries {
		t.Fatalf("%d messages kept, want %d", len(logs), webui.MaxLogEntries)
	}
	if first := logs[0]; first.Seq != 27 || first.Text != "message 27" {
		t.Errorf("oldest kept = %+v, want message 27 (the oldest went first)", first)
	}
	long := logs[len(logs)-1]
	if long.Seq != int64(total+1) || len(long.Text) > webui.MaxLogText+40 || !strings.Contains(long.Text, "bytes cut") || !utf8Valid(long.Text) {
		t.Errorf("the long message is %d bytes (seq %d), want it cut to about %d, valid UTF-8", len(long.Text), long.Seq, webui.MaxLogText)
	}
	get(t, srv, fmt.Sprintf("/api/jobs/chatty/logs?after=%d", total-1), &logs)
	if len(logs) != 2 || logs[0].Text != fmt.Sprintf("message %d", total) {
		t.Errorf("logs after %d = %+v, want the last two", total-1, logs)
	}
	if code, _ := get(t, srv, "/api/jobs/chatty/logs?after=x", nil); code != http.StatusBadRequest {
		t.Errorf("?after=x = %d, want 400", code)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

// A worker's log entry shows with its worker, transform, level and stack
// trace on lines of its own.
func TestWorkerLogEntries(t *testing.T) {
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()
	j := ui.Add(webui.JobInfo{ID: "w"})
	j.WorkerLog("worker-1-abc", &fnpb.LogEntry{
		Severity: fnpb.LogEntry_Severity_ERROR, Message: "bundle failed", TransformId: "ParseEvents",
		CustomData: &structpb.Struct{Fields: map[string]*structpb.Value{
			"instruction": structpb.NewStringValue("7"), "error": structpb.NewStringValue("bad record"), "n": structpb.NewNumberValue(3),
		}},
		Trace: "goroutine 7 [running]:\nmain.parse(...)\n\t/src/main.go:42\n",
	})
	j.WorkerLog("worker-2-abc", &fnpb.LogEntry{Severity: fnpb.LogEntry_Severity_DEBUG, Message: "hello"})
	var logs []webui.LogEntry
	get(t, srv, "/api/jobs/w/logs", &logs)
	if len(logs) != 2 {
		t.Fatalf("logs = %+v, want 2", logs)
	}
	want := "bundle failed error=bad record instruction=7 n=3\ngoroutine 7 [running]:\nmain.parse(...)\n\t/src/main.go:42"
	if e := logs[0]; e.Level != "error" || e.Source != "worker-1-abc" || e.Transform != "ParseEvents" || e.Text != want {
		t.Errorf("entry = %+v, want the error of worker-1-abc in ParseEvents with its trace", e)
	}
	if e := logs[1]; e.Level != "debug" || e.Source != "worker-2-abc" {
		t.Errorf("entry = %+v, want worker-2-abc's debug line", e)
	}
}

// event is one server-sent event.
type event struct{ name, id, data string }

// readEvents reads server-sent events from resp into a channel, closed at
// the stream's end.
func readEvents(resp *http.Response) <-chan event {
	out := make(chan event, 100)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				out <- ev
				ev = event{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out
}

// openEvents opens the job's event stream, with Last-Event-ID if not "".
func openEvents(t *testing.T, srv *httptest.Server, id, last string) <-chan event {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/jobs/"+id+"/events", nil)
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return readEvents(resp)
}

// nextUpdate returns the next update of the stream.
func nextUpdate(t *testing.T, events <-chan event) (webui.Update, event) {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok || ev.name != "update" {
			t.Fatalf("event %+v (open %v), want an update", ev, ok)
		}
		var u webui.Update
		if err := json.Unmarshal([]byte(ev.data), &u); err != nil {
			t.Fatalf("update %q: %v", ev.data, err)
		}
		return u, ev
	case <-time.After(20 * time.Second):
		t.Fatal("no update within 20 s")
	}
	panic("unreachable")
}

// The event stream sends the job at once, then its new messages and state
// changes, and ends with the job; a reconnecting client resumes the log.
func TestEventStreamFollowsAJob(t *testing.T) {
	ui := webui.New(&webui.Options{UpdateInterval: time.Hour}) // updates come from changes only
	srv := httptest.NewServer(ui)
	defer srv.Close()
	j := ui.Add(webui.JobInfo{ID: "live"})
	j.Log("info", "one")
	events := openEvents(t, srv, "live", "")
	u, ev := nextUpdate(t, events)
	if u.Job.State != webui.StateRunning || len(u.Logs) != 1 || u.Logs[0].Text != "one" || ev.id != "1" {
		t.Fatalf("first update = %+v (id %s), want RUNNING with message one, id 1", u, ev.id)
	}
	j.Log("info", "two")
	j.SetState(webui.StateCancelling) // a state change sends an update at once
	u, ev = nextUpdate(t, events)
	if u.Job.State != webui.StateCancelling || len(u.Logs) != 1 || u.Logs[0].Text != "two" || ev.id != "2" {
		t.Fatalf("second update = %+v (id %s), want CANCELLING with only message two, id 2", u, ev.id)
	}
	again := openEvents(t, srv, "live", "1")
	if u, _ := nextUpdate(t, again); len(u.Logs) != 1 || u.Logs[0].Text != "two" {
		t.Errorf("update after Last-Event-ID 1 = %+v, want message two only", u.Logs)
	}
	j.Finish(context.Canceled, true)
	u, _ = nextUpdate(t, events)
	if u.Job.State != webui.StateCancelled || u.Job.End == nil {
		t.Errorf("last update = %+v, want CANCELLED with an end", u.Job)
	}
	if ev, ok := <-events; !ok || ev.name != "end" {
		t.Errorf("after the last update: %+v (open %v), want the end event", ev, ok)
	}
	if _, ok := <-events; ok {
		t.Error("the stream stays open after the end event")
	}
}

// Stop ends the event streams of a running job.
func TestStopEndsEventStreams(t *testing.T) {
	ui, err := webui.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	ui.Add(webui.JobInfo{ID: "forever"})
	resp, err := http.Get(ui.URL() + "api/jobs/forever/events")
	if err != nil {
		t.Fatal(err)
	}
	events := readEvents(resp)
	<-events
	stopped := make(chan struct{})
	go func() { ui.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(900 * time.Millisecond):
		t.Fatal("Stop waits for the open event stream")
	}
	for range events {
	}
}
