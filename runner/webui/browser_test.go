package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner/webui"
	"github.com/beamgo-dev/beamgo/sdk"
)

// chromium returns the path of a Chromium (Debian's chromium package, which
// .ci/run installs). Without one, the test is skipped, except under
// CI=true, where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH (chromium, chromium-browser, google-chrome): install Debian's package with `apt-get install chromium`; .ci/run installs it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser loads pages in headless Chromium, driven over the DevTools
// protocol, in real time: a job's page follows a live event stream, which
// Chromium's --dump-dom with a virtual-time budget would wait on.
type browser struct {
	t *testing.T
	d *devtools
}

// newBrowser starts Chromium for the test.
func newBrowser(t *testing.T, bin string) browser {
	return browser{t: t, d: openDevtools(t, bin)}
}

// dom loads url, waits until the JavaScript expression ready is true, and
// returns the page's DOM.
func (b browser) dom(url, ready string) string {
	b.t.Helper()
	b.d.navigate(url)
	b.d.waitEval("the page at "+url, ready, "true")
	var html string
	json.Unmarshal([]byte(b.d.eval("document.documentElement.outerHTML")), &html)
	return html
}

// jobPage is true once a job's page has drawn the job.
const jobPage = `document.getElementById("state") !== null`

// screenshot saves a PNG of the page loaded last in the test's artifact
// directory (kept with go test -artifacts).
func (b browser) screenshot(name string) { b.t.Helper(); b.d.screenshot(name) }

// slowStream is a TestStream of n elements, one a second of event time,
// each its own event (so its own bundle), that a Map holds for 20 ms each:
// the job's counters and watermarks grow for n/50 seconds or more.
func slowStream(n int) *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[int](s)
	for i := range n {
		ts.AddElementsAt(time.Unix(int64(i), 0), i)
		ts.AdvanceWatermarkTo(time.Unix(int64(i), 0))
	}
	ts.AdvanceWatermarkToInfinity()
	slow := sdk.Map(s, func(i int) int { time.Sleep(20 * time.Millisecond); return i }, ts.Output())
	sdk.ForEachFunc(s, func(ctx context.Context, i int) error { seen.Inc(ctx, 1); return nil }, sdk.Reshuffle(s, slow))
	return p
}

var elementsCard = regexp.MustCompile(`id="elements">([0-9,]+)<`)

// elementsShown returns the job's element count on its page.
func elementsShown(t *testing.T, dom string) int64 {
	t.Helper()
	m := elementsCard.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page shows no element count:\n%s", dom)
	}
	n, _ := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
	return n
}

