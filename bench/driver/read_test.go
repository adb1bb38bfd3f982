package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/bench/internal/summary"
)

func TestMergeSection(t *testing.T) {
	const sec = readHeading + "\n\nnew numbers\n"
	tests := []struct {
		name, doc, want string
	}{
		{
			name: "a section in the middle is replaced",
			doc:  "# R\n\n## Word count\n\nwc\n\n" + readHeading + "\n\nold numbers\n\n## Reproduce\n\nrun\n",
			want: "# R\n\n## Word count\n\nwc\n\n" + sec + "\n## Reproduce\n\nrun\n",
		},
		{
			name: "a section at the end is replaced",
			doc:  "# R\n\n## Word count\n\nwc\n\n" + readHeading + "\n\nold\n",
			want: "# R\n\n## Word count\n\nwc\n\n" + sec,
		},
		{
			name: "a missing section goes before Reproduce",
			doc:  "# R\n\n## Word count\n\nwc\n\n## Reproduce\n\nrun\n",
			want: "# R\n\n## Word count\n\nwc\n\n" + sec + "\n## Reproduce\n\nrun\n",
		},
		{
			name: "a missing section without Reproduce is appended",
			doc:  "# R\n\nwc\n",
			want: "# R\n\nwc\n\n" + sec,
		},
		{
			name: "an empty file gets the section alone",
			doc:  "",
			want: sec,
		},
		{
			name: "the heading quoted inside a line is not the section",
			doc:  "# R\n\nsee `" + readHeading + "`\n",
			want: "# R\n\nsee `" + readHeading + "`\n\n" + sec,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeSection(tt.doc, readHeading, sec)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mergeSection (-want +got):\n%s", diff)
			}
			if s := section(got, readHeading); strings.TrimSpace(s) != strings.TrimSpace(sec) {
				t.Errorf("section(merged) = %q, want %q", s, sec)
			}
		})
	}
}

func lineRun(wall time.Duration, lines int64, sum uint64) measurement {
	return measurement{Wall: wall, CPU: wall, Summary: summary.Summary{Lines: lines, LineBytes: 10 * lines, LineSum: sum, InputBytes: 1000}}
}

func TestReadCheck(t *testing.T) {
	tests := []struct {
		name      string
		ours      measurement
		wantCheck string
		wantRatio string
	}{
		{name: "equal lines pass", ours: lineRun(3*time.Second, 5, 42), wantRatio: "| 3.00x | 3.00x |"},
		{name: "a lost line is reported", ours: lineRun(time.Second, 4, 42), wantCheck: "4 lines"},
		{name: "a changed line is reported", ours: lineRun(time.Second, 5, 43), wantCheck: "checksum 2b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &readResult{cfg: config{runs: 1, parallelism: 2, handwrittenCores: 2}, files: 2, bytes: 1000,
				hand: &series{Name: "hand", Runs: []measurement{lineRun(time.Second, 5, 42)}},
				ours: &series{Name: "ours", Runs: []measurement{tt.ours}}}
			r.check()
			md := r.markdown()
			if tt.wantCheck == "" {
				if len(r.checks) > 0 {
					t.Errorf("checks = %q, want none", r.checks)
				}
				if !strings.Contains(md, tt.wantRatio) {
					t.Errorf("markdown() lacks %q:\n%s", tt.wantRatio, md)
				}
				return
			}
			if len(r.checks) != 1 || !strings.Contains(r.checks[0], tt.wantCheck) || !strings.Contains(md, "**Correctness problems:**") {
				t.Errorf("checks = %q, want one containing %q, in the markdown:\n%s", r.checks, tt.wantCheck, md)
			}
		})
	}
}
