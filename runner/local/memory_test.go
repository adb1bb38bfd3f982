package local

import "testing"

func TestDefaultMemoryLimit(t *testing.T) {
	outside := outsideRuntime()
	if outside < 0 {
		t.Fatalf("outsideRuntime() = %d, want >= 0", outside)
	}
	for _, tc := range []struct {
		name   string
		budget int64
		want   int64
	}{
		{name: "a small budget gets the floor", budget: 1 << 20, want: minMemoryLimit},
		{name: "a large budget keeps resident memory within budget and a quarter", budget: 4 << 30,
			want: 4<<30 + 1<<30 - (4<<30)/8 - outside},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := defaultMemoryLimit(tc.budget)
			// outsideRuntime moves a little between calls.
			if d := got - tc.want; d < -8<<20 || d > 8<<20 {
				t.Errorf("defaultMemoryLimit(%d) = %d, want %d (outside the runtime: %d)", tc.budget, got, tc.want, outside)
			}
		})
	}
}

func TestResidentBytes(t *testing.T) {
	rss, ok := residentBytes()
	if !ok {
		t.Skip("no /proc/self/statm here")
	}
	if rss < 1<<20 || rss > 1<<40 {
		t.Errorf("residentBytes() = %d, want a plausible resident set", rss)
	}
}
