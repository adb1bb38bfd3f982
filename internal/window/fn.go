package window

import (
	"fmt"
	"slices"
	"time"
)

// Kind names a window function.
type Kind string

// The window functions of Beam's model.
const (
	KindGlobal   Kind = "global"
	KindFixed    Kind = "fixed"
	KindSliding  Kind = "sliding"
	KindSessions Kind = "sessions"
)

// Fn is a window function: it assigns timestamps to windows and, for
// sessions, merges windows. Fn is a small value type, safe to copy and to use
// concurrently.
type Fn struct {
	Kind Kind
	// Size is the length of fixed and sliding windows.
	Size time.Duration
	// Period is how often sliding windows start.
	Period time.Duration
	// Gap is the inactivity gap that closes a session.
	Gap time.Duration
	// Offset shifts the window boundaries of fixed and sliding windows.
	Offset time.Duration
}

// GlobalFn returns the window function that puts every element in the global window.
func GlobalFn() Fn { return Fn{Kind: KindGlobal} }

// FixedFn returns a window function of non-overlapping windows of the given size,
// aligned to the Unix epoch.
func FixedFn(size time.Duration) Fn { return Fn{Kind: KindFixed, Size: size} }

// SlidingFn returns a window function of windows of the given size that start
// every period.
func SlidingFn(size, period time.Duration) Fn {
	return Fn{Kind: KindSliding, Size: size, Period: period}
}

// SessionsFn returns a merging window function: elements closer than gap in
// time fall into one session window per key.
func SessionsFn(gap time.Duration) Fn { return Fn{Kind: KindSessions, Gap: gap} }

// Validate reports a window function whose parameters cannot assign windows.
func (f Fn) Validate() error {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	switch f.Kind {
	case KindGlobal:
	case KindFixed:
		if ms(f.Size) <= 0 {
			return fmt.Errorf("window: fixed windows need a size of at least 1ms, got %v", f.Size)
		}
	case KindSliding:
		if ms(f.Size) <= 0 || ms(f.Period) <= 0 {
			return fmt.Errorf("window: sliding windows need a size and period of at least 1ms, got size %v period %v", f.Size, f.Period)
		}
	case KindSessions:
		if ms(f.Gap) <= 0 {
			return fmt.Errorf("window: session windows need a gap of at least 1ms, got %v", f.Gap)
		}
	default:
		return fmt.Errorf("window: unknown window function kind %q", f.Kind)
	}
	return nil
}

// String describes f, e.g. "fixed(1m0s)".
func (f Fn) String() string {
	switch f.Kind {
	case KindFixed:
		return fmt.Sprintf("fixed(%v)", f.Size)
	case KindSliding:
		return fmt.Sprintf("sliding(%v every %v)", f.Size, f.Period)
	case KindSessions:
		return fmt.Sprintf("sessions(gap %v)", f.Gap)
	}
	return string(f.Kind)
}

// IsMerging reports whether windows of f merge (sessions do).
func (f Fn) IsMerging() bool { return f.Kind == KindSessions }

// floorMod returns the start of the period-aligned slot that holds t.
func floorMod(t, offset, period Time) Time {
	r := (t - offset) % period
	if r < 0 {
		r += period
	}
	return t - r
}

// MaxWindows is the most windows Assign gives one timestamp: size/period
// rounded up for sliding windows, one otherwise. Callers size buffers by it.
func (f Fn) MaxWindows() int {
	if f.Kind != KindSliding {
		return 1
	}
	size, period := f.Size.Milliseconds(), f.Period.Milliseconds()
	if period <= 0 || size <= 0 {
		return 1
	}
	return int((size + period - 1) / period)
}

// Assign appends the windows that timestamp t falls in to dst and returns it.
// Sliding windows are returned in increasing order of start.
func (f Fn) Assign(dst []Window, t Time) []Window {
	switch f.Kind {
	case KindFixed:
		size, off := Time(f.Size.Milliseconds()), Time(f.Offset.Milliseconds())
		start := floorMod(t, off, size)
		return append(dst, Interval(start, start+size))
	case KindSliding:
		size, period, off := Time(f.Size.Milliseconds()), Time(f.Period.Milliseconds()), Time(f.Offset.Milliseconds())
		// The windows start at last, last-period, ... while start > t-size:
		// n of them, appended earliest first.
		last := floorMod(t, off, period)
		n := (last - t + size + period - 1) / period
		for start := last - (n-1)*period; start <= last; start += period {
			dst = append(dst, Interval(start, start+size))
		}
		return dst
	case KindSessions:
		return append(dst, Interval(t, t+Time(f.Gap.Milliseconds())))
	}
	return append(dst, Global())
}

// SideInputWindow maps a main-input window to the window of a side input
// windowed by f: the global window for a global side input, otherwise the
// latest window of f that holds the main window's maximum timestamp (Beam's
// default window mapping).
func (f Fn) SideInputWindow(main Window) Window {
	if f.Kind == KindGlobal {
		return Global()
	}
	ws := f.Assign(nil, main.MaxTimestamp())
	return ws[len(ws)-1]
}

// MergeWindows merges overlapping windows, as sessions do: it returns the
// merged windows sorted by start and, for each input window (by index), the
// index of the merged window that absorbed it.
func MergeWindows(ws []Window) (merged []Window, into []int) {
	order := make([]int, len(ws))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return int(cmpTime(ws[a].Start, ws[b].Start))
	})
	into = make([]int, len(ws))
	for _, i := range order {
		w := ws[i]
		if n := len(merged); n > 0 && merged[n-1].Intersects(w) {
			merged[n-1] = merged[n-1].Span(w)
		} else {
			merged = append(merged, w)
		}
		into[i] = len(merged) - 1
	}
	return merged, into
}

func cmpTime(a, b Time) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
