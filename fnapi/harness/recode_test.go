package harness

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

type point struct {
	X int
	Y string
}

// blob has a custom coder: its nested encoding is already length-prefixed.
type blob struct{ b []byte }

func (b *blob) MarshalBeam(dst []byte) []byte { return append(dst, b.b...) }
func (b *blob) UnmarshalBeam(src []byte) error {
	b.b = append([]byte(nil), src...)
	return nil
}

func mustCoder[T any](t testing.TB) coder.Coder[T] {
	t.Helper()
	c, err := coder.Of[T]()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func encodeAll[T any](c coder.Coder[T], vs ...T) []byte {
	var b []byte
	for _, v := range vs {
		b = c.Encode(b, v)
	}
	return b
}

func lp(s coder.Spec) coder.Spec {
	return coder.Spec{URN: coder.URNLengthPrefix, Components: []coder.Spec{s}}
}

func TestRecoderMatchesTheTargetEncoding(t *testing.T) {
	rows := mustCoder[point](t)
	kvs := mustCoder[sdk.KV[string, point]](t)
	plainKV := mustCoder[sdk.KV[string, int]](t)
	iters := mustCoder[[]point](t)
	blobs := mustCoder[blob](t)
	pts := []point{{1, "a"}, {-7, ""}, {300, string(make([]byte, 200))}}
	str := coder.Spec{URN: coder.URNStringUTF8}

	kvSpec := func(k, v coder.Spec) coder.Spec { return coder.Spec{URN: coder.URNKV, Components: []coder.Spec{k, v}} }
	iterSpec := func(e coder.Spec) coder.Spec { return coder.Spec{URN: coder.URNIterable, Components: []coder.Spec{e}} }
	tests := []struct {
		name     string
		from, to coder.Spec
		src      []byte // values encoded with from
		want     []byte // the same values encoded with to
		identity bool
	}{
		{
			name: "a length prefix around rows is removed",
			from: lp(rows.Spec()), to: rows.Spec(),
			src: encodeAll(coder.LengthPrefix(rows), pts...), want: encodeAll(rows, pts...),
		},
		{
			name: "rows get a length prefix",
			from: rows.Spec(), to: lp(rows.Spec()),
			src: encodeAll(rows, pts...), want: encodeAll(coder.LengthPrefix(rows), pts...),
		},
		{
			name: "a length prefix inside a kv value is removed",
			from: kvSpec(str, lp(rows.Spec())), to: kvs.Spec(),
			src:  encodeAll(coder.NewKV(coder.String(), coder.LengthPrefix(rows)), coder.KV[string, point]{Key: "k", Value: pts[0]}, coder.KV[string, point]{Key: "", Value: pts[2]}),
			want: encodeAll(kvs, sdk.KV[string, point]{Key: "k", Value: pts[0]}, sdk.KV[string, point]{Key: "", Value: pts[2]}),
		},
		{
			name: "a length prefix inside an iterable is removed",
			from: iterSpec(lp(rows.Spec())), to: iters.Spec(),
			src: encodeAll(coder.NewIterable(coder.LengthPrefix(rows)), pts, nil, pts[:1]), want: encodeAll(iters, pts, nil, pts[:1]),
		},
		{
			name: "a length prefix around a kv recodes its value's outer encoding",
			from: lp(plainKV.Spec()), to: plainKV.Spec(),
			src:  encodeAll(coder.LengthPrefix(plainKV), sdk.KV[string, int]{Key: "ab", Value: 3}),
			want: encodeAll(plainKV, sdk.KV[string, int]{Key: "ab", Value: 3}),
		},
		{
			name: "a kv gets a length prefix around its outer encoding",
			from: plainKV.Spec(), to: lp(plainKV.Spec()),
			src:  encodeAll(plainKV, sdk.KV[string, int]{Key: "ab", Value: 3}),
			want: encodeAll(coder.LengthPrefix(plainKV), sdk.KV[string, int]{Key: "ab", Value: 3}),
		},
		{
			name: "a length prefix around a custom coder changes nothing",
			from: lp(blobs.Spec()), to: blobs.Spec(), identity: true,
		},
		{
			name: "a length prefix around strings changes nothing",
			from: lp(str), to: str, identity: true,
		},
		{
			name: "equal coders need no recoding",
			from: kvs.Spec(), to: kvs.Spec(), identity: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := newRecoder(tt.from, tt.to)
			if err != nil {
				t.Fatalf("newRecoder: %v", err)
			}
			if tt.identity {
				if rec != nil {
					t.Errorf("newRecoder(%v, %v) is not nil, want none for identical encodings", tt.from, tt.to)
				}
				return
			}
			if rec == nil {
				t.Fatalf("newRecoder(%v, %v) = nil, want a recoder", tt.from, tt.to)
			}
			got, err := recodeAll(rec, nil, tt.src)
			if err != nil {
				t.Fatalf("recode: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("recode(%x) = %x, want %x", tt.src, got, tt.want)
			}
		})
	}
}

func TestRecoderReadsChunkedIterables(t *testing.T) {
	rows := mustCoder[point](t)
	pts := []point{{1, "a"}, {2, "b"}, {3, "c"}}
	// -1, then blocks of 2 and 1 elements, then the terminating 0.
	enc := func(c coder.Coder[point]) []byte {
		b := binary.BigEndian.AppendUint32(nil, 0xffffffff)
		b = binary.AppendUvarint(b, 2)
		b = append(b, encodeAll(c, pts[:2]...)...)
		b = binary.AppendUvarint(b, 1)
		b = append(b, encodeAll(c, pts[2])...)
		return binary.AppendUvarint(b, 0)
	}
	from := coder.Spec{URN: coder.URNIterable, Components: []coder.Spec{lp(rows.Spec())}}
	to := coder.Spec{URN: coder.URNIterable, Components: []coder.Spec{rows.Spec()}}
	rec, err := newRecoder(from, to)
	if err != nil {
		t.Fatal(err)
	}
	src := enc(coder.LengthPrefix(rows))
	got, n, err := rec(nil, src)
	if err != nil || n != len(src) {
		t.Fatalf("recode = %d bytes, %v; want %d, nil", n, err, len(src))
	}
	if want := enc(rows); !bytes.Equal(got, want) {
		t.Errorf("recode(%x) = %x, want %x", src, got, want)
	}
}

func TestRecoderRejectsTruncatedInput(t *testing.T) {
	rows := mustCoder[point](t)
	kv := coder.Spec{URN: coder.URNKV, Components: []coder.Spec{{URN: coder.URNStringUTF8}, lp(rows.Spec())}}
	rec, err := newRecoder(kv, coder.Spec{URN: coder.URNKV, Components: []coder.Spec{{URN: coder.URNStringUTF8}, rows.Spec()}})
	if err != nil {
		t.Fatal(err)
	}
	full := encodeAll(coder.NewKV(coder.String(), coder.LengthPrefix(rows)), coder.KV[string, point]{Key: "key", Value: point{5, "five"}})
	for i := range len(full) {
		if _, _, err := rec(nil, full[:i]); err == nil {
			t.Errorf("recode of the first %d of %d bytes succeeded, want an error", i, len(full))
		}
	}
}

func TestPortRecoderKeepsWindowsAndTimestamps(t *testing.T) {
	rows := mustCoder[point](t)
	pr, err := newPortRecoder(lp(rows.Spec()), rows.Spec(), true)
	if err != nil || pr == nil {
		t.Fatalf("newPortRecoder = %v, %v", pr, err)
	}
	in := coder.NewWindowedValue(coder.LengthPrefix(rows), coder.IntervalWindow())
	out := coder.NewWindowedValue(rows, coder.IntervalWindow())
	vals := []window.Value[point]{
		{Elem: point{1, "x"}, Timestamp: 42, Windows: []window.Window{window.Interval(0, 100), window.Interval(40, 140)}, Pane: window.OnTimePane()},
		{Elem: point{2, "y"}, Timestamp: -5, Windows: []window.Window{window.Interval(-10, 0)}, Pane: window.NoFiringPane()},
	}
	var src, want []byte
	for _, v := range vals {
		src = in.Encode(src, v)
		want = out.Encode(want, v)
	}
	got, err := pr.recode(nil, src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("recode(%x) = %x, want %x", src, got, want)
	}
}

// FuzzRecodeLengthPrefixedRows checks that recoding iterables of
// length-prefixed rows never panics on arbitrary bytes and that what it
// accepts round-trips.
func FuzzRecodeLengthPrefixedRows(f *testing.F) {
	rows := mustCoder[point](f)
	lpRows := coder.NewIterable(coder.LengthPrefix(rows))
	f.Add(encodeAll(lpRows, []point{{1, "a"}, {-2, "bc"}}))
	f.Add(encodeAll(lpRows, nil))
	f.Add(binary.AppendUvarint(binary.BigEndian.AppendUint32(nil, 0xffffffff), 0))
	f.Add([]byte{0, 0, 0, 1, 0x80})
	from := coder.Spec{URN: coder.URNIterable, Components: []coder.Spec{lp(rows.Spec())}}
	to := coder.Spec{URN: coder.URNIterable, Components: []coder.Spec{rows.Spec()}}
	unwrap, err := newRecoder(from, to)
	if err != nil {
		f.Fatal(err)
	}
	wrap, err := newRecoder(to, from)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		src := b
		got, n, err := unwrap(nil, src)
		if err != nil {
			return
		}
		back, m, err := wrap(nil, got)
		if err != nil {
			t.Fatalf("recoded %x to %x, which does not recode back: %v", src[:n], got, err)
		}
		if m != len(got) {
			t.Fatalf("recoding back used %d of %d bytes", m, len(got))
		}
		// A row that decodes may still have been encoded with a
		// non-minimal varint length; compare the values instead.
		again, _, err := unwrap(nil, back)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("round trip of %x: %x then %x (%v)", src[:n], got, again, err)
		}
	})
}
