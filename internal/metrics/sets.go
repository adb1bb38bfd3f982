package metrics

import (
	"cmp"
	"maps"
	"slices"
)

// StringSetValue is a snapshot of a string set metric (Beam's
// beam:metric:user:set_string:v1): the distinct strings reported, sorted.
// Snapshots of one metric unite, up to StringSetLimit. A value is not
// changed once made: Merge returns a new one.
type StringSetValue []string

// StringSetLimit bounds the total length of a string set's strings, as
// Beam's SDKs bound it: a union that reaches it keeps the first set whole
// and the other's new strings, in order, up to the first that crosses it.
const StringSetLimit = 1_000_000

// NewStringSet returns the string set of strs: sorted, without repeats.
func NewStringSet(strs ...string) StringSetValue {
	out := slices.Clone(strs)
	slices.Sort(out)
	return slices.Compact(out)
}

// Merge returns the union of two string sets (each sorted and distinct),
// bounded by StringSetLimit.
func (a StringSetValue) Merge(b StringSetValue) StringSetValue {
	size := 0
	for _, s := range a {
		size += len(s)
	}
	out := make(StringSetValue, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var c int
		switch {
		case j == len(b):
			c = -1
		case i == len(a):
			c = 1
		default:
			c = cmp.Compare(a[i], b[j])
		}
		switch {
		case c < 0:
			out = append(out, a[i])
			i++
		case c == 0:
			out = append(out, a[i])
			i++
			j++
		case size > StringSetLimit:
			j++ // full: b's new strings are dropped
		default:
			out = append(out, b[j])
			size += len(b[j])
			j++
		}
	}
	return out
}

// Contains reports whether s holds str.
func (s StringSetValue) Contains(str string) bool {
	_, ok := slices.BinarySearch(s, str)
	return ok
}

// DefaultTrieBound is the bound of a bounded trie whose reporter gave
// none: Beam's default.
const DefaultTrieBound = 100

// BoundedTrieValue is a snapshot of a bounded trie metric (Beam's
// beam:metric:user:bounded_trie:v1): sequences of strings kept as a trie
// of at most Bound leaves. When merging would exceed the bound, the
// deepest, largest subtree is cut back to a truncated leaf, which stands
// for every sequence with its prefix. A sequence that is a prefix of
// another is absorbed by it. A value is not changed once made: Merge
// returns a new one.
type BoundedTrieValue struct {
	// Bound is the most leaves the trie keeps.
	Bound int
	// Root is the trie, nil if nothing was reported.
	Root *TrieNode
}

// TrieNode is a node of a bounded trie: a leaf (no children), a truncated
// leaf, or an inner node.
type TrieNode struct {
	// Truncated marks a leaf cut back from a larger subtree.
	Truncated bool
	// Children are the subtrees by their first segment.
	Children map[string]*TrieNode
}

// TrieLeaf is one leaf of a bounded trie: the segments that lead to it,
// and whether it was truncated (it stands for all sequences that start
// with the segments).
type TrieLeaf struct {
	Segments  []string
	Truncated bool
}

// NewBoundedTrie returns the trie of bound (DefaultTrieBound if not
// positive) holding the sequences seqs, trimmed to the bound.
func NewBoundedTrie(bound int, seqs ...[]string) BoundedTrieValue {
	v := BoundedTrieValue{Bound: bound}
	if v.Bound <= 0 {
		v.Bound = DefaultTrieBound
	}
	if len(seqs) == 0 {
		return v
	}
	v.Root = &TrieNode{}
	for _, s := range seqs {
		v.Root.add(s)
	}
	v.Root.trimTo(v.Bound)
	return v
}

