package webui

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// LogEntry is one job message: the runner's, or a line an SDK worker sent
// through the Fn API's logging service.
type LogEntry struct {
	// Seq numbers the job's messages from 1, so that a client asks for
	// the ones after the last it has (/logs?after=N).
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Level is "debug", "info", "warning" or "error".
	Level string `json:"level"`
	// Source is "runner" or the id of the worker that sent the entry;
	// Transform the transform it logged from, if the worker said.
	Source    string `json:"source,omitempty"`
	Transform string `json:"transform,omitempty"`
	// Text is the message, with the worker's stack trace, if any, on the
	// lines after it; it is cut at MaxLogText bytes.
	Text string `json:"text"`
}

// Bounds of a job's log, so that a chatty job cannot grow the UI's memory
// without end: the oldest entries go first.
const (
	// MaxLogEntries is how many messages a job keeps.
	MaxLogEntries = 1000
	// MaxLogText is the longest message text kept, in bytes.
	MaxLogText = 8 << 10
)

// logRing holds the latest MaxLogEntries messages of a job.
type logRing struct {
	entries []LogEntry
	// next is where the next entry goes once the ring is full; seq is
	// the last entry's number.
	next int
	seq  int64
}

// add appends e, numbering it and dropping the oldest if the ring is full.
func (r *logRing) add(e LogEntry) {
	r.seq++
	e.Seq = r.seq
	if len(e.Text) > MaxLogText {
		e.Text = cutUTF8(e.Text, MaxLogText) + fmt.Sprintf("… (%d bytes cut)", len(e.Text)-MaxLogText)
	}
	if len(r.entries) < MaxLogEntries {
		r.entries = append(r.entries, e)
		return
	}
	r.entries[r.next] = e
	r.next = (r.next + 1) % MaxLogEntries
}

// after returns a copy of the entries numbered above seq, oldest first.
func (r *logRing) after(seq int64) []LogEntry {
	out := []LogEntry{}
	for _, part := range [][]LogEntry{r.entries[r.next:], r.entries[:r.next]} {
		for _, e := range part {
			if e.Seq > seq {
				out = append(out, e)
			}
		}
	}
	return out
}

// cutUTF8 returns s cut to at most n bytes, not inside a character.
func cutUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Log records a runner message at level ("debug", "info", "warning",
// "error").
func (j *Job) Log(level, text string) {
	j.add(LogEntry{Time: time.Now().UTC(), Level: level, Source: "runner", Text: text})
}

// Logf records a runner message at level "warning", formatted as by
// fmt.Sprintf: it fits jobopts.Job.Logf, whose messages are what a runner
// reports without failing the job.
func (j *Job) Logf(format string, args ...any) {
	j.Log("warning", fmt.Sprintf(format, args...))
}

// WorkerLog records a log entry that SDK worker workerID sent through the
// Fn API's logging service: it fits the OnLog options of fnapi/service
// and the portable runners. The entry's structured fields follow the
// message as key=value, and a stack trace it carries follows on lines of
// their own.
func (j *Job) WorkerLog(workerID string, e *fnpb.LogEntry) {
	text := e.GetMessage()
	// Structured fields (a slog record's attributes, say the error of a
	// failed bundle) follow the message as key=value.
	fields := e.GetCustomData().GetFields()
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		v := fields[k]
		if sv, ok := v.GetKind().(*structpb.Value_StringValue); ok {
			text += " " + k + "=" + sv.StringValue
		} else {
			b, _ := protojson.Marshal(v)
			text += " " + k + "=" + string(b)
		}
	}
	if tr := strings.TrimSpace(e.GetTrace()); tr != "" {
		text += "\n" + tr
	}
	at := time.Now().UTC()
	if ts := e.GetTimestamp(); ts != nil {
		at = ts.AsTime().UTC()
	}
	j.add(LogEntry{Time: at, Level: levelOf(e.GetSeverity()), Source: workerID, Transform: e.GetTransformId(), Text: text})
}

func (j *Job) add(e LogEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.logs.add(e)
}

// levelOf is the UI's level of a Fn API severity.
func levelOf(s fnpb.LogEntry_Severity_Enum) string {
	switch {
	case s >= fnpb.LogEntry_Severity_ERROR:
		return "error"
	case s >= fnpb.LogEntry_Severity_WARN:
		return "warning"
	case s >= fnpb.LogEntry_Severity_INFO, s == fnpb.LogEntry_Severity_UNSPECIFIED:
		return "info"
	}
	return "debug"
}

// logEntries returns a copy of the job's messages numbered above after,
// oldest first.
func (j *Job) logEntries(after int64) []LogEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.logs.after(after)
}
