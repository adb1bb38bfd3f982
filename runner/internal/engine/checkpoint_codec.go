package engine

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/beamgo-dev/beamgo/internal/metrics"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/reduce"
	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
	"github.com/beamgo-dev/beamgo/runner/internal/state"
)

// The snapshot body, in snapbuf fields: the sequence number and the wall
// time of writing; per stage its id, the stage's names and digest (checked
// before anything is restored); the job's counts, metrics, clock and
// TestStream position; then per stage its watermarks, pending elements,
// queued bundles, reducer and keyed stage's blocked elements; then the
// side-input datasets. The keyed stages' state follows the body in the
// file (checkpoint_file.go); in version 1 files it was the last field of
// each keyed stage.

// snapBody is a snapshot's body as the pause leaves it. By default it is
// written whole in the pause (eager). With Checkpointing.Background it
// holds the fields that are cheap to encode, encoded, and holes where the
// costly ones go (the reducers' frozen windows, the GroupByKeys' batches
// not yet added), filled by encode after the job resumed: the reducers'
// part was nine tenths of the pause in profiles of the streaming
// benchmark, but the frozen copies cost more CPU and memory than the
// pause saved (see Checkpointing.Background).
type snapBody struct {
	// eager is a body written whole in the pause, streamed through w
	// into the file: it has no holes and holds nothing.
	eager bool
	w     snapbuf.Writer
	holes []snapHole
	// outs are the batches' outputs the holes read: each holds a
	// reference (refs) so that it is not recycled before encode is done;
	// release drops them once the snapshot is written.
	outs []*reduceOutput
}

// snapHole is a part of the body encoded later: fill writes it at
// offset at of the eagerly encoded bytes.
type snapHole struct {
	at   int
	fill func(w *snapbuf.Writer)
}

// later makes fill write the body's next part when encode runs.
func (b *snapBody) later(fill func(w *snapbuf.Writer)) {
	b.holes = append(b.holes, snapHole{at: len(b.w.Buf), fill: fill})
}

// encode appends the whole body to dst[:0] and returns it. It runs
// without j.mu, while the job goes on.
func (b *snapBody) encode(dst []byte) []byte {
	out := snapbuf.Writer{Buf: dst[:0]}
	b.encodeTo(&out)
	return out.Buf
}

// encodeTo writes the whole body to out, filling the holes. With out.To
// set the body streams through out.Buf instead of growing it to the
// body's size: a snapshot of the streaming benchmark held a 20 MB buffer
// besides the frozen copies, enough to push the live heap past the
// runner's soft memory limit and make the collector run back to back.
// It returns out.To's first error.
func (b *snapBody) encodeTo(out *snapbuf.Writer) error {
	prev := 0
	for _, h := range b.holes {
		out.Buf = append(out.Buf, b.w.Buf[prev:h.at]...)
		out.Spill()
		h.fill(out)
		prev = h.at
	}
	out.Buf = append(out.Buf, b.w.Buf[prev:]...)
	return out.Flush()
}

// release gives back the outputs the body held; j.mu is held.
func (b *snapBody) release() {
	for _, o := range b.outs {
		if o.refs--; o.refs == 0 {
			reduceOutputs.put(o)
		}
	}
	b.outs = nil
}

// encodeSnapshot returns the body of snapshot seq, its costly parts
// frozen for snapBody.encode, its eager part appended to buf[:0] (the
// previous snapshot's, reused); j.mu is held and nothing is in flight.
func (j *job) encodeSnapshot(seq uint64, buf []byte) *snapBody {
	return j.encodeBody(&snapBody{w: snapbuf.Writer{Buf: buf[:0]}}, seq)
}

// encodeSnapshotTo writes the whole body of snapshot seq to to, through
// buf, at once: no holes, nothing frozen, nothing referenced.
func (j *job) encodeSnapshotTo(seq uint64, buf []byte, to io.Writer) *snapBody {
	return j.encodeBody(&snapBody{eager: true, w: snapbuf.Writer{Buf: buf[:0], To: to}}, seq)
}

