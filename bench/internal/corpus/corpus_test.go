package corpus

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestTextIsDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	if _, err := WriteText(&a, 200<<10, 0, &TextOptions{Seed: 7, Vocabulary: 20000}); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteText(&b, 200<<10, 0, &TextOptions{Seed: 7, Vocabulary: 20000}); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteText(&c, 200<<10, 1, &TextOptions{Seed: 7, Vocabulary: 20000}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("WriteText with the same seed and stream gave different texts")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Errorf("WriteText with streams 0 and 1 gave the same text")
	}
}

var wordRE = regexp.MustCompile(`[a-zA-Z]+('[a-z])?`)

// TestTextHasTheFeatures checks the shape of the text: line lengths, and
// that every feature a word count must handle occurs.
func TestTextHasTheFeatures(t *testing.T) {
	var buf bytes.Buffer
	n, err := WriteText(&buf, 1<<20, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || n < 1<<20 || n > 1<<20+102 {
		t.Errorf("WriteText(1 MiB) = %d with %d bytes written, want about 1 MiB and equal", n, buf.Len())
	}
	features := map[string]int{}
	counts := map[string]int{}
	lines, short := 0, 0
	raw := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	for _, l := range raw {
		if len(l) == 0 {
			continue
		}
		lines++
		s := string(l)
		switch {
		case s == "\n":
			features["empty line"]++
		case strings.HasSuffix(s, "\r\n"):
			features["CRLF"]++
		}
		body := strings.TrimRight(s, "\r\n")
		if body != "" && (len(body) < 40 || len(body) > 100) {
			short++
		}
		if strings.ContainsAny(body, ",.;:!?\"") {
			features["punctuation"]++
		}
		if strings.Contains(body, "\u00e9") {
			features["non-ASCII"]++
		}
		if strings.ContainsAny(body, "0123456789") {
			features["number"]++
		}
		for _, w := range wordRE.FindAllString(body, -1) {
			counts[w]++
			if strings.Contains(w, "'") {
				features["apostrophe"]++
			}
			if w != strings.ToLower(w) {
				features["upper case"]++
			}
		}
	}
	for _, f := range []string{"empty line", "CRLF", "punctuation", "non-ASCII", "number", "apostrophe", "upper case"} {
		if features[f] == 0 {
			t.Errorf("1 MiB of text has no %s", f)
		}
	}
	if short > lines/100 {
		t.Errorf("%d of %d lines are outside 40..100 bytes", short, lines)
	}
	// Zipf: a few words are very frequent, and there are many rare ones.
	var top, once int
	for _, c := range counts {
		top = max(top, c)
		if c == 1 {
			once++
		}
	}
	if top < 1000 || once < 1000 || len(counts) < 5000 {
		t.Errorf("word frequencies: top %d, %d words once, %d distinct; want a Zipf-like spread", top, once, len(counts))
	}
}

func TestWriteTextFiles(t *testing.T) {
	dir := t.TempDir()
	paths, err := WriteTextFiles(dir, "part", 100<<10, 3, &TextOptions{Vocabulary: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 || !strings.HasSuffix(paths[2], "part-00002-of-00003.txt") {
		t.Errorf("WriteTextFiles(3 files) = %v, want 3 paths ending in part-00002-of-00003.txt", paths)
	}
}

func TestRecords(t *testing.T) {
	var buf bytes.Buffer
	st, err := WriteRecords(&buf, &RecordOptions{Records: 100000, Keys: 10000})
	if err != nil {
		t.Fatal(err)
	}
	// Recompute the stats from the written lines.
	type group struct{ n, sum uint64 }
	groups := map[string]*group{}
	var shuffle int64
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		k, v, ok := strings.Cut(l, "\t")
		if !ok || len(k) != 8 || len(v) < 16 || len(v) > 48 {
			t.Fatalf("bad record %q", l)
		}
		g := groups[k]
		if g == nil {
			g = &group{}
			groups[k] = g
		}
		g.n++
		g.sum += ValueHash(v)
		shuffle += int64(2 + len(k) + len(v))
	}
	var digest uint64
	var hottest uint64
	for k, g := range groups {
		digest += GroupHash(k, g.n, g.sum)
		hottest = max(hottest, g.n)
	}
	want := RecordStats{Records: 100000, Bytes: int64(buf.Len()), Groups: int64(len(groups)), HottestKey: st.HottestKey,
		HottestCount: int64(hottest), ShuffleBytes: shuffle, Digest: digest}
	if st != want {
		t.Errorf("WriteRecords stats = %+v, want %+v", st, want)
	}
	if st.HottestCount < 500 || st.HottestCount > 5000 {
		t.Errorf("hottest key has %d of 100000 records, want a skew of about 1%%", st.HottestCount)
	}
	var again bytes.Buffer
	if _, err := WriteRecords(&again, &RecordOptions{Records: 100000, Keys: 10000}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("WriteRecords is not deterministic")
	}
}

func TestGroupHashSeesEveryPart(t *testing.T) {
	base := GroupHash("k", 3, 99)
	for _, other := range []uint64{GroupHash("j", 3, 99), GroupHash("k", 4, 99), GroupHash("k", 3, 98)} {
		if other == base {
			t.Errorf("GroupHash collides when one input changes")
		}
	}
}
