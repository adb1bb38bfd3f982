package state

// skiplist is an ordered map from string keys to values: the memory
// backend's table and a bundle's overlay. It is the standard skiplist (p =
// 1/4) with a fixed-seed xorshift for levels, so runs are reproducible.
//
// A skiplist is not safe for concurrent use.
type skiplist[V any] struct {
	head  node[V]
	level int
	n     int
	rnd   uint64
}

const maxLevel = 16

type node[V any] struct {
	key  string
	val  V
	next []*node[V]
}

func newSkiplist[V any]() *skiplist[V] {
	s := &skiplist[V]{level: 1, rnd: 0x9E3779B97F4A7C15}
	s.head.next = make([]*node[V], maxLevel)
	return s
}

func (s *skiplist[V]) randomLevel() int {
	s.rnd ^= s.rnd << 13
	s.rnd ^= s.rnd >> 7
	s.rnd ^= s.rnd << 17
	l, r := 1, s.rnd
	for l < maxLevel && r&3 == 0 {
		l++
		r >>= 2
	}
	return l
}

// findGE returns the first node with key >= key, filling prev (if not nil)
// with the last node before it on every level.
func (s *skiplist[V]) findGE(key string, prev *[maxLevel]*node[V]) *node[V] {
	x := &s.head
	for i := s.level - 1; i >= 0; i-- {
		for x.next[i] != nil && x.next[i].key < key {
			x = x.next[i]
		}
		if prev != nil {
			prev[i] = x
		}
	}
	return x.next[0]
}

// get returns the value under key.
func (s *skiplist[V]) get(key string) (V, bool) {
	if n := s.findGE(key, nil); n != nil && n.key == key {
		return n.val, true
	}
	var zero V
	return zero, false
}

// set stores v under key, replacing any value.
func (s *skiplist[V]) set(key string, v V) {
	var prev [maxLevel]*node[V]
	if n := s.findGE(key, &prev); n != nil && n.key == key {
		n.val = v
		return
	}
	s.insert(key, v, &prev)
}

// insert links a new node for key after prev, the predecessors on every
// level of the list's current height.
func (s *skiplist[V]) insert(key string, v V, prev *[maxLevel]*node[V]) {
	l := s.randomLevel()
	for i := s.level; i < l; i++ {
		prev[i] = &s.head
	}
	s.level = max(s.level, l)
	n := &node[V]{key: key, val: v, next: make([]*node[V], l)}
	for i := range l {
		n.next[i] = prev[i].next[i]
		prev[i].next[i] = n
	}
	s.n++
}

// delete removes key, reporting whether it was present.
func (s *skiplist[V]) delete(key string) bool {
	var prev [maxLevel]*node[V]
	n := s.findGE(key, &prev)
	if n == nil || n.key != key {
		return false
	}
	s.unlink(n, &prev)
	return true
}

func (s *skiplist[V]) unlink(n *node[V], prev *[maxLevel]*node[V]) {
	for i := range n.next {
		prev[i].next[i] = n.next[i]
	}
	for s.level > 1 && s.head.next[s.level-1] == nil {
		s.level--
	}
	s.n--
}

// deleteRange removes every key in [lo, hi).
func (s *skiplist[V]) deleteRange(lo, hi string) {
	var prev [maxLevel]*node[V]
	n := s.findGE(lo, &prev)
	for n != nil && n.key < hi {
		next := n.next[0]
		s.unlink(n, &prev)
		n = next
	}
}

// seek returns the first node with key >= key, for iteration via next[0].
func (s *skiplist[V]) seek(key string) *node[V] { return s.findGE(key, nil) }

// seekAfter returns the first node with key > key.
func (s *skiplist[V]) seekAfter(key string) *node[V] {
	x := &s.head
	for i := s.level - 1; i >= 0; i-- {
		for x.next[i] != nil && x.next[i].key <= key {
			x = x.next[i]
		}
	}
	return x.next[0]
}