func (j *job) encodeBody(b *snapBody, seq uint64) *snapBody {
	w := &b.w
	w.Uint(seq)
	w.Int(time.Now().UnixMilli())
	w.Uint(uint64(len(j.stages)))
	for _, s := range j.stages {
		w.String(string(s.st.ID))
		w.String(s.names())
		w.Bytes(s.digest())
	}
	w.Uint(uint64(j.bundles))
	w.Uint(uint64(j.retries))
	w.Uint(uint64(j.splits))
	w.Uint(uint64(j.truncated))
	w.Int(j.elements.Load())
	w.Bool(j.draining)
	encodeMetrics(w, j.metrics)
	w.Int(int64(j.clock.advanced))
	next := -1
	if j.stream != nil {
		next = j.stream.next
	}
	w.Int(int64(next))
	for _, s := range j.stages {
		s.encode(b)
	}
	pcs := slices.Sorted(maps.Keys(j.datasets))
	w.Uint(uint64(len(pcs)))
	for _, pc := range pcs {
		d := j.datasets[pc]
		w.String(pc)
		d.mu.Lock()
		encodeElems(w, d.snapshotElems())
		d.mu.Unlock()
	}
	encodeSetMetrics(w, j.metrics)
	return b
}

func encodeElems(w *snapbuf.Writer, elems [][]byte) {
	w.Uint(uint64(len(elems)))
	for _, e := range elems {
		w.Bytes(e)
		w.Spill()
	}
}

func decodeElems(r *snapbuf.Reader) [][]byte {
	n := r.Count(1)
	if r.Err() != nil {
		return nil
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Clone(r.Bytes())
	}
	return out
}

func writeMetricKey(w *snapbuf.Writer, k metrics.Key) {
	w.String(k.Transform)
	w.String(k.Namespace)
	w.String(k.Name)
}

func readMetricKey(r *snapbuf.Reader) metrics.Key {
	return metrics.Key{Transform: r.String(), Namespace: r.String(), Name: r.String()}
}

func encodeMetrics(w *snapbuf.Writer, m metrics.Snapshot) {
	key := func(k metrics.Key) { writeMetricKey(w, k) }
	w.Uint(uint64(len(m.Counters)))
	for _, k := range metrics.SortedKeys(m.Counters) {
		key(k)
		w.Int(m.Counters[k])
	}
	w.Uint(uint64(len(m.Distributions)))
	for _, k := range metrics.SortedKeys(m.Distributions) {
		d := m.Distributions[k]
		key(k)
		w.Int(d.Count)
		w.Int(d.Sum)
		w.Int(d.Min)
		w.Int(d.Max)
	}
	w.Uint(uint64(len(m.Gauges)))
	for _, k := range metrics.SortedKeys(m.Gauges) {
		g := m.Gauges[k]
		key(k)
		w.Int(g.Value)
		w.Int(g.Timestamp)
	}
}

func decodeMetrics(r *snapbuf.Reader) metrics.Snapshot {
	key := func() metrics.Key { return readMetricKey(r) }
	m := metrics.Snapshot{Counters: map[metrics.Key]int64{}, Distributions: map[metrics.Key]metrics.DistributionValue{}, Gauges: map[metrics.Key]metrics.GaugeValue{}}
	for range r.Count(4) {
		k := key()
		m.Counters[k] = r.Int()
	}
	for range r.Count(7) {
		k := key()
		m.Distributions[k] = metrics.DistributionValue{Count: r.Int(), Sum: r.Int(), Min: r.Int(), Max: r.Int()}
	}
	for range r.Count(5) {
		k := key()
		m.Gauges[k] = metrics.GaugeValue{Value: r.Int(), Timestamp: r.Int()}
	}
	return m
}

// encodeSetMetrics writes the string sets and bounded tries of m: the
// body's last field, added after the version 2 format was first written,
// and absent from older bodies, which decode with none.
func encodeSetMetrics(w *snapbuf.Writer, m metrics.Snapshot) {
	key := func(k metrics.Key) { writeMetricKey(w, k) }
	w.Uint(uint64(len(m.StringSets)))
	for _, k := range metrics.SortedKeys(m.StringSets) {
		key(k)
		v := m.StringSets[k]
		w.Uint(uint64(len(v)))
		for _, str := range v {
			w.String(str)
		}
	}
	w.Uint(uint64(len(m.BoundedTries)))
	for _, k := range metrics.SortedKeys(m.BoundedTries) {
		key(k)
		v := m.BoundedTries[k]
		w.Uint(uint64(v.Bound))
		w.Bool(v.Root != nil)
		if v.Root != nil {
			encodeTrieNode(w, v.Root)
		}
	}
}

