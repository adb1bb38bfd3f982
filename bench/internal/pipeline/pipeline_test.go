package pipeline

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/bench/internal/corpus"
	"github.com/beamgo-dev/beamgo/bench/internal/handcount"
	"github.com/beamgo-dev/beamgo/bench/internal/linecount"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

func TestWordCountEqualsTheHandWrittenCount(t *testing.T) {
	dir := t.TempDir()
	paths, err := corpus.WriteTextFiles(dir, "text", 2<<20, 2, &corpus.TextOptions{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	want, err := handcount.Count(paths, 2)
	if err != nil {
		t.Fatal(err)
	}
	p := sdk.NewPipeline()
	c := WordCount(p.Root(), filepath.Join(dir, "text-*"), TextRead)
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, c.Map()); diff != "" {
		t.Errorf("word counts (-hand-written +runner):\n%s", diff)
	}
}

func TestGroupByKeySpillsAndMatchesTheGenerator(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "records.tsv")
	st, err := corpus.WriteRecordFile(path, &corpus.RecordOptions{Records: 100000, Keys: 20000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	p := sdk.NewPipeline()
	g := GroupByKey(p.Root(), path, TextRead)
	res, err := local.New(&local.Options{Job: local.Job{Parallelism: 2, TempDir: dir}, ShuffleMemory: 1 << 20}).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := g.Stats()
	if !ok {
		t.Fatal("the job produced no stats")
	}
	want := GroupStats{Groups: st.Groups, Values: st.Records, Digest: st.Digest}
	if got != want {
		t.Errorf("GroupByKey stats = %+v, want %+v", got, want)
	}
	if res.Spills == 0 {
		t.Errorf("Spills = 0 with %d shuffle bytes and 1 MiB of shuffle memory, want spills", st.ShuffleBytes)
	}
}

func TestLineCountEqualsTheHandWrittenReader(t *testing.T) {
	dir := t.TempDir()
	paths, err := corpus.WriteTextFiles(dir, "text", 3<<20, 4, &corpus.TextOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := linecount.Count(paths, 2)
	if err != nil {
		t.Fatal(err)
	}
	p := sdk.NewPipeline()
	l := LineCount(p.Root(), filepath.Join(dir, "text-*"), TextRead)
	if _, err := local.New(&local.Options{Job: local.Job{Parallelism: 2}}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got, ok := l.Stats()
	if !ok {
		t.Fatal("the job produced no stats")
	}
	if got != want || want.Lines == 0 {
		t.Errorf("LineCount = %+v, want the hand-written reader's %+v", got, want)
	}
}

func TestAnchorWordsMatchesTheAnchorsRule(t *testing.T) {
	re := regexp.MustCompile(`[A-Za-z']+`)
	for _, line := range []string{"", "'", "don't 'tis rock'n'roll, O'Neil's'", "a1b2--c\té\r\nZ'", "\xff\xfeab'", "  x  "} {
		var got []string
		AnchorWords(line, func(w string) { got = append(got, w) })
		if diff := cmp.Diff(re.FindAllString(line, -1), got); diff != "" {
			t.Errorf("AnchorWords(%q) (-regexp +got):\n%s", line, diff)
		}
	}
}
