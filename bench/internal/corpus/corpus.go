// Package corpus generates the deterministic inputs of the benchmarks: an
// English-like text whose words follow a Zipf distribution, and
// key-value records with Zipf-skewed keys for GroupByKey. The same seed and
// options always give the same bytes.
//
// The text has what a word count must get right: words with apostrophes
// ("don't", "we're"), mixed case, punctuation, numbers, a few non-ASCII
// words, CRLF line ends on some lines and a few empty lines; other lines are
// 60 to 100 bytes long.
package corpus

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// TextOptions configure the text corpus; the zero value means defaults.
type TextOptions struct {
	// Seed selects the corpus (default 1).
	Seed uint64
	// Vocabulary is the number of distinct base words (default 100000).
	Vocabulary int
}

func (o *TextOptions) withDefaults() TextOptions {
	var out TextOptions
	if o != nil {
		out = *o
	}
	if out.Seed == 0 {
		out.Seed = 1
	}
	if out.Vocabulary <= 0 {
		out.Vocabulary = 100000
	}
	return out
}

var syllables = strings.Fields(`
	a an ar as at be ble ca ce con de di do e el en er es ex fa for ge
	he hi i im in is it ka la le li lo ly ma me mi mo na ne no o of on or
	pa pe per pi pro qu ra re ri ro sa se sh si so st ta te th ti to tr
	u un ur us ve vi wa we wh wi ya yo ze`)

// vocabulary returns n distinct words in rank order: earlier words are
// more frequent.
func vocabulary(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 0x766f636162))
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	suffixes := []string{"'s", "'t", "'d", "'ll", "'re", "'ve"}
	var b strings.Builder
	for len(out) < n {
		b.Reset()
		parts := 1 + r.IntN(2) + r.IntN(2) + r.IntN(2)*r.IntN(2)
		for range parts {
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		switch x := r.IntN(1000); {
		case x < 40: // a contraction or possessive
			b.WriteString(suffixes[r.IntN(len(suffixes))])
		case x < 45: // a non-ASCII letter inside
			b.WriteString("\u00e9")
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		w := b.String()
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// textGen writes the lines of one text file.
type textGen struct {
	r     *rand.Rand
	zipf  *rand.Zipf
	vocab []string
	line  []byte
}

func newTextGen(seed, stream uint64, vocab []string) *textGen {
	r := rand.New(rand.NewPCG(seed, stream))
	return &textGen{r: r, zipf: rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1)), vocab: vocab}
}

// next returns the next line, with its line end.
func (g *textGen) next() []byte {
	r := g.r
	l := g.line[:0]
	if r.IntN(200) == 0 { // an empty line
		g.line = append(l, '\n')
		return g.line
	}
	target := 60 + r.IntN(41)
	sentence := true
	for {
		w := g.word(sentence)
		if len(l) > 0 && len(l)+1+len(w) > 100 {
			break
		}
		if len(l) > 0 {
			l = append(l, ' ')
		}
		quoted := r.IntN(60) == 0
		if quoted {
			l = append(l, '"')
		}
		l = append(l, w...)
		if quoted {
			l = append(l, '"')
		}
		sentence = false
		switch x := r.IntN(100); {
		case x < 5:
			l = append(l, ',')
		case x < 8:
			l = append(l, '.')
			sentence = true
		case x < 9:
			l = append(l, "!?;:"[r.IntN(4)])
			sentence = true
		case x < 10:
			l = append(l, " --"...)
		}
		if len(l) >= target {
			break
		}
	}
	if r.IntN(20) == 0 {
		l = append(l, '\r')
	}
	g.line = append(l, '\n')
	return g.line
}

// word returns a word in its case, or now and then a number.
func (g *textGen) word(sentence bool) string {
	r := g.r
	if r.IntN(100) == 0 {
		return fmt.Sprint(r.IntN(3000))
	}
	w := g.vocab[g.zipf.Uint64()]
	switch x := r.IntN(1000); {
	case x < 5:
		return strings.ToUpper(w)
	case sentence || x < 60:
		return strings.ToUpper(w[:1]) + w[1:]
	}
	return w
}

// WriteText writes lines of text to w until at least size bytes are
// written, and returns the number written. Stream selects one of many
// independent texts of the same vocabulary (one per file of a set).
func WriteText(w io.Writer, size int64, stream uint64, opts *TextOptions) (int64, error) {
	o := opts.withDefaults()
	g := newTextGen(o.Seed, stream, vocabulary(o.Seed, o.Vocabulary))
	bw := bufio.NewWriterSize(w, 1<<20)
	var n int64
	for n < size {
		line := g.next()
		if _, err := bw.Write(line); err != nil {
			return n, fmt.Errorf("corpus: %w", err)
		}
		n += int64(len(line))
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("corpus: %w", err)
	}
	return n, nil
}

// WriteTextFiles writes a text corpus of about size bytes to files files in
// dir, named name-00000-of-0000N.txt (name.txt if files is 1), and returns
// their paths.
func WriteTextFiles(dir, name string, size int64, files int, opts *TextOptions) ([]string, error) {
	files = max(files, 1)
	var paths []string
	for i := range files {
		path := filepath.Join(dir, name+".txt")
		if files > 1 {
			path = filepath.Join(dir, fmt.Sprintf("%s-%05d-of-%05d.txt", name, i, files))
		}
		part := size / int64(files)
		if i == files-1 {
			part = size - part*int64(files-1)
		}
		if err := writeFile(path, func(w io.Writer) error {
			_, err := WriteText(w, part, uint64(i), opts)
			return err
		}); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	return nil
}
