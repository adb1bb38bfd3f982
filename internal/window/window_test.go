package window

import (
	"slices"
	"testing"
	"time"
)

func TestAssign(t *testing.T) {
	iv := Interval
	tests := []struct {
		name string
		fn   Fn
		t    Time
		want []Window
	}{
		{"global puts every element in the global window", GlobalFn(), 1234, []Window{Global()}},
		{"fixed windows are aligned to the epoch", FixedFn(10 * time.Millisecond), 25, []Window{iv(20, 30)}},
		{"a timestamp on a fixed boundary starts the window", FixedFn(10 * time.Millisecond), 30, []Window{iv(30, 40)}},
		{"fixed windows before the epoch round down", FixedFn(10 * time.Millisecond), -1, []Window{iv(-10, 0)}},
		{"an offset shifts fixed windows", Fn{Kind: KindFixed, Size: 10 * time.Millisecond, Offset: 3 * time.Millisecond}, 2, []Window{iv(-7, 3)}},
		{"sliding windows come in increasing order of start", SlidingFn(10*time.Millisecond, 5*time.Millisecond), 12, []Window{iv(5, 15), iv(10, 20)}},
		{"a session spans the gap after the element", SessionsFn(7 * time.Millisecond), 100, []Window{iv(100, 107)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn.Assign(nil, tt.t); !slices.Equal(got, tt.want) {
				t.Errorf("%v.Assign(%d) = %v, want %v", tt.fn, tt.t, got, tt.want)
			}
		})
	}
}

func TestMergeWindows(t *testing.T) {
	ws := []Window{Interval(10, 20), Interval(0, 5), Interval(15, 30), Interval(4, 8), Interval(40, 50)}
	merged, into := MergeWindows(ws)
	if want := []Window{Interval(0, 8), Interval(10, 30), Interval(40, 50)}; !slices.Equal(merged, want) {
		t.Errorf("MergeWindows() merged = %v, want %v", merged, want)
	}
	if want := []int{1, 0, 1, 0, 2}; !slices.Equal(into, want) {
		t.Errorf("MergeWindows() into = %v, want %v", into, want)
	}
}

func TestSideInputWindow(t *testing.T) {
	if got := GlobalFn().SideInputWindow(Interval(0, 10)); got != Global() {
		t.Errorf("global SideInputWindow = %v, want the global window", got)
	}
	if got, want := FixedFn(time.Second).SideInputWindow(Interval(1500, 1600)), Interval(1000, 2000); got != want {
		t.Errorf("fixed SideInputWindow = %v, want %v", got, want)
	}
	// The latest sliding window that holds the main window's max timestamp.
	if got, want := SlidingFn(10*time.Millisecond, 5*time.Millisecond).SideInputWindow(Interval(0, 13)), Interval(10, 20); got != want {
		t.Errorf("sliding SideInputWindow = %v, want %v", got, want)
	}
}

func TestGlobalIsNotAnInterval(t *testing.T) {
	g := Global()
	if iv := Interval(g.Start, g.End); iv == g || iv.IsGlobal() || !g.IsGlobal() {
		t.Errorf("Interval(%v, %v) = %v compares equal to or as the global window", g.Start, g.End, iv)
	}
	if g.MaxTimestamp() != EndOfGlobalWindow {
		t.Errorf("Global().MaxTimestamp() = %v, want EndOfGlobalWindow", g.MaxTimestamp())
	}
	if !slices.Equal(GlobalWindows(), []Window{g}) {
		t.Errorf("GlobalWindows() = %v", GlobalWindows())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		fn Fn
		ok bool
	}{
		{GlobalFn(), true},
		{FixedFn(time.Millisecond), true},
		{FixedFn(time.Microsecond), false},
		{SlidingFn(time.Second, 0), false},
		{SessionsFn(0), false},
		{Fn{Kind: "tumbling"}, false},
	}
	for _, tt := range tests {
		if err := tt.fn.Validate(); (err == nil) != tt.ok {
			t.Errorf("%v.Validate() = %v, want ok %v", tt.fn, err, tt.ok)
		}
	}
}

func TestTimeString(t *testing.T) {
	tests := []struct {
		t    Time
		want string
	}{
		{MinTime, "MinTime"},
		{MaxTime, "MaxTime"},
		{EndOfGlobalWindow, "EndOfGlobalWindow"},
		{FromTime(time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC)), "2024-01-02T03:04:05.006Z"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("Time(%d).String() = %q, want %q", int64(tt.t), got, tt.want)
		}
	}
}

func TestMaxWindows(t *testing.T) {
	fns := []Fn{{Kind: KindGlobal}, FixedFn(time.Second), SessionsFn(time.Second),
		SlidingFn(10*time.Second, 2*time.Second), SlidingFn(10*time.Second, 3*time.Second), SlidingFn(time.Second, 3*time.Second)}
	for _, f := range fns {
		most := 0
		for ts := Time(-20_000); ts < 20_000; ts += 7 {
			most = max(most, len(f.Assign(nil, ts)))
		}
		if got := f.MaxWindows(); got != most {
			t.Errorf("%v: MaxWindows() = %d, Assign gives up to %d", f, got, most)
		}
	}
}

// TestAssignSlidingMatchesDefinition compares sliding windows with their
// definition, by brute force over every start near t: the windows
// [s, s+size) with s = offset (mod period) that hold t, earliest first,
// also when size is not a multiple of period, with an offset, and at
// negative times.
func TestAssignSlidingMatchesDefinition(t *testing.T) {
	for _, c := range []struct{ size, period, offset Time }{
		{10, 2, 0}, {10, 3, 0}, {1, 3, 0}, {7, 7, 0}, {10, 4, 3}, {5, 2, -1}, {9, 10, 4},
	} {
		fn := Fn{Kind: KindSliding, Size: time.Duration(c.size) * time.Millisecond,
			Period: time.Duration(c.period) * time.Millisecond, Offset: time.Duration(c.offset) * time.Millisecond}
		for ts := Time(-40); ts <= 40; ts++ {
			var want []Window
			for s := ts - c.size - 2*c.period; s <= ts; s++ {
				if ((s-c.offset)%c.period+c.period)%c.period == 0 && s <= ts && ts < s+c.size {
					want = append(want, Interval(s, s+c.size))
				}
			}
			if got := fn.Assign(nil, ts); !slices.Equal(got, want) {
				t.Errorf("%v at %d: got %v, want %v", fn, ts, got, want)
			}
		}
	}
}
