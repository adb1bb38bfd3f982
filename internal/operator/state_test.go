package operator

import (
	"bytes"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TestListEntryWireFormat checks the ordered list entry format against
// bytes written out by hand as the Fn API specifies them (a varint of the
// int64 sort key, then the value length-prefixed), and that several
// entries in one append cut apart again.
func TestListEntryWireFormat(t *testing.T) {
	got := AppendListEntry(nil, 300, []byte{0x01})
	got = AppendListEntry(got, -1, []byte("ab"))
	want := []byte{0xac, 0x02, 0x01, 0x01} // varint 300, length 1, value
	// -1 as a uint64 varint is ten bytes: nine 0xff, then 0x01.
	want = append(want, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 'a', 'b')
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendListEntry = % x, want % x", got, want)
	}
	type entry struct {
		ts window.Time
		v  string
	}
	var cut []entry
	for data := got; len(data) > 0; {
		ts, v, n, err := CutListEntry(data)
		if err != nil {
			t.Fatalf("CutListEntry(% x) = %v", data, err)
		}
		cut = append(cut, entry{ts, string(v)})
		data = data[n:]
	}
	if len(cut) != 2 || cut[0] != (entry{300, "\x01"}) || cut[1] != (entry{-1, "ab"}) {
		t.Errorf("cut %v, want [{300 \\x01} {-1 ab}]", cut)
	}
}

// TestCutListEntryRejectsTruncatedData checks that a cut short entry is an
// error, not a short value.
func TestCutListEntryRejectsTruncatedData(t *testing.T) {
	full := AppendListEntry(nil, 1_000_000, []byte("value"))
	for n := range len(full) {
		if _, _, _, err := CutListEntry(full[:n]); err == nil {
			t.Errorf("CutListEntry of the first %d of %d bytes succeeded", n, len(full))
		}
	}
}
