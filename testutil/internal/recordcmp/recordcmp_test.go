package recordcmp

import (
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlainComparable(t *testing.T) {
	type plain struct {
		A int
		B [2]string
	}
	type hidden struct{ a int }
	type withPointer struct{ P *int }
	cases := []struct {
		name string
		t    reflect.Type
		want bool
	}{
		{"strings", reflect.TypeFor[string](), true},
		{"floats", reflect.TypeFor[float64](), true},
		{"structs of exported plain fields", reflect.TypeFor[plain](), true},
		{"structs with unexported fields", reflect.TypeFor[hidden](), false},
		{"structs with pointers", reflect.TypeFor[withPointer](), false},
		{"byte slices", reflect.TypeFor[[]byte](), false},
		{"interfaces", reflect.TypeFor[any](), false},
		{"types with an Equal method", reflect.TypeFor[equalByName](), false},
	}
	for _, c := range cases {
		if got := plainComparable(c.t); got != c.want {
			t.Errorf("%s: plainComparable(%v) = %v, want %v", c.name, c.t, got, c.want)
		}
	}
}

// equalByName is plain, but cmp.Equal would call its Equal method.
type equalByName struct{ Name, Note string }

func (a equalByName) Equal(b equalByName) bool { return a.Name == b.Name }

func TestComparerUsesEqualMethods(t *testing.T) {
	c, err := New[equalByName](nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equal(equalByName{"a", "x"}, equalByName{"a", "y"}) {
		t.Error("equal() ignored the Equal method")
	}
}

// sortedStrings renders a multiset canonically.
func sortedStrings(rs []string) []string {
	rs = slices.Clone(rs)
	slices.Sort(rs)
	return rs
}

// FuzzMultisetDiff checks that the three ways of comparing multisets (==
// with a map, Less with sorting, cmp.Equal pairwise) agree, and that
// want - missing + extra = got.
func FuzzMultisetDiff(f *testing.F) {
	f.Add([]byte("aab"), []byte("abc"))
	f.Add([]byte(""), []byte("zz"))
	f.Add([]byte("xyzzy"), []byte("yzzxy"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		split := func(bs []byte) []string {
			var rs []string
			for _, c := range bs {
				rs = append(rs, string('a'+c%5))
			}
			return rs
		}
		want, got := split(a), split(b)
		same := []cmp.Option{cmp.Comparer(func(x, y string) bool { return x == y })}
		plain, _ := New[string](nil, nil)
		less, _ := New(same, func(x, y string) bool { return x < y })
		pairwise, _ := New[string](same, nil)
		if !plain.plain || less.plain || pairwise.plain {
			t.Fatal("the comparers do not take the three paths")
		}
		m1, e1 := plain.MultisetDiff(want, got)
		m2, e2 := less.MultisetDiff(want, got)
		m3, e3 := pairwise.MultisetDiff(want, got)
		for _, d := range []struct {
			name string
			m, e []string
		}{{"less", m2, e2}, {"pairwise", m3, e3}} {
			if !slices.Equal(sortedStrings(m1), sortedStrings(d.m)) || !slices.Equal(sortedStrings(e1), sortedStrings(d.e)) {
				t.Fatalf("multisetDiff(%q, %q): == gives missing %q extra %q, %s gives %q %q", want, got, m1, e1, d.name, d.m, d.e)
			}
		}
		// want - missing + extra == got, as multisets.
		rest := slices.Clone(want)
		for _, m := range m1 {
			i := slices.Index(rest, m)
			if i < 0 {
				t.Fatalf("missing %q is not in want %q", m, want)
			}
			rest = slices.Delete(rest, i, i+1)
		}
		if !slices.Equal(sortedStrings(append(rest, e1...)), sortedStrings(got)) {
			t.Fatalf("multisetDiff(%q, %q) = %q, %q: want - missing + extra != got", want, got, m1, e1)
		}
	})
}
