package keyed

import "testing"

// TestCheck: a key whose events are further apart than its timer's delay
// may flush more than once (the default run), otherwise exactly once; the
// counts are exact either way.
func TestCheck(t *testing.T) {
	small := Config{Events: 1_000_000, Keys: 100_000, Payload: 8}
	if small.MaxFlushes() != 100_000 {
		t.Errorf("1M over 100k keys (events 10 s apart): MaxFlushes %d, want 100000", small.MaxFlushes())
	}
	if Default.MaxFlushes() != Default.Events {
		t.Errorf("the default run (events 100 s apart): MaxFlushes %d, want %d", Default.MaxFlushes(), Default.Events)
	}
	for _, tc := range []struct {
		c    Config
		got  func(Total) Total
		want bool
	}{
		{small, func(t Total) Total { return t }, true},
		{small, func(t Total) Total { t.Keys++; return t }, false},
		{Default, func(t Total) Total { t.Keys += 400_000; return t }, true},
		{Default, func(t Total) Total { t.Keys--; return t }, false},
		{Default, func(t Total) Total { t.Sum++; return t }, false},
		{Default, func(t Total) Total { t.BagLen--; return t }, false},
	} {
		got := tc.got(tc.c.Want())
		if ok := tc.c.Check(got); ok != tc.want {
			t.Errorf("Check(%+v) for %+v = %v, want %v", got, tc.c, ok, tc.want)
		}
	}
}
