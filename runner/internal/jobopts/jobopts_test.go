package jobopts

import (
	"os"
	"testing"
)

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Job
		want Job
	}{
		{name: "zero fields get the defaults and the runner's parallelism",
			want: Job{Parallelism: 6, MemoryBudget: DefaultMemoryBudget, MaxAttempts: DefaultMaxAttempts, TempDir: os.TempDir()}},
		{name: "set fields are kept",
			in:   Job{Parallelism: 2, MemoryBudget: 1 << 20, MaxAttempts: 1, TempDir: "spill", DisableDynamicSplitting: true},
			want: Job{Parallelism: 2, MemoryBudget: 1 << 20, MaxAttempts: 1, TempDir: "spill", DisableDynamicSplitting: true}},
		{name: "negative counts mean the defaults",
			in:   Job{Parallelism: -1, MemoryBudget: -1, MaxAttempts: -1},
			want: Job{Parallelism: 6, MemoryBudget: DefaultMemoryBudget, MaxAttempts: DefaultMaxAttempts, TempDir: os.TempDir()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Progress is nil in every case; compare the rest.
			if got := tt.in.WithDefaults(6); got.Progress != nil || fields(got) != fields(tt.want) {
				t.Errorf("WithDefaults(6) = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// fields returns j without its func field.
func fields(j Job) any {
	return struct {
		p, n    int
		m       int64
		dir     string
		nosplit bool
	}{j.Parallelism, j.MaxAttempts, j.MemoryBudget, j.TempDir, j.DisableDynamicSplitting}
}

func TestEngineCarriesEveryField(t *testing.T) {
	called := false
	j := Job{Parallelism: 3, MemoryBudget: 5, MaxAttempts: 7, TempDir: "d", StateDir: "s", StateMemory: 9, DisableDynamicSplitting: true, Progress: func(Progress) { called = true }}
	e := j.Engine("local")
	if e.Parallelism != 3 || e.MemoryBudget != 5 || e.MaxAttempts != 7 || e.TempDir != "d" || e.StateDir != "s" || e.StateMemory != 9 ||
		!e.DisableDynamicSplitting || e.Prefix != "local" || e.ShuffleMemory != 0 {
		t.Errorf("Engine(%q) = %+v, want the fields of %+v", "local", e, j)
	}
	if e.Progress == nil {
		t.Fatal("Engine() dropped Progress")
	}
	e.Progress(Progress{})
	if !called {
		t.Error("Engine().Progress is not the Job's")
	}
	var told int64
	j.StateBytes = func(d int64) { told += d }
	if e = j.Engine("local"); e.StateBytes == nil {
		t.Fatal("Engine() dropped StateBytes")
	}
	e.StateBytes(42)
	if told != 42 {
		t.Error("Engine().StateBytes is not the Job's")
	}
}