func encodeTrieNode(w *snapbuf.Writer, n *metrics.TrieNode) {
	w.Bool(n.Truncated)
	w.Uint(uint64(len(n.Children)))
	for _, seg := range slices.Sorted(maps.Keys(n.Children)) {
		w.String(seg)
		encodeTrieNode(w, n.Children[seg])
	}
}

// decodeSetMetrics reads what encodeSetMetrics wrote into m.
func decodeSetMetrics(r *snapbuf.Reader, m *metrics.Snapshot) {
	key := func() metrics.Key { return readMetricKey(r) }
	if n := r.Count(4); n > 0 {
		m.StringSets = make(map[metrics.Key]metrics.StringSetValue, n)
		for range n {
			k := key()
			strs := make([]string, r.Count(1))
			for i := range strs {
				strs[i] = r.String()
			}
			m.StringSets[k] = metrics.NewStringSet(strs...)
		}
	}
	if n := r.Count(5); n > 0 {
		m.BoundedTries = make(map[metrics.Key]metrics.BoundedTrieValue, n)
		for range n {
			k := key()
			bound := r.Uint()
			if bound > math.MaxInt32 {
				r.Fail("bounded trie %v: bound %d", k, bound)
				return
			}
			v := metrics.BoundedTrieValue{Bound: int(bound)}
			if r.Bool() {
				v.Root = decodeTrieNode(r, 0)
			}
			m.BoundedTries[k] = v
		}
	}
}

// maxTrieDepth bounds the nesting of a snapshot's bounded trie, so that a
// damaged file cannot recurse without end.
const maxTrieDepth = 10_000

func decodeTrieNode(r *snapbuf.Reader, depth int) *metrics.TrieNode {
	if depth > maxTrieDepth {
		r.Fail("bounded trie nested deeper than %d", maxTrieDepth)
		return nil
	}
	n := &metrics.TrieNode{Truncated: r.Bool()}
	if c := r.Count(2); c > 0 && r.Err() == nil {
		n.Children = make(map[string]*metrics.TrieNode, c)
		for range c {
			seg := r.String()
			child := decodeTrieNode(r, depth+1)
			if r.Err() != nil {
				return n
			}
			n.Children[seg] = child
		}
	}
	return n
}

// encode writes the stage's execution state.
func (s *stage) encode(b *snapBody) {
	w := &b.w
	w.Time(s.iw)
	w.Time(s.ow)
	w.Time(s.hold)
	w.Bool(s.started)
	var pending [][]byte
	for _, pb := range s.pending {
		pending = append(pending, pb.elems...)
	}
	if s.gate != nil {
		// Elements pushed back for their side inputs are pending input
		// too: restored as pending, they are screened again.
		for _, wl := range s.gate.waiting {
			pending = append(pending, wl.elems...)
		}
	}
	encodeElems(w, pending)
	w.Uint(uint64(len(s.queue)))
	for _, q := range s.queue {
		// Stream bundles (a batch shuffle's groups) are never queued at a
		// checkpoint: see busyShuffle.
		w.Time(q.minTs)
		w.Int(q.bytes)
		w.Bool(q.checkpoint)
		var at int64
		if !q.notBefore.IsZero() {
			at = q.notBefore.UnixMilli()
		}
		w.Int(at)
		encodeElems(w, q.elems)
	}
	w.Bool(s.red != nil)
	if s.red != nil {
		s.red.encode(b)
	}
	w.Bool(s.ks != nil)
	if s.ks != nil {
		s.ks.encode(b)
	}
}

func (red *reducing) encode(b *snapBody) {
	w := &b.w
	for _, t := range []window.Time{red.lastIW, red.lastPT, red.hold, red.nextPT, red.gbkOW} {
		w.Time(t)
	}
	w.Bool(red.hasPT)
	w.Int(int64(red.pending))
	w.Int(red.late)
	w.Int(red.closed)
	w.Uint(uint64(len(red.batches)))
	for _, rb := range red.batches {
		w.Time(rb.minTs)
		w.Int(rb.bytes)
		if o := rb.out; o != nil {
			// The output is not written to once delivered, and the
			// reference keeps it from being recycled.
			n := rb.n
			if b.eager {
				encodeOutput(w, o, n)
				continue
			}
			o.refs++
			b.outs = append(b.outs, o)
			b.later(func(w *snapbuf.Writer) { encodeOutput(w, o, n) })
			continue
		}
		encodeReduceElems(w, rb.elems)
	}
	w.Uint(uint64(len(red.parts)))
	for _, p := range red.parts {
		if b.eager {
			p.r.Snapshot(w)
			continue
		}
		p.r.Freeze(&p.frozen)
		b.later(func(w *snapbuf.Writer) {
			p.frozen.Snapshot(w)
			p.frozen.Release()
		})
	}
}

