package webui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// devtools drives a headless Chromium over the DevTools protocol on a
// pipe (--remote-debugging-pipe: commands on fd 3, replies on fd 4, each
// message ending in a NUL byte), so that a test can click the page's
// buttons and watch it change in real time, which --dump-dom cannot.
type devtools struct {
	t       *testing.T
	cmd     *exec.Cmd
	in      *os.File
	out     *bufio.Reader
	next    int
	session string
}

// openDevtools starts Chromium on a blank page.
func openDevtools(t *testing.T, bin string) *devtools {
	t.Helper()
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: Chromium's helper processes may still write to the
	// profile for a moment after the browser exits, which fails
	// t.TempDir's removal; the cleanup below retries instead.
	profile, err := os.MkdirTemp("", "webui-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir="+profile, "--window-size=1280,1500", "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, outW} // fds 3 and 4
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	cmdR.Close()
	outW.Close()
	d := &devtools{t: t, cmd: cmd, in: cmdW, out: bufio.NewReader(outR)}
	t.Cleanup(func() {
		// Closing the pipe ends a headless browser with its helpers;
		// kill it only if it has not exited within 5 s.
		cmdW.Close()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		outR.Close()
		removeProfile(t, profile)
	})
	return d
}

// removeProfile removes Chromium's profile directory, retrying for up to
// 5 s while its helper processes finish writing to it.
func removeProfile(t *testing.T, dir string) {
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
	}
	t.Errorf("remove the browser profile %s: %v", dir, err)
}

// call sends a command (to the page's session if attached) and returns
// its result, skipping the events in between; it fails the test on an
// error reply or after 30 s.
func (d *devtools) call(method string, params any) json.RawMessage {
	d.t.Helper()
	d.next++
	msg := map[string]any{"id": d.next, "method": method, "params": params}
	if d.session != "" {
		msg["sessionId"] = d.session
	}
	b, _ := json.Marshal(msg)
	if _, err := d.in.Write(append(b, 0)); err != nil {
		d.t.Fatalf("devtools %s: %v", method, err)
	}
	type reply struct {
		ID     int             `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	got := make(chan reply, 1)
	go func() {
		for {
			line, err := d.out.ReadBytes(0)
			if err != nil {
				got <- reply{ID: -1, Error: &struct {
					Message string `json:"message"`
				}{err.Error()}}
				return
			}
			var r reply
			if json.Unmarshal(bytes.TrimSuffix(line, []byte{0}), &r) == nil && r.ID == d.next {
				got <- r
				return
			}
		}
	}()
	select {
	case r := <-got:
		if r.Error != nil {
			d.t.Fatalf("devtools %s: %s", method, r.Error.Message)
		}
		return r.Result
	case <-time.After(30 * time.Second):
		d.t.Fatalf("devtools %s: no reply in 30 s", method)
	}
	return nil
}

// open opens url in a new tab and attaches to it.
func (d *devtools) open(url string) {
	d.t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	json.Unmarshal(d.call("Target.createTarget", map[string]any{"url": url}), &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	json.Unmarshal(d.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}), &att)
	d.session = att.SessionID
}

// navigate loads url in the attached tab.
func (d *devtools) navigate(url string) {
	d.t.Helper()
	if d.session == "" {
		d.open(url)
		return
	}
	d.call("Page.navigate", map[string]any{"url": url})
	b, _ := json.Marshal(url)
	d.waitEval("the navigation to "+url, "location.href === "+string(b), "true")
}

// eval evaluates a JavaScript expression on the page and returns its
// value as JSON.
func (d *devtools) eval(expr string) string {
	d.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	json.Unmarshal(d.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}), &r)
	if r.Exception != nil {
		d.t.Fatalf("evaluating %s: %s", expr, r.Exception.Text)
	}
	return string(r.Result.Value)
}

// waitEval evaluates expr until it returns want, for up to a minute.
func (d *devtools) waitEval(what, expr, want string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		got := d.eval(expr)
		if got == want {
			return
		}
		select {
		case <-ctx.Done():
			d.t.Fatalf("timed out waiting for %s: %s is %s, want %s", what, expr, got, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// screenshot saves a PNG of the page in the test's artifact directory.
func (d *devtools) screenshot(name string) {
	d.t.Helper()
	var r struct {
		Data string `json:"data"`
	}
	json.Unmarshal(d.call("Page.captureScreenshot", map[string]any{"format": "png"}), &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) == 0 {
		d.t.Fatalf("screenshot: %v (%d bytes)", err, len(png))
	}
	path := filepath.Join(d.t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		d.t.Fatal(err)
	}
	d.t.Logf("screenshot: %s", path)
}
