package filesystem

import (
	"fmt"
	"regexp"
	"strings"
)

// glob is a compiled glob pattern over keys.
type glob struct {
	// prefix is the literal text before the first wildcard: listing starts
	// there.
	prefix string
	// re matches whole keys; nil when the pattern has no wildcard.
	re *regexp.Regexp
	// flat reports that the part after prefix's last '/' cannot match a
	// '/', so listing one level below it is enough.
	flat bool
}

// HasMeta reports whether path contains glob wildcards ('*', '?', '[' or a
// '\' escape) in its key. A '?' that starts a URL's query string is not one.
func HasMeta(path string) bool {
	l, err := parse(path)
	if err != nil {
		return false
	}
	return strings.ContainsAny(l.key, `*?[\`)
}

// CheckPattern reports, without reaching any storage, whether pattern is a
// well-formed path, URL or glob (see the package doc): it returns the
// error that Match would fail with for the pattern's syntax, or nil.
func CheckPattern(pattern string) error {
	l, err := parse(pattern)
	if err != nil {
		return err
	}
	_, err = compileGlob(l.key)
	return err
}

// compileGlob compiles a glob pattern over keys; see the package doc.
func compileGlob(pattern string) (*glob, error) {
	var (
		re      strings.Builder
		prefix  strings.Builder
		literal = true // still in the literal prefix
		flat    = true
	)
	re.WriteString(`^`)
	lit := func(s string) {
		if literal {
			prefix.WriteString(s)
		}
		re.WriteString(regexp.QuoteMeta(s))
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '\\':
			if i+1 == len(pattern) {
				return nil, fmt.Errorf("filesystem: pattern %q ends with a lone '\\'", pattern)
			}
			i++
			lit(pattern[i : i+1])
			continue
		case '*':
			literal = false
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				flat = false
				i++
				if i+1 < len(pattern) && pattern[i+1] == '/' {
					// "**/" matches zero or more whole directories.
					i++
					re.WriteString(`(?:.*/)?`)
				} else {
					re.WriteString(`.*`)
				}
			} else {
				re.WriteString(`[^/]*`)
			}
			continue
		case '?':
			literal = false
			re.WriteString(`[^/]`)
			continue
		case '[':
			cls, n, err := globClass(pattern[i:])
			if err != nil {
				return nil, fmt.Errorf("filesystem: pattern %q: %w", pattern, err)
			}
			literal = false
			re.WriteString(cls)
			i += n - 1
			continue
		case '/':
			if !literal {
				flat = false
			}
		}
		lit(pattern[i : i+1])
	}
	re.WriteString(`$`)
	g := &glob{prefix: prefix.String(), flat: flat}
	if !literal {
		r, err := regexp.Compile(re.String())
		if err != nil {
			return nil, fmt.Errorf("filesystem: pattern %q: %w", pattern, err)
		}
		g.re = r
	}
	return g, nil
}

// globClass translates the character class at the start of s ("[a-z]",
// "[!abc]") into a regular expression class that never matches '/', and
// returns its length in s. A ']' right after the opening (or after the
// negation) is a member, as in path.Match.
func globClass(s string) (string, int, error) {
	rs := []rune(s)
	i := 1
	negate := false
	if i < len(rs) && (rs[i] == '!' || rs[i] == '^') {
		negate = true
		i++
	}
	type span struct{ lo, hi rune }
	var spans []span
	first := i
	for ; i < len(rs); i++ {
		c := rs[i]
		if c == ']' && i > first {
			var b strings.Builder
			b.WriteString("[")
			if negate {
				b.WriteString(`^/`)
			}
			n := 0
			for _, sp := range spans {
				// Cut '/' out of positive classes: a segment wildcard never
				// matches the separator.
				if !negate && sp.lo <= '/' && '/' <= sp.hi {
					if sp.lo < '/' {
						writeSpan(&b, sp.lo, '/'-1)
						n++
					}
					if sp.hi > '/' {
						writeSpan(&b, '/'+1, sp.hi)
						n++
					}
					continue
				}
				writeSpan(&b, sp.lo, sp.hi)
				n++
			}
			if n == 0 && !negate {
				return `[^\x00-\x{10FFFF}]`, len(string(rs[:i+1])), nil
			}
			b.WriteString("]")
			return b.String(), len(string(rs[:i+1])), nil
		}
		if c == '\\' {
			if i+1 == len(rs) {
				break
			}
			i++
			c = rs[i]
		}
		lo, hi := c, c
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] != ']' {
			hi = rs[i+2]
			if hi == '\\' && i+3 < len(rs) {
				hi = rs[i+3]
				i++
			}
			i += 2
			if hi < lo {
				return "", 0, fmt.Errorf("bad range %q in character class", string([]rune{lo, '-', hi}))
			}
		}
		spans = append(spans, span{lo, hi})
	}
	return "", 0, fmt.Errorf("unterminated character class %q", s)
}

func writeSpan(b *strings.Builder, lo, hi rune) {
	writeClassRune(b, lo)
	if hi != lo {
		b.WriteString("-")
		writeClassRune(b, hi)
	}
}

// writeClassRune writes r so that it stands for itself inside a regular
// expression class.
func writeClassRune(b *strings.Builder, r rune) {
	switch r {
	case '\\', ']', '[', '-', '^':
		b.WriteByte('\\')
	}
	b.WriteRune(r)
}

// match reports whether key matches g.
func (g *glob) match(key string) bool {
	if g.re == nil {
		return key == g.prefix
	}
	return g.re.MatchString(key)
}