// Merge returns the union of two tries, bounded by the smaller bound.
func (a BoundedTrieValue) Merge(b BoundedTrieValue) BoundedTrieValue {
	bound := a.Bound
	if bound <= 0 || (b.Bound > 0 && b.Bound < bound) {
		bound = b.Bound
	}
	if bound <= 0 {
		bound = DefaultTrieBound
	}
	out := BoundedTrieValue{Bound: bound}
	switch {
	case a.Root == nil && b.Root == nil:
		return out
	case a.Root == nil:
		out.Root = b.Root.clone()
	default:
		out.Root = a.Root.clone()
		if b.Root != nil {
			out.Root.merge(b.Root.clone())
		}
	}
	out.Root.trimTo(bound)
	return out
}

// Size returns the number of leaves.
func (a BoundedTrieValue) Size() int {
	if a.Root == nil {
		return 0
	}
	return a.Root.size()
}

// Contains reports whether the trie holds seq: as a leaf, as a prefix of
// a leaf, or under a truncated leaf.
func (a BoundedTrieValue) Contains(seq []string) bool {
	n := a.Root
	if n == nil {
		return false
	}
	for _, s := range seq {
		if n.Truncated {
			return true
		}
		if n = n.Children[s]; n == nil {
			return false
		}
	}
	return true
}

// Leaves returns the trie's leaves, their segments in order.
func (a BoundedTrieValue) Leaves() []TrieLeaf {
	if a.Root == nil {
		return nil
	}
	var out []TrieLeaf
	var walk func(n *TrieNode, path []string)
	walk = func(n *TrieNode, path []string) {
		if n.Truncated || len(n.Children) == 0 {
			out = append(out, TrieLeaf{Segments: slices.Clone(path), Truncated: n.Truncated})
			return
		}
		for _, k := range slices.Sorted(maps.Keys(n.Children)) {
			walk(n.Children[k], append(path, k))
		}
	}
	walk(a.Root, nil)
	return out
}

// size counts the leaves under n.
func (n *TrieNode) size() int {
	if n.Truncated || len(n.Children) == 0 {
		return 1
	}
	s := 0
	for _, c := range n.Children {
		s += c.size()
	}
	return s
}

func (n *TrieNode) clone() *TrieNode {
	c := &TrieNode{Truncated: n.Truncated}
	if len(n.Children) > 0 {
		c.Children = make(map[string]*TrieNode, len(n.Children))
		for k, ch := range n.Children {
			c.Children[k] = ch.clone()
		}
	}
	return c
}

// add adds a sequence below n.
func (n *TrieNode) add(seq []string) {
	for _, s := range seq {
		if n.Truncated {
			return
		}
		c := n.Children[s]
		if c == nil {
			if n.Children == nil {
				n.Children = map[string]*TrieNode{}
			}
			c = &TrieNode{}
			n.Children[s] = c
		}
		n = c
	}
}

// merge adds the subtrees of o, which it may take over, below n.
func (n *TrieNode) merge(o *TrieNode) {
	switch {
	case n.Truncated:
	case o.Truncated:
		n.Truncated, n.Children = true, nil
	case len(n.Children) == 0:
		n.Children = o.Children
	default:
		for k, oc := range o.Children {
			if c := n.Children[k]; c != nil {
				c.merge(oc)
			} else {
				n.Children[k] = oc
			}
		}
	}
}

// trimTo cuts the trie back until it has at most bound leaves: each step
// follows the largest child (the first in order among equals) down to a
// node whose children are all leaves, and makes it a truncated leaf.
func (n *TrieNode) trimTo(bound int) {
	for n.size() > bound && n.trim() {
	}
}

// trim makes one node a truncated leaf, reporting whether it could.
func (n *TrieNode) trim() bool {
	if n.Truncated || len(n.Children) == 0 {
		return false
	}
	var big *TrieNode
	bigSize := 0
	for _, k := range slices.Sorted(maps.Keys(n.Children)) {
		if s := n.Children[k].size(); s > bigSize {
			big, bigSize = n.Children[k], s
		}
	}
	if bigSize == 1 {
		n.Truncated, n.Children = true, nil
		return true
	}
	return big.trim()
}
