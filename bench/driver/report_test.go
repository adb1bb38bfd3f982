package main

import (
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/bench/internal/corpus"
	"github.com/beamgo-dev/beamgo/bench/internal/summary"
)

func fakeRun(wall time.Duration, rssMiB int64, digest string) measurement {
	return measurement{Wall: wall, CPU: wall, RSSKiB: rssMiB << 10, Summary: summary.Summary{Words: 10, Distinct: 3, Digest: digest}}
}

func testResults(oursWall time.Duration, oursRSS int64, oursDigest string, gbkRSS int64) *results {
	cfg := config{size: 200, small: 20, runs: 2, budgetRatio: 4, parallelism: 2, handwrittenCores: 2}
	hand := &series{Name: "hand-written, 2 goroutines", Input: "/w/text-200MB.txt", SizeBytes: 200e6,
		Runs: []measurement{fakeRun(2*time.Second, 40, "d"), fakeRun(1*time.Second, 41, "d")}}
	ours := &series{Name: "beamgo local runner", Input: "/w/text-200MB.txt", SizeBytes: 200e6,
		Runs: []measurement{fakeRun(oursWall, oursRSS, oursDigest), fakeRun(oursWall+time.Second, oursRSS, oursDigest)}}
	r := &results{cfg: cfg, words: []*series{hand, ours}}
	r.gbk = &gbkResult{stats: corpus.RecordStats{Records: 100, Groups: 10, ShuffleBytes: 400 << 20}, budget: 100,
		m: measurement{Wall: time.Second, RSSKiB: gbkRSS << 10}}
	r.checkWordCounts()
	return r
}

func TestTargets(t *testing.T) {
	tests := []struct {
		name         string
		r            *results
		want, absent []string
	}{
		{
			name: "a fast, small runner meets every target",
			r:    testResults(1400*time.Millisecond, 200, "d", 120),
			want: []string{"1.5x the hand-written wall time: met (1.40x)", "under 256 MB (MiB here): met (200 MiB)", "within budget + 25% (125 MiB): met (120 MiB, 1.20x the budget)"},
		},
		{
			name: "a slow runner misses the time target",
			r:    testResults(1600*time.Millisecond, 200, "d", 120),
			want: []string{"**not met** (1.60x)"},
		},
		{
			name: "a big runner misses the memory targets",
			r:    testResults(time.Second, 300, "d", 130),
			want: []string{"under 256 MB (MiB here): **not met** (300 MiB)", "within budget + 25% (125 MiB): **not met** (130 MiB"},
		},
		{
			name:   "different counts are reported",
			r:      testResults(time.Second, 100, "other", 100),
			want:   []string{"**Correctness problems:**", "beamgo local runner on text-200MB.txt: 10 words, 3 distinct, digest other", "| **differ** |"},
			absent: []string{"| equal |"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := tt.r.markdown()
			for _, w := range tt.want {
				if !strings.Contains(md, w) {
					t.Errorf("markdown() lacks %q:\n%s", w, md)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(md, a) {
					t.Errorf("markdown() has %q:\n%s", a, md)
				}
			}
		})
	}
}

func TestBestAndMedian(t *testing.T) {
	s := &series{Runs: []measurement{fakeRun(3*time.Second, 10, ""), fakeRun(time.Second, 30, ""), fakeRun(2*time.Second, 20, "")}}
	if got := s.best().Wall; got != time.Second {
		t.Errorf("best().Wall = %v, want 1s", got)
	}
	if got := s.medianWall(); got != 2*time.Second {
		t.Errorf("medianWall() = %v, want 2s", got)
	}
	if got := s.peakRSS(); got != 30<<10 {
		t.Errorf("peakRSS() = %d KiB, want %d", got, 30<<10)
	}
}

func TestKeepBeamRow(t *testing.T) {
	old := "# Benchmark results\n\n## Word count\n\nText.\n\n| program | input |\n|---|---|\n| hand-written | 20 MB |\n" +
		beamRowPrefix + " 20 MB | 14.23 s |\n\nOur runner's best runs: ...\n\n## GroupByKey\n\n| wall |\n"
	doc := "# Benchmark results\n\n## Word count\n\nText.\n\n| program | input |\n|---|---|\n| hand-written | 20 MB |\n| beamgo local runner | 20 MB |\n\nOur runner's best runs: ...\n\n## GroupByKey\n\n| wall |\n"
	got := keepBeamRow(doc, old)
	want := "| beamgo local runner | 20 MB |\n" + beamRowPrefix + " 20 MB | 14.23 s |\n\nBeam's row is kept from the previous run"
	if !strings.Contains(got, want) {
		t.Errorf("keepBeamRow:\n%s\nwant it to contain:\n%s", got, want)
	}
	if strings.Count(got, beamRowPrefix) != 1 {
		t.Errorf("keepBeamRow added the row %d times", strings.Count(got, beamRowPrefix))
	}
	if again := keepBeamRow(got, old); again != got {
		t.Errorf("keepBeamRow of a table with a Beam row changed it:\n%s", again)
	}
	if none := keepBeamRow(doc, "no results"); none != doc {
		t.Errorf("keepBeamRow without an earlier row changed the document")
	}
}