// encodeOutput writes the first n elements of o as encodeReduceElems
// does, from o's records.
func encodeOutput(w *snapbuf.Writer, o *reduceOutput, n int) {
	w.Uint(uint64(n))
	for i := range n {
		r := o.rec(i)
		kv := o.data.at(r.kv, r.at, r.key+r.val)
		w.Bytes(kv[:r.key])
		w.Bytes(kv[r.key:])
		w.Time(r.ts)
		w.Uint(uint64(r.nwin))
		for _, win := range o.wins.at(r.win, r.woff, r.nwin) {
			w.Window(win)
		}
		w.Spill()
	}
}

// encodeReduceElems writes a GroupByKey's input elements.
func encodeReduceElems(w *snapbuf.Writer, elems []reduce.Element) {
	w.Uint(uint64(len(elems)))
	for _, e := range elems {
		w.Bytes(e.Key)
		w.Bytes(e.Value)
		w.Time(e.Timestamp)
		w.Uint(uint64(len(e.Windows)))
		for _, win := range e.Windows {
			w.Window(win)
		}
		w.Spill()
	}
}

func (k *keyed) encode(b *snapBody) {
	w := &b.w
	w.Int(k.dropped)
	w.Uint(uint64(len(k.blocked)))
	for _, b := range k.blocked {
		w.String(b.key)
		w.Bytes(b.elem)
	}
}

// keyedStores returns the keyed stages' stores in stage order, the order
// of their state in a snapshot file.
func (j *job) keyedStores() []*state.Store {
	var out []*state.Store
	for _, s := range j.stages {
		if s.ks != nil {
			out = append(out, s.ks.store)
		}
	}
	return out
}

// decodeSnapshot checks that the snapshot body belongs to this pipeline
// and restores it into the new job, the keyed stages' state from st (nil:
// a version 1 body, which holds it); j.mu need not be held (the job has
// not started).
func (j *job) decodeSnapshot(body []byte, st io.Reader) error {
	r := snapbuf.NewReader(body, "snapshot")
	j.ckpt.seq = r.Uint()
	r.Int() // written at
	n := r.Count(3)
	if r.Err() == nil && n != len(j.stages) {
		return fmt.Errorf("it has %d stages, the pipeline %d: %w", n, len(j.stages), ErrPipelineChanged)
	}
	for _, s := range j.stages {
		id, names, digest := r.String(), r.String(), r.Bytes()
		if r.Err() != nil {
			return r.Err()
		}
		if id != string(s.st.ID) || !bytes.Equal(digest, s.digest()) {
			return fmt.Errorf("%s (transforms %s) differs from what the snapshot recorded at its place (transforms %s, stage %s): their transforms or coders changed; start fresh to run the new pipeline: %w", s.label(), s.names(), names, id, ErrPipelineChanged)
		}
	}
	j.bundles, j.retries, j.splits, j.truncated = int(r.Uint()), int(r.Uint()), int(r.Uint()), int(r.Uint())
	j.elements.Store(r.Int())
	j.draining = r.Bool()
	j.metrics = decodeMetrics(r)
	j.clock.advanced = time.Duration(r.Int())
	next := int(r.Int())
	if r.Err() == nil && (next >= 0) != (j.stream != nil) {
		r.Fail("TestStream position %d for a pipeline with%s a TestStream", next, map[bool]string{true: "", false: "out"}[j.stream != nil])
	}
	if j.stream != nil {
		j.stream.next = next
	}
	for _, s := range j.stages {
		if err := s.decode(r, st); err != nil {
			return fmt.Errorf("%s: %w", s.label(), err)
		}
	}
	for range r.Count(2) {
		pc := r.String()
		elems := decodeElems(r)
		d := j.datasets[pc]
		if d == nil {
			r.Fail("side input data of unknown PCollection %s", pc)
			break
		}
		if err := d.restore(elems); err != nil {
			return err
		}
	}
	if r.Len() > 0 {
		decodeSetMetrics(r, &j.metrics)
	}
	return r.Done()
}

