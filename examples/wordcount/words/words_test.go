package words

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var wordRE = regexp.MustCompile(`[a-zA-Z]+('[a-z])?`)

func words(s string) []string {
	var got []string
	Words(s, func(w string) { got = append(got, w) })
	return got
}

func TestWordsMatchesTheRegexp(t *testing.T) {
	cases := []string{
		"", "a", "don't", "don'ts", "rock'n'roll", "O'Neil", "it's'", "'tis", "x'Y", "end'",
		"caf\u00e9 na\u00efve", "tab\tsep\r\nline", "a1b2", "--", "ab'c'd", "\xff\xfeab",
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("aZz'q \t\r\n1-\xc3\xa9'")
	for range 2000 {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		want := wordRE.FindAllString(c, -1)
		if diff := cmp.Diff(want, words(c)); diff != "" {
			t.Errorf("Words(%q) (-want +got):\n%s", c, diff)
		}
	}
}

func FuzzWords(f *testing.F) {
	f.Add("don't stop")
	f.Add("a'b'c")
	f.Fuzz(func(t *testing.T, s string) {
		if diff := cmp.Diff(wordRE.FindAllString(s, -1), words(s)); diff != "" {
			t.Errorf("Words(%q) (-want +got):\n%s", s, diff)
		}
	})
}
