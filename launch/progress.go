package launch

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/runner/local"
)

// progressView renders a job's progress about once a second: on a
// terminal, a block of lines redrawn in place, a line per stage with its
// elements per second, backlog, the watermark lag of unbounded stages and
// the time left of bounded reads; elsewhere, one summary line per update.
type progressView struct {
	w        io.Writer
	terminal bool
	// lines is how many lines the last block drew; last is the previous
	// update, for rates.
	lines int
	last  local.Progress
	now   func() time.Time
}

// show renders p.
func (v *progressView) show(p local.Progress) {
	lines := []string{v.summary(p)}
	if v.terminal {
		for i, sp := range p.StageProgress {
			lines = append(lines, v.stageLine(sp, v.previous(i, sp.ID), p.Elapsed-v.last.Elapsed))
		}
	}
	var b strings.Builder
	if v.terminal && v.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.lines) // back to the block's first line
	}
	for _, l := range lines {
		if v.terminal {
			b.WriteString("\x1b[2K") // clear the old line
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	io.WriteString(v.w, b.String())
	v.lines, v.last = len(lines), p
}

// summary is the job's line: stages done, elements and their rate.
func (v *progressView) summary(p local.Progress) string {
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Elements) / s
	}
	return fmt.Sprintf("stages %d/%d done, %d elements, %.0f/s, %v", p.StagesDone, p.Stages, p.Elements, rate, p.Elapsed.Round(time.Second))
}

// previous returns the stage's last update, if there was one.
func (v *progressView) previous(i int, id string) *local.StageProgress {
	if i < len(v.last.StageProgress) && v.last.StageProgress[i].ID == id {
		return &v.last.StageProgress[i]
	}
	return nil
}

// stageLine describes a stage; prev (if not nil) is its state dt ago.
func (v *progressView) stageLine(sp local.StageProgress, prev *local.StageProgress, dt time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-6s %-10s", sp.ID, sp.Input)
	if sp.Done {
		fmt.Fprintf(&b, " done, %d elements", sp.Elements)
		return b.String()
	}
	fmt.Fprintf(&b, " %d elements", sp.Elements)
	if prev != nil && dt > 0 {
		fmt.Fprintf(&b, ", %.0f/s", float64(sp.Elements-prev.Elements)/dt.Seconds())
	}
	fmt.Fprintf(&b, ", %d pending, %d running", sp.Pending, sp.Running)
	if sp.Unbounded && !sp.OutputWatermark.IsZero() {
		fmt.Fprintf(&b, ", watermark lag %v", v.now().Sub(sp.OutputWatermark).Round(100*time.Millisecond))
	}
	if left, ok := readTimeLeft(sp, prev, dt); ok {
		fmt.Fprintf(&b, ", about %v left", left.Round(time.Second))
	}
	return b.String()
}

// readTimeLeft estimates when the stage's reads end, from the rate at
// which their trackers' work was done since the previous update. It
// estimates only a bounded stage whose work is all in its running reads
// (none queued, nothing pending), which the trackers know about.
func readTimeLeft(sp local.StageProgress, prev *local.StageProgress, dt time.Duration) (time.Duration, bool) {
	if prev == nil || dt <= 0 || sp.Unbounded || sp.Queued > 0 || sp.Pending > 0 || sp.ReadRemaining <= 0 {
		return 0, false
	}
	doneRate := (sp.ReadDone - prev.ReadDone) / dt.Seconds()
	if doneRate <= 0 {
		return 0, false
	}
	return time.Duration(sp.ReadRemaining / doneRate * float64(time.Second)), true
}
