package metrics

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStringSetMergeUnites(t *testing.T) {
	a := NewStringSet("b", "a", "b", "")
	if diff := cmp.Diff(StringSetValue{"", "a", "b"}, a); diff != "" {
		t.Errorf("NewStringSet (-want +got):\n%s", diff)
	}
	b := NewStringSet("c", "a")
	got := a.Merge(b)
	if diff := cmp.Diff(StringSetValue{"", "a", "b", "c"}, got); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
	if !got.Contains("c") || got.Contains("d") {
		t.Errorf("Contains on %v wrong", got)
	}
	// Neither input changed.
	if len(a) != 3 || len(b) != 2 {
		t.Errorf("Merge changed its inputs: %v, %v", a, b)
	}
	if got := StringSetValue(nil).Merge(nil); len(got) != 0 {
		t.Errorf("empty merge = %v", got)
	}
}

// A union stops taking new strings once their total length passes
// StringSetLimit: the first set is kept whole, the other's new strings
// up to the one that crosses it.
func TestStringSetMergeStopsAtTheLimit(t *testing.T) {
	big := strings.Repeat("x", StringSetLimit-10)
	a := NewStringSet(big)
	b := NewStringSet("a-twenty-chars-long.", "b", "c")
	got := a.Merge(b)
	want := StringSetValue{"a-twenty-chars-long.", big}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Merge at the limit (-want +got):\n%s", diff)
	}
	// Strings already in the set still count as in it.
	if got := got.Merge(NewStringSet(big, "z")); len(got) != 2 {
		t.Errorf("a full set took %v", got)
	}
}

func leaves(v BoundedTrieValue) []string {
	var out []string
	for _, l := range v.Leaves() {
		s := strings.Join(l.Segments, ".")
		if l.Truncated {
			s += ".*"
		}
		out = append(out, s)
	}
	return out
}

// The trie keeps at most Bound leaves, cutting back the largest subtree
// to a truncated leaf; a sequence that is a prefix of another is absorbed.
func TestBoundedTrieTrimsToItsBound(t *testing.T) {
	v := NewBoundedTrie(3, []string{"a", "b"}, []string{"a", "c"}, []string{"a", "d"}, []string{"e"})
	if diff := cmp.Diff([]string{"a.*", "e"}, leaves(v)); diff != "" {
		t.Errorf("leaves (-want +got):\n%s", diff)
	}
	if v.Size() != 2 || !v.Contains([]string{"a", "zz", "y"}) || !v.Contains([]string{"e"}) || v.Contains([]string{"f"}) {
		t.Errorf("trie %v: size %d, Contains wrong", leaves(v), v.Size())
	}
	p := NewBoundedTrie(10, []string{"a"}, []string{"a", "b"})
	if diff := cmp.Diff([]string{"a.b"}, leaves(p)); diff != "" {
		t.Errorf("prefix absorbed (-want +got):\n%s", diff)
	}
	if !p.Contains([]string{"a"}) {
		t.Error("a trie holding a.b does not contain its prefix a")
	}
	// Every leaf at the top: the root itself is cut back.
	r := NewBoundedTrie(2, []string{"x"}, []string{"y"}, []string{"z"})
	if diff := cmp.Diff([]string{".*"}, leaves(r)); diff != "" {
		t.Errorf("root truncated (-want +got):\n%s", diff)
	}
	if NewBoundedTrie(0).Bound != DefaultTrieBound || NewBoundedTrie(0).Size() != 0 {
		t.Error("an empty trie without a bound is not empty with the default bound")
	}
}

func TestBoundedTrieMerge(t *testing.T) {
	a := NewBoundedTrie(100, []string{"a", "b"}, []string{"c"})
	b := NewBoundedTrie(4, []string{"a", "x"}, []string{"c", "d"}, []string{"e"})
	got := a.Merge(b)
	if got.Bound != 4 {
		t.Errorf("bound %d, want the smaller, 4", got.Bound)
	}
	// a.b, a.x, c.d, e: four leaves, within the bound.
	if diff := cmp.Diff([]string{"a.b", "a.x", "c.d", "e"}, leaves(got)); diff != "" {
		t.Errorf("merged leaves (-want +got):\n%s", diff)
	}
	// One more leaf trims a's subtree, the first of the largest.
	got = got.Merge(NewBoundedTrie(100, []string{"f"}))
	if diff := cmp.Diff([]string{"a.*", "c.d", "e", "f"}, leaves(got)); diff != "" {
		t.Errorf("merged past the bound (-want +got):\n%s", diff)
	}
	// A truncated node absorbs what merges into it.
	got = got.Merge(NewBoundedTrie(100, []string{"a", "q", "r"}))
	if diff := cmp.Diff([]string{"a.*", "c.d", "e", "f"}, leaves(got)); diff != "" {
		t.Errorf("merged under a truncated leaf (-want +got):\n%s", diff)
	}
	// The inputs are unchanged.
	if diff := cmp.Diff([]string{"a.b", "c"}, leaves(a)); diff != "" {
		t.Errorf("Merge changed its input (-want +got):\n%s", diff)
	}
	if got := (BoundedTrieValue{}).Merge(BoundedTrieValue{}); got.Root != nil || got.Bound != DefaultTrieBound {
		t.Errorf("empty merge = %+v", got)
	}
}

// Merged snapshots unite string sets and tries, and share no node with
// what they merged: changing the source afterwards changes nothing.
func TestSnapshotMergeUnitesSets(t *testing.T) {
	k := Key{Transform: "t", Namespace: "ns", Name: "n"}
	src := Snapshot{
		StringSets:   map[Key]StringSetValue{k: NewStringSet("a")},
		BoundedTries: map[Key]BoundedTrieValue{k: NewBoundedTrie(10, []string{"x", "y"})},
	}
	var got Snapshot
	got.Merge(src)
	got.Merge(Snapshot{
		StringSets:   map[Key]StringSetValue{k: NewStringSet("b")},
		BoundedTries: map[Key]BoundedTrieValue{k: NewBoundedTrie(10, []string{"x", "z"})},
	})
	src.BoundedTries[k].Root.Children["x"].Children["w"] = &TrieNode{}
	if diff := cmp.Diff(StringSetValue{"a", "b"}, got.StringSets[k]); diff != "" {
		t.Errorf("string set (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"x.y", "x.z"}, leaves(got.BoundedTries[k])); diff != "" {
		t.Errorf("trie (-want +got):\n%s", diff)
	}
	// Snapshots without sets leave the maps nil.
	var plain Snapshot
	plain.Merge(Snapshot{Counters: map[Key]int64{k: 1}})
	if plain.StringSets != nil || plain.BoundedTries != nil {
		t.Errorf("merging no sets made maps: %+v", plain)
	}
}