func TestBrowserShowsRunningAndFinishedJobs(t *testing.T) {
	bin := chromium(t)
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()

	t.Run("a running job shows its plan, watermarks and growing counters", func(t *testing.T) {
		b := newBrowser(t, bin)
		done := runOnUI(t, ui, "slow", slowStream(1500)) // 30 s or more: the test cancels it
		job := waitJob(t, srv, "slow")
		defer func() {
			post(t, srv, "/api/jobs/"+job.ID+"/cancel", true)
			<-done
		}()
		page := srv.URL + "/jobs/" + job.ID
		var stages []webui.StageView
		waitFor(t, "both stages to commit a bundle", func() bool {
			get(t, srv, "/api/jobs/"+job.ID+"/stages", &stages)
			return len(stages) == 2 && stages[0].Bundles > 0 && stages[1].Bundles > 0
		})
		first := b.dom(page, jobPage+` && document.querySelectorAll("[data-stage]").length > 0`)
		for _, s := range stages {
			if !strings.Contains(first, `data-stage="`+s.ID+`"`) {
				t.Errorf("the page lacks stage %s:\n%s", s.ID, first)
			}
		}
		if !strings.Contains(first, "Map(webui_test.slowStream") || !strings.Contains(first, `class="state RUNNING"`) {
			t.Errorf("the page lacks the plan's transforms or the RUNNING state:\n%s", first)
		}
		if !regexp.MustCompile(`<td class="ow">1970-01-01T00:0\d:\d\d.000Z</td>`).MatchString(first) {
			t.Errorf("the page shows no event-time watermark:\n%s", first)
		}
		time.Sleep(2 * time.Second) // the page updates itself while the job runs
		var second string
		json.Unmarshal([]byte(b.d.eval("document.documentElement.outerHTML")), &second)
		if n1, n2 := elementsShown(t, first), elementsShown(t, second); n2 <= n1 {
			t.Errorf("elements shown went from %d to %d, want them to grow while the job runs", n1, n2)
		}
		b.screenshot("running-job.png")
		list := b.dom(srv.URL+"/", `document.querySelector("[data-job]") !== null`)
		if !strings.Contains(list, `data-job="`+job.ID+`"`) {
			t.Errorf("the job list lacks %s:\n%s", job.ID, list)
		}
	})

	t.Run("a streaming job shows its event-time watermark", func(t *testing.T) {
		b := newBrowser(t, bin)
		gate := make(chan struct{})
		done := runOnUI(t, ui, "stream", gatedStream(gate))
		defer func() { close(gate); <-done }()
		job := waitJob(t, srv, "stream")
		var stages []webui.StageView
		waitFor(t, "the scripted watermark of 5 s", func() bool {
			get(t, srv, "/api/jobs/"+job.ID+"/stages", &stages)
			return len(stages) > 0 && stages[0].OutputWatermark.Millis == 5000
		})
		page := srv.URL + "/jobs/" + job.ID
		dom := b.dom(page, jobPage+` && document.querySelector("td.ow") !== null`)
		if !strings.Contains(dom, `<td class="ow">1970-01-01T00:00:05.000Z</td>`) {
			t.Errorf("the page does not show the output watermark at 5 s:\n%s", dom)
		}
		b.screenshot("streaming-job.png")
	})

	t.Run("a failed job shows its error", func(t *testing.T) {
		b := newBrowser(t, bin)
		gate := make(chan struct{})
		close(gate)
		if err := <-runOnUI(t, ui, "failing", gatedBatch(gate, []string{"ok", "bad"})); err == nil {
			t.Fatal("Run succeeded, want the bad element's error")
		}
		job := waitJob(t, srv, "failing")
		page := srv.URL + "/jobs/" + job.ID
		dom := b.dom(page, jobPage+` && document.getElementById("error") !== null`)
		if !strings.Contains(dom, `class="state FAILED"`) || !regexp.MustCompile(`id="error">[^<]*element "bad" is bad`).MatchString(dom) {
			t.Errorf("the page does not show the failure and its error:\n%s", dom)
		}
		if !strings.Contains(dom, `class="stage failed"`) {
			t.Errorf("the plan does not mark the failed stage:\n%s", dom)
		}
		b.screenshot("failed-job.png")
	})
}

// waitJob waits for the job named name on srv's list.
func waitJob(t *testing.T, srv *httptest.Server, name string) webui.JobSummary {
	t.Helper()
	var found webui.JobSummary
	waitFor(t, fmt.Sprintf("job %q", name), func() bool {
		var jobs []webui.JobSummary
		get(t, srv, "/api/jobs", &jobs)
		for _, j := range jobs {
			if j.Name == name {
				found = j
				return true
			}
		}
		return false
	})
	return found
}

// The drain button of a streaming job's page drains it: the page, following
// the job's server-sent events, shows it DRAINING and then DRAINED, and
// Run returns the job's result.
func TestBrowserDrainsAStreamingJob(t *testing.T) {
	bin := chromium(t)
	ui := webui.New(&webui.Options{UpdateInterval: 200 * time.Millisecond})
	srv := httptest.NewServer(ui)
	defer srv.Close()
	done := runOnUI(t, ui, "endless", endless())
	job := waitJob(t, srv, "endless")
	waitFor(t, "windows counted", func() bool {
		get(t, srv, "/api/jobs/"+job.ID, &job)
		return job.Elements > 20
	})
	d := openDevtools(t, bin)
	d.open(srv.URL + "/jobs/" + job.ID)
	d.waitEval("the drain button", `document.getElementById("drain") !== null`, "true")
	d.waitEval("a RUNNING job", `document.getElementById("state").textContent`, `"RUNNING"`)
	d.screenshot("streaming-job-before-drain.png")
	d.eval(`document.getElementById("drain").click(), true`)
	d.waitEval("the job drained", `document.getElementById("state").textContent`, `"DRAINED"`)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run of the drained job = %v, want its result", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the drained job still runs after a minute")
	}
	if got := d.eval(`document.getElementById("drain") === null && document.getElementById("cancel") === null`); got != "true" {
		t.Error("the drained job's page still shows its buttons")
	}
	if got := d.eval(`document.getElementById("logs").textContent.includes("drain requested from the web UI")`); got != "true" {
		t.Error("the page's log lacks the drain request")
	}
	// The page followed the event stream, and never polled.
	if got := d.eval(`performance.getEntriesByType("resource").some(e => e.name.endsWith("/events")) &&
		!performance.getEntriesByType("resource").some(e => e.name.endsWith("/stages"))`); got != "true" {
		t.Errorf("the page did not follow the event stream alone: %s", d.eval(`performance.getEntriesByType("resource").map(e => e.name).join(" ")`))
	}
	d.screenshot("drained-job.png")
}
