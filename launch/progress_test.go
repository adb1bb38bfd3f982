package launch

import (
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner/local"
)

func TestProgressViewRedrawsAStageBlockOnATerminal(t *testing.T) {
	now := time.Unix(1000, 0)
	var out strings.Builder
	v := &progressView{w: &out, terminal: true, now: func() time.Time { return now }}
	stages := func(read, stream int64, readDone float64) []local.StageProgress {
		return []local.StageProgress{
			{ID: "s0", Input: "impulse", Done: true, Elements: 1},
			{ID: "s1", Input: "data", Elements: read, Running: 2, ReadDone: readDone, ReadRemaining: 100 - readDone},
			{ID: "s2", Input: "teststream", Elements: stream, Unbounded: true, Pending: 7, OutputWatermark: now.Add(-1500 * time.Millisecond)},
		}
	}
	v.show(local.Progress{StagesDone: 1, Stages: 3, Elements: 100, Elapsed: time.Second, StageProgress: stages(50, 50, 20)})
	first := out.String()
	if strings.Contains(first, "\x1b[4A") || strings.Count(first, "\n") != 4 {
		t.Errorf("first block = %q, want 4 lines and no cursor movement", first)
	}
	out.Reset()
	v.show(local.Progress{StagesDone: 1, Stages: 3, Elements: 400, Elapsed: 2 * time.Second, StageProgress: stages(250, 150, 40)})
	second := out.String()
	for _, want := range []string{
		"\x1b[4A", // back over the previous block
		"stages 1/3 done, 400 elements, 200/s",
		"s0     impulse    done, 1 elements",
		"s1     data       250 elements, 200/s, 0 pending, 2 running, about 3s left", // 60 left at 20 a second
		"s2     teststream 150 elements, 100/s, 7 pending, 0 running, watermark lag 1.5s",
	} {
		if !strings.Contains(second, want) {
			t.Errorf("second block = %q, want it to contain %q", second, want)
		}
	}
}

func TestProgressViewPrintsALineElsewhere(t *testing.T) {
	var out strings.Builder
	v := &progressView{w: &out, now: time.Now}
	v.show(local.Progress{StagesDone: 0, Stages: 2, Elements: 10, Elapsed: 2 * time.Second, StageProgress: []local.StageProgress{{ID: "s0"}}})
	v.show(local.Progress{StagesDone: 1, Stages: 2, Elements: 30, Elapsed: 3 * time.Second})
	want := "stages 0/2 done, 10 elements, 5/s, 2s\nstages 1/2 done, 30 elements, 10/s, 3s\n"
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}
