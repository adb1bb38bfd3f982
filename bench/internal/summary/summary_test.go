package summary

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDigest(t *testing.T) {
	tests := []struct {
		name string
		a, b map[string]int64
		same bool
	}{
		{"the same counts give the same digest", map[string]int64{"a": 1, "b": 2}, map[string]int64{"b": 2, "a": 1}, true},
		{"a different count changes the digest", map[string]int64{"a": 1, "b": 2}, map[string]int64{"a": 1, "b": 3}, false},
		{"a missing word changes the digest", map[string]int64{"a": 1, "b": 2}, map[string]int64{"a": 1}, false},
		{"word boundaries matter", map[string]int64{"ab": 1, "c": 1}, map[string]int64{"a": 1, "bc": 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, da := Digest(tt.a)
			_, db := Digest(tt.b)
			if (da == db) != tt.same {
				t.Errorf("Digest(%v) == Digest(%v) is %v, want %v", tt.a, tt.b, da == db, tt.same)
			}
		})
	}
	if total, _ := Digest(map[string]int64{"a": 1, "b": 2}); total != 3 {
		t.Errorf("Digest total = %d, want 3", total)
	}
}

func TestPrintParse(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("some log line\n")
	s := WordCount("test", map[string]int64{"x": 4})
	s.Spills = 3
	if err := s.Print(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" && got.PeakRSSKiB <= 0 {
		t.Errorf("PeakRSSKiB = %d, want > 0 on Linux", got.PeakRSSKiB)
	}
	got.PeakRSSKiB = 0
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("Parse(Print(s)) (-want +got):\n%s", diff)
	}
	if _, err := Parse([]byte("no json here\n")); err == nil {
		t.Errorf("Parse(no JSON) = nil error, want an error")
	}
}

func TestHeapSamplerSeesALiveHeap(t *testing.T) {
	h := SampleHeap(time.Millisecond)
	keep := make([][]byte, 0, 64)
	for range 64 {
		keep = append(keep, make([]byte, 1<<20))
		runtime.GC()
	}
	time.Sleep(5 * time.Millisecond)
	got := h.Stop()
	runtime.KeepAlive(keep)
	if got < 32<<10 {
		t.Errorf("HeapSampler max live heap = %d KiB with 64 MiB allocated and live, want at least 32768", got)
	}
}