// decode restores the stage's execution state, replacing what setupInput
// queued.
func (s *stage) decode(r *snapbuf.Reader, st io.Reader) error {
	j := s.j
	s.iw, s.ow, s.hold = r.Time(), r.Time(), r.Time()
	s.started = r.Bool()
	s.pending, s.pendingElems = nil, 0
	if p := decodeElems(r); len(p) > 0 {
		s.addPending(newBatch(p))
		j.buffered += s.pending[0].bytes
	}
	s.queue = nil
	for range r.Count(4) {
		// bytes is what the bundle counts in j.buffered until it commits.
		b := &bundleWork{minTs: r.Time(), bytes: r.Int(), checkpoint: r.Bool()}
		if at := r.Int(); at != 0 {
			b.notBefore = time.UnixMilli(at)
		}
		b.elems = decodeElems(r)
		j.buffered += b.bytes
		s.queue = append(s.queue, b)
	}
	if r.Bool() != (s.red != nil) {
		r.Fail("reducer present in the snapshot but not in the stage, or the reverse")
	}
	if s.red != nil && r.Err() == nil {
		if err := s.red.decode(r, j.ckpt.v1); err != nil {
			return err
		}
		j.buffered += s.red.bytes()
		s.armWake()
	}
	if r.Bool() != (s.ks != nil) {
		r.Fail("keyed state present in the snapshot but not in the stage, or the reverse")
	}
	if s.ks != nil && r.Err() == nil {
		s.ks.decode(r, st)
	}
	return r.Err()
}

// newBatch makes a pending batch of restored elements.
func newBatch(elems [][]byte) *batch {
	b := &batch{elems: elems, minTs: elemsMin(elems)}
	for _, e := range elems {
		b.bytes += int64(len(e))
	}
	return b
}

// decode restores the GroupByKey's state; v1 says the snapshot is of
// version 1, from before the keys were sharded over parts.
func (red *reducing) decode(r *snapbuf.Reader, v1 bool) error {
	red.lastIW, red.lastPT, red.hold, red.nextPT, red.gbkOW = r.Time(), r.Time(), r.Time(), r.Time(), r.Time()
	red.hasPT = r.Bool()
	red.pending = int(r.Int())
	red.late, red.closed = r.Int(), r.Int()
	red.batches = nil
	for range r.Count(4) {
		b := &reduceBatch{minTs: r.Time(), bytes: r.Int()}
		b.elems = make([]reduce.Element, r.Count(4))
		b.n = len(b.elems)
		for i := range b.elems {
			e := &b.elems[i]
			e.Key, e.Value, e.Timestamp = bytes.Clone(r.Bytes()), bytes.Clone(r.Bytes()), r.Time()
			e.Windows = make([]window.Window, r.Count(1))
			for k := range e.Windows {
				e.Windows[k] = r.Window()
			}
		}
		red.batches = append(red.batches, b)
	}
	if r.Err() != nil {
		return r.Err()
	}
	parts := 1 // a version 1 snapshot holds one reducer
	if !v1 {
		parts = r.Count(1)
	}
	if r.Err() != nil {
		return r.Err()
	}
	if parts != len(red.parts) {
		// Keys are found in the part of their hash modulo the count.
		if err := red.setParts(max(parts, 1)); err != nil {
			return err
		}
	}
	for _, p := range red.parts[:parts] {
		if err := p.r.Restore(r); err != nil {
			return err
		}
	}
	return nil
}

// bytes is what the reducer's unadded batches count in j.buffered.
func (red *reducing) bytes() int64 {
	var n int64
	for _, b := range red.batches {
		n += b.bytes
	}
	return n
}

// decode restores the keyed stage's blocked elements from r and its
// state from st (nil: from r, a version 1 body).
func (k *keyed) decode(r *snapbuf.Reader, st io.Reader) {
	k.dropped = r.Int()
	k.blocked = nil
	for range r.Count(2) {
		e := blockedElem{key: r.String(), elem: bytes.Clone(r.Bytes())}
		k.blocked = append(k.blocked, e)
		// Blocked elements count in j.buffered until their bundle commits.
		k.s.j.buffered += int64(len(e.elem))
	}
	if st == nil {
		st = bytes.NewReader(r.Bytes())
	}
	if r.Err() != nil {
		return
	}
	if err := k.store.Import(st); err != nil {
		r.Fail("keyed state of %s: %v", k.s.st.Input.Target, err)
	}
}
