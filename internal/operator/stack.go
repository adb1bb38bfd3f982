package operator

import (
	"strings"
)

// readableStack turns debug.Stack's output, taken while a panic is being
// recovered, into lines a user reads: the frames from the panicking code
// down, each as its function and its file:line, without the goroutine
// header, the frames of the recovery itself (debug.Stack, PanicError, the
// deferred function, panic), argument words (0xc000123456) or program
// counter offsets (+0x5b).
func readableStack(raw string) string {
	lines := strings.Split(strings.TrimRight(raw, "\n"), "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "goroutine ") {
		lines = lines[1:]
	}
	// Frames are pairs of lines: the function, then "\tfile:line +0x..".
	start := 0
	for i := 0; i+1 < len(lines); i += 2 {
		if strings.HasPrefix(lines[i], "panic(") {
			start = i + 2
			break
		}
	}
	var b strings.Builder
	for i := start; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "\t") {
			if at := strings.LastIndex(line, " +0x"); at >= 0 {
				line = line[:at]
			}
			b.WriteString("    " + strings.TrimPrefix(line, "\t") + "\n")
			continue
		}
		b.WriteString("  " + withoutArgs(line) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// withoutArgs drops the argument list that ends a stack trace's function
// line ("pkg.(*T).m(0xc000, {0x1, 0x2})" becomes "pkg.(*T).m"); "created by"
// lines have none.
func withoutArgs(fn string) string {
	if !strings.HasSuffix(fn, ")") {
		return fn
	}
	depth := 0
	for i := len(fn) - 1; i >= 0; i-- {
		switch fn[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return fn[:i]
			}
		}
	}
	return fn
}
