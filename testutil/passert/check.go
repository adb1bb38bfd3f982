package passert

import (
	"fmt"
	"strings"

	"github.com/beamgo-dev/beamgo/testutil/internal/recordcmp"
)

// maxListed bounds the elements a failure message lists.
const maxListed = 10

// checkEquals compares got with want as multisets.
func checkEquals[T any](c *recordcmp.Comparer[T], want, got []T) error {
	missing, extra := c.MultisetDiff(want, got)
	if len(missing) == 0 && len(extra) == 0 {
		return nil
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("missing %d: %s", len(missing), list(c, missing, want, got)))
	}
	if len(extra) > 0 {
		parts = append(parts, fmt.Sprintf("unexpected %d: %s", len(extra), list(c, extra, want, got)))
	}
	return fmt.Errorf("got %s, want %d: %s", recordcmp.Plural(len(got), "element"), len(want), strings.Join(parts, "; "))
}

// list renders up to maxListed distinct elements of rs, with their counts
// in got and want where an element is in both, so that a wrong count reads
// as such.
func list[T any](c *recordcmp.Comparer[T], rs, want, got []T) string {
	var b strings.Builder
	var seen []T
	for _, r := range rs {
		if c.IndexOf(seen, r, 0) >= 0 {
			continue
		}
		if len(seen) == maxListed {
			b.WriteString(", ...")
			break
		}
		if len(seen) > 0 {
			b.WriteString(", ")
		}
		seen = append(seen, r)
		b.WriteString(recordcmp.Record(r))
		nGot, nWant := count(c, got, r), count(c, want, r)
		if nGot > 0 && nWant > 0 {
			fmt.Fprintf(&b, " (%d of it, want %d)", nGot, nWant)
		}
	}
	return b.String()
}

func count[T any](c *recordcmp.Comparer[T], rs []T, r T) int {
	n := 0
	for i := c.IndexOf(rs, r, 0); i >= 0; i = c.IndexOf(rs, r, i+1) {
		n++
	}
	return n
}

// checkInOrder compares got with want as lists.
func checkInOrder[T any](c *recordcmp.Comparer[T], want, got []T) error {
	if c.EqualSlices(want, got) {
		return nil
	}
	return fmt.Errorf("got %s, want %d in order\n(-want +got):\n%s", recordcmp.Plural(len(got), "element"), len(want), c.Diff(want, got))
}

// checkCount wants n elements.
func checkCount[T any](n int, got []T) error {
	if len(got) == n {
		return nil
	}
	return fmt.Errorf("got %s, want %d: %s", recordcmp.Plural(len(got), "element"), n, some(got))
}

func checkNonEmpty[T any](got []T) error {
	if len(got) == 0 {
		return fmt.Errorf("got no elements, want at least one")
	}
	return nil
}

// checkAll wants pred true of every element.
func checkAll[T any](pred func(T) bool, got []T) error {
	var bad []T
	for _, g := range got {
		if !pred(g) {
			bad = append(bad, g)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %s fail the predicate: %s", len(bad), recordcmp.Plural(len(got), "element"), some(bad))
}

// some renders up to maxListed elements.
func some[T any](rs []T) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range rs {
		if i == maxListed {
			fmt.Fprintf(&b, ", ... %d more", len(rs)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(recordcmp.Record(r))
	}
	b.WriteByte(']')
	return b.String()
}
