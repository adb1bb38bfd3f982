package filesystem

import (
	"path"
	"strings"
	"testing"
)

// FuzzGlob compiles random patterns and compares matches with path.Match,
// whose syntax ours extends ("**", "[!...]", literal ']' first in a class).
// Keys have no '/', where path.Match's classes would differ.
func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Add("[a-c]*.txt", "b1.txt")
	f.Add(`\*[^x]`, "*y")
	f.Add("part-[0-9][0-9]", "part-42")
	f.Fuzz(func(t *testing.T, pattern, key string) {
		g, err := compileGlob(pattern)
		if err != nil {
			return
		}
		got := g.match(key)
		if strings.Contains(pattern, "**") || strings.Contains(pattern, "[!") || strings.Contains(pattern, "[]") ||
			strings.Contains(pattern, "[^]") || strings.Contains(key, "/") {
			return
		}
		want, err := path.Match(pattern, key)
		if err != nil {
			return
		}
		if got != want {
			t.Errorf("pattern %q on %q: match %v, path.Match %v", pattern, key, got, want)
		}
	})
}
