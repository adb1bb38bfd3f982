package main

import (
	"bufio"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/runner/webui"
)

// watcher is a web UI with a client that follows the job's event stream,
// as a browser with the job's page open does.
type watcher struct {
	ui   *webui.Server
	done chan int
}

// watchUI starts a web UI on loopback, sets it in opts, and follows the
// event stream of the first job on it.
func watchUI(opts *local.Options) *watcher {
	ui, err := webui.Start("127.0.0.1:0", nil)
	if err != nil {
		log.Fatal(err)
	}
	opts.UI, opts.JobName = ui, "wordcount"
	w := &watcher{ui: ui, done: make(chan int, 1)}
	go w.follow(ui.URL() + "api/jobs/job-1/events")
	return w
}

// follow reads the event stream at url (retrying until the job is on the
// UI) until it ends, and sends the number of updates read.
func (w *watcher) follow(url string) {
	updates := 0
	defer func() { w.done <- updates }()
	for range 500 {
		resp, err := http.Get(url)
		if err != nil {
			return
		}
		if resp.StatusCode == http.StatusNotFound {
			resp.Body.Close()
			time.Sleep(5 * time.Millisecond)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: update") {
				updates++
			}
		}
		resp.Body.Close()
		return
	}
}

// stop waits for the event stream to end, reports the updates it read on
// stderr, and stops the UI.
func (w *watcher) stop() {
	select {
	case n := <-w.done:
		log.Printf("wordcount: the web UI sent %d updates", n)
	case <-time.After(5 * time.Second):
		log.Printf("wordcount: the web UI's event stream did not end")
	}
	w.ui.Stop()
}
