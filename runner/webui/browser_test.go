package webui_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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

// browser loads pages in headless Chromium.
type browser struct {
	t   *testing.T
	bin string
}

// run runs Chromium headless on url with the extra flags, letting the
// page's scripts run for 3 s of virtual time, and returns its stdout.
func (b browser) run(url string, flags ...string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir=" + b.t.TempDir(), "--virtual-time-budget=3000", "--window-size=1280,1500",
	}, flags...)
	cmd := exec.CommandContext(ctx, b.bin, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.t.Fatalf("%s %s: %v\n%s", b.bin, url, err, stderr.String())
	}
	return string(out)
}

// dom returns the page's DOM after its scripts ran.
func (b browser) dom(url string) string { return b.run(url, "--dump-dom") }

// screenshot saves a PNG of the page in the test's artifact directory
// (kept with go test -artifacts).
func (b browser) screenshot(url, name string) {
	b.t.Helper()
	path := filepath.Join(b.t.ArtifactDir(), name)
	b.run(url, "--screenshot="+path)
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		b.t.Errorf("screenshot %s was not written: %v", path, err)
	}
	b.t.Logf("screenshot: %s", path)
}

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
	b := browser{t: t, bin: chromium(t)}
	ui := webui.New(nil)
	srv := httptest.NewServer(ui)
	defer srv.Close()

	t.Run("a running job shows its plan, watermarks and growing counters", func(t *testing.T) {
		b := browser{t: t, bin: b.bin}
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
		first := b.dom(page)
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
		second := b.dom(page)
		if n1, n2 := elementsShown(t, first), elementsShown(t, second); n2 <= n1 {
			t.Errorf("elements shown went from %d to %d, want them to grow while the job runs", n1, n2)
		}
		b.screenshot(page, "running-job.png")
		list := b.dom(srv.URL + "/")
		if !strings.Contains(list, `data-job="`+job.ID+`"`) {
			t.Errorf("the job list lacks %s:\n%s", job.ID, list)
		}
	})

	t.Run("a streaming job shows its event-time watermark", func(t *testing.T) {
		b := browser{t: t, bin: b.bin}
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
		dom := b.dom(page)
		if !strings.Contains(dom, `<td class="ow">1970-01-01T00:00:05.000Z</td>`) {
			t.Errorf("the page does not show the output watermark at 5 s:\n%s", dom)
		}
		b.screenshot(page, "streaming-job.png")
	})

	t.Run("a failed job shows its error", func(t *testing.T) {
		b := browser{t: t, bin: b.bin}
		gate := make(chan struct{})
		close(gate)
		if err := <-runOnUI(t, ui, "failing", gatedBatch(gate, []string{"ok", "bad"})); err == nil {
			t.Fatal("Run succeeded, want the bad element's error")
		}
		job := waitJob(t, srv, "failing")
		page := srv.URL + "/jobs/" + job.ID
		dom := b.dom(page)
		if !strings.Contains(dom, `class="state FAILED"`) || !regexp.MustCompile(`id="error">[^<]*element "bad" is bad`).MatchString(dom) {
			t.Errorf("the page does not show the failure and its error:\n%s", dom)
		}
		if !strings.Contains(dom, `class="stage failed"`) {
			t.Errorf("the plan does not mark the failed stage:\n%s", dom)
		}
		b.screenshot(page, "failed-job.png")
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
