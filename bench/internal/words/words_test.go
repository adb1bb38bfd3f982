package words

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var wordRE = regexp.MustCompile(`[a-zA-Z]+('[a-z])?`)

func scan(s string) []string {
	var got []string
	Words(s, func(w string) { got = append(got, w) })
	return got
}

func TestWordsMatchesTheRegexp(t *testing.T) {
	cases := []string{
		"", "a", "don't", "don'ts", "we're", "rock'n'roll", "O'Neil", "'tis", "end'", "x'Y",
		"caf\u00e9 na\u00efve", "tab\tsep\r\nline", "a1b2", "--", "\xff\xfeab",
		"two lines\nin one string, don't\r\nsplit", "shouting: DON'T",
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("aZz'q \t\r\n1-\xc3\xa9'")
	for range 2000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if diff := cmp.Diff(wordRE.FindAllString(c, -1), scan(c)); diff != "" {
			t.Errorf("Words(%q) (-want +got):\n%s", c, diff)
		}
	}
}

// TestSameAsTheExample checks that this copy of the scanner has the same
// code as examples/wordcount's, so the benchmarks count what the example
// counts.
func TestSameAsTheExample(t *testing.T) {
	want := funcs(t, "../../../examples/wordcount/words.go")
	got := funcs(t, "words.go")
	for _, name := range []string{"Words", "isLetter"} {
		if want[name] == "" {
			t.Fatalf("examples/wordcount/words.go has no func %s", name)
		}
		if diff := cmp.Diff(want[name], got[name]); diff != "" {
			t.Errorf("func %s differs from examples/wordcount (-want +got):\n%s", name, diff)
		}
	}
}

// funcs returns the printed declarations (without comments) of a file's
// functions, by name.
func funcs(t *testing.T, path string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		fd.Doc = nil
		var b bytes.Buffer
		if err := printer.Fprint(&b, fset, fd); err != nil {
			t.Fatal(err)
		}
		out[fd.Name.Name] = b.String()
	}
	return out
}

func FuzzWords(f *testing.F) {
	f.Add("don't stop")
	f.Add("a'b'c\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		if diff := cmp.Diff(wordRE.FindAllString(s, -1), scan(s)); diff != "" {
			t.Errorf("Words(%q) (-want +got):\n%s", s, diff)
		}
	})
}
