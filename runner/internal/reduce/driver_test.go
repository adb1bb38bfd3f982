package reduce

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// driver plays the engine around one Reducer: it keeps the input watermark
// and the processing-time clock and computes the output watermark as the
// engine does, OW = max(OW, min(IW, Hold())), before and after every call.
type driver struct {
	t testing.TB
	r *Reducer
	// spill makes every call spill all buffered values after it.
	spill      bool
	fn         window.Fn
	iw, ow, pt window.Time
	callOW     window.Time // the output watermark of the last call
	ids        int         // elements added by replay
}

func newDriver(t testing.TB, s Strategy) *driver {
	t.Helper()
	r, err := New(s)
	if err != nil {
		t.Fatalf("New(%+v): %v", s, err)
	}
	fn := s.WindowFn
	if fn.Kind == "" {
		fn = window.GlobalFn()
	}
	return &driver{t: t, r: r, fn: fn, iw: window.MinTime, ow: window.MinTime}
}

func (d *driver) times() Times {
	d.callOW = d.ow
	return Times{Input: d.iw, Output: d.ow, Processing: d.pt}
}

// settle moves the output watermark up to the reducer's hold; it follows
// every call, and spills after it with d.spill.
func (d *driver) settle() {
	d.ow = max(d.ow, min(d.iw, d.r.Hold()))
	if d.spill {
		if d.r.vals.file == nil {
			d.r.SpillTo(d.t.TempDir())
		}
		if err := d.r.Spill(0); err != nil {
			d.t.Fatalf("Spill: %v", err)
		}
	}
}

// elem returns an element of key k with value v at ts, windowed by d's fn.
func (d *driver) elem(k, v string, ts window.Time) Element {
	return Element{Key: []byte(k), Value: []byte(v), Timestamp: ts, Windows: d.fn.Assign(nil, ts)}
}

func (d *driver) add(es ...Element) []Pane {
	d.settle()
	ps := d.r.Add(es, d.times())
	d.settle()
	return ps
}

func (d *driver) watermark(iw window.Time) []Pane {
	d.iw = max(d.iw, iw)
	d.settle()
	ps := d.r.Advance(d.times())
	d.settle()
	return ps
}

func (d *driver) clock(pt window.Time) []Pane {
	d.pt = pt
	d.settle()
	ps := d.r.Advance(d.times())
	d.settle()
	return ps
}

// fmtPane renders a pane as (values, ts, first/last, timing, index, nsi),
// the notation of the reference's section 9.
func fmtPane(p Pane) string {
	vs := make([]string, len(p.Values))
	for i, v := range p.Values {
		vs[i] = string(v)
	}
	fl := ""
	if p.Info.IsFirst {
		fl += "F"
	}
	if p.Info.IsLast {
		fl += "L"
	}
	if fl == "" {
		fl = "-"
	}
	timing := [...]string{"EARLY", "ON_TIME", "LATE", "UNKNOWN"}[p.Info.Timing]
	return fmt.Sprintf("%s [%s] %d %s %s %d %d", p.Key, strings.Join(vs, ","), p.Timestamp, fl, timing, p.Info.Index, p.Info.NonSpeculativeIndex)
}

func fmtPanes(ps []Pane) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, fmtPane(p))
	}
	return out
}

func sec(s float64) window.Time { return window.Time(s * 1000) }

func fixed10() window.Fn { return window.FixedFn(10 * time.Second) }

// javaDefaults is Java's default strategy over Fixed(10s) windows:
// END_OF_WINDOW, EMIT_IF_NONEMPTY, FIRE_ALWAYS, DISCARDING, no lateness.
func javaDefaults() Strategy { return Strategy{WindowFn: fixed10(), OnTimeAlways: true} }
